"""Middleware of the site's own."""

from django.utils.cache import has_vary_header, patch_cache_control


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
