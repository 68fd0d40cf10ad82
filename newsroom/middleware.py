"""Middleware of the site's own.

Every request pays for every middleware, cached page or not (docs/deployment.md, "Caching"):
the others do what a Django or library middleware did here for less, because this site needs
less of it, or does it once instead of on every request.
"""

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csp import ContentSecurityPolicyMiddleware, get_nonce
from django.utils import translation
from django.utils.cache import has_vary_header, patch_cache_control
from django.utils.csp import CSP, build_policy
from django.utils.functional import SimpleLazyObject, empty
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

    The prefix is the address's first segment, exactly one of `LANGUAGES` (as `i18n_patterns`
    matches it); Django's `get_language_from_path` also takes variants
    (`/ru-RU/` for Russian), addresses that lead nowhere here, and costs a raised and caught
    exception for every address whose first segment names no language (`/2026/…`).
    """

    def middleware(request):
        prefix = request.path_info.split("/", 2)[1]
        named = any(prefix == code for code, _ in settings.LANGUAGES)
        translation.activate(prefix if named else settings.LANGUAGE_CODE)
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


class SessionWhenUsed(SessionMiddleware):
    """Django's SessionMiddleware, whose session store is made when a view, template or other
    middleware reads or writes the session, not for every request. A request that sends no
    session cookie and never touches the session needs nothing done with its response (Django's
    would do nothing either); one that sends the cookie is handled as Django does (which drops
    the cookie of a session that is gone)."""

    def process_request(self, request):
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        request.session = SimpleLazyObject(lambda: self.SessionStore(session_key))

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if (
            isinstance(session, SimpleLazyObject)
            and session._wrapped is empty
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
        ):
            return response
        return super().process_response(request, response)


class MessagesWhenUsed(MessageMiddleware):
    """Django's MessageMiddleware, whose storage (a cookie's and the session's, with a signer
    each) is made when a view or template reads or adds a message, not for every request: most
    requests do neither, and a storage nobody used stores nothing."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)


class ContentSecurityPolicy(ContentSecurityPolicyMiddleware):
    """Django's ContentSecurityPolicyMiddleware (the same headers, the same per-view overrides),
    which writes the policy out once per configuration instead of on every response when the
    policy has no nonce in it (the site's has none; a policy with one is written per response,
    as Django does). The settings are never changed in place."""

    def __init__(self, get_response):
        super().__init__(get_response)
        self._written = {}

    def _policy(self, config, nonce):
        written = self._written.get(id(config))
        if written is None or written[0] is not config:
            with_nonce = any(
                values == CSP.NONCE
                or (isinstance(values, list | tuple | set) and CSP.NONCE in values)
                for values in config.values()
            )
            if len(self._written) >= 100:
                self._written.clear()
            written = (config, None if with_nonce else build_policy(config))
            self._written[id(config)] = written
        return build_policy(config, nonce) if written[1] is None else written[1]

    def process_response(self, request, response):
        sentinel = object()
        if (config := getattr(response, "_csp_config", sentinel)) is sentinel:
            config = settings.SECURE_CSP
        if (report_only := getattr(response, "_csp_ro_config", sentinel)) is sentinel:
            report_only = settings.SECURE_CSP_REPORT_ONLY
        for header, config in ((CSP.HEADER_ENFORCE, config), (CSP.HEADER_REPORT_ONLY, report_only)):
            # As Django's: a header the view set stays; an empty configuration adds none.
            if config and header not in response:
                response.headers[str(header)] = self._policy(config, get_nonce(request))
        return response
