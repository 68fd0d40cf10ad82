"""Middleware of the site's own.

Every request pays for every middleware, cached page or not (docs/deployment.md, "Caching"):
the last two do what a Django or library middleware did here for less, because this site needs
less of it.
"""

from django.conf import settings
from django.utils import translation
from django.utils.cache import has_vary_header, patch_cache_control
from simple_history.middleware import HistoryRequestMiddleware


def private_when_personal(get_response):
    """A response that varies with the reader's cookies (the session or the CSRF token was
    used, so it may hold one reader's page) says `Cache-Control: private`: no shared cache, not
    even one that ignores `Vary`, keeps it for the next reader.

    Listed before the session middleware, so that it sees the `Vary` that one adds.
    """

    def middleware(request):
        response = get_response(request)
        if has_vary_header(response, "Cookie"):
            patch_cache_control(response, private=True)
        return response

    return middleware


def language_from_address(get_response):
    """Reads each request in the language its address names: English at the root, the others
    under their prefix (`/ru/…`; `i18n_patterns` without a prefix for the default language).

    Django's LocaleMiddleware decides the same for such addresses, but only after reading the
    language cookie and `Accept-Language`, which it then sets aside, and it adds `Vary:
    Accept-Language`, which would only split shared caches (no page here varies on it). Its one
    other duty, redirecting to a prefixed address, only applies when the default language has
    a prefix too.
    """

    def middleware(request):
        language = translation.get_language_from_path(request.path_info)
        translation.activate(language or settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
        response = get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response

    return middleware


def history_of_changes(get_response):
    """simple_history's HistoryRequestMiddleware (which records who changed a story in its
    revisions) around the requests that may change something; GET and HEAD requests change no
    story, and skip its cost."""
    recording = HistoryRequestMiddleware(get_response)

    def middleware(request):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return get_response(request)
        return recording(request)

    return middleware
