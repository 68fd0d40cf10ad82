"""The middleware stack holds only what the site needs (docs/deployment.md, "Caching")."""

import pytest
from django.contrib import messages
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.middleware.csp import get_nonce
from django.utils.csp import CSP, build_policy
from django.utils.functional import empty

from newsroom import page_cache
from newsroom.middleware import ContentSecurityPolicy, MessagesWhenUsed, SessionWhenUsed
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_reads(monkeypatch):
    """The page cache's reads of pages, by the middleware (not those of the site's version
    alone, which the object caches make)."""
    reads = []
    real = page_cache.pages

    class Counting:
        def __getattr__(self, name):
            return getattr(real(), name)

        def get_many(self, keys):
            if any(key.startswith("pages:") and len(key) > 40 for key in keys):
                reads.append(keys)
            return real().get_many(keys)

    monkeypatch.setattr(page_cache, "pages", Counting)
    return reads


def test_only_reader_pages_look_in_the_page_cache(client, cache_reads):
    ArticleFactory()
    for path in ("/", "/ru/", "/feed/", "/sitemap.xml", "/robots.txt"):
        assert client.get(path).status_code == 200, path
    looked_up = len(cache_reads)
    assert looked_up == 5

    for path in ("/membership/", "/donate/", "/accounts/login/", "/no-such-page/x/"):
        client.get(path)
    assert len(cache_reads) == looked_up


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("/", "en"),
        ("/ru/", "ru"),
        ("/ru", "ru"),
        ("/sitemap.xml", "en"),
        ("/ru/donate/", "ru"),
        ("/2026/12/a-story/", "en"),
        ("/russian/", "en"),
        ("/ru-ru/", "en"),
    ],
)
def test_the_language_comes_from_the_address_alone(client, path, language):
    ArticleFactory()
    client.cookies["django_language"] = "ru" if language == "en" else "en"

    response = client.get(path, headers={"accept-language": "ru" if language == "en" else "en"})

    assert response["Content-Language"] == language
    assert "Accept-Language" not in response.get("Vary", "")


def test_the_security_policy_is_django_s_written_once(client, rf, settings):
    ArticleFactory()
    expected = build_policy(settings.SECURE_CSP)
    assert client.get("/")["Content-Security-Policy"] == expected
    assert client.get("/accounts/login/")["Content-Security-Policy"] == expected

    # A view's own policy, a nonce, a changed setting: as Django's middleware does.
    def own_policy(request):
        response = HttpResponse("")
        response._csp_config = {"default-src": [CSP.NONE]}
        return response

    assert ContentSecurityPolicy(own_policy)(rf.get("/"))["Content-Security-Policy"] == (
        "default-src 'none'"
    )
    settings.SECURE_CSP = {"script-src": [CSP.SELF, CSP.NONCE]}
    # (A page that uses the nonce, as a template's `{{ csp_nonce }}` does.)
    middleware = ContentSecurityPolicy(lambda request: HttpResponse(str(get_nonce(request))))
    first, second = middleware(rf.get("/")), middleware(rf.get("/"))
    assert "'nonce-" in first["Content-Security-Policy"]
    assert first["Content-Security-Policy"] != second["Content-Security-Policy"]
    settings.SECURE_CSP = {"default-src": [CSP.SELF]}
    assert middleware(rf.get("/"))["Content-Security-Policy"] == "default-src 'self'"


def test_messages_are_stored_when_added_and_cost_nothing_otherwise(rf):
    def adds(request):
        messages.info(request, "Saved.")
        return HttpResponse("")

    def reads(request):
        return HttpResponse(" ".join(str(m) for m in messages.get_messages(request)))

    def neither(request):
        return HttpResponse("")

    def request(cookies=None):
        made = rf.get("/")
        made.COOKIES.update(cookies or {})
        made.session = SessionStore()
        return made

    added = MessagesWhenUsed(adds)(request())
    cookie = added.cookies["messages"].value
    assert cookie

    untouched = request({"messages": cookie})
    assert not MessagesWhenUsed(neither)(untouched).cookies
    assert untouched._messages._wrapped is empty

    shown = MessagesWhenUsed(reads)(request({"messages": cookie}))
    assert shown.content == b"Saved."
    assert shown.cookies["messages"].value == ""  # read, so cleared


def test_the_session_is_made_when_used_and_handled_as_django_does_otherwise(rf, settings):
    """SessionWhenUsed: no session store for a request that sends no session cookie and never
    touches the session; one that uses it is saved and its cookie set, and a cookie naming a
    session that is gone is dropped, as with Django's SessionMiddleware."""

    def writes(request):
        request.session["seen"] = True
        return HttpResponse("")

    def neither(request):
        return HttpResponse("")

    def request(cookies=None):
        made = rf.get("/")
        made.COOKIES.update(cookies or {})
        return made

    untouched = request()
    response = SessionWhenUsed(neither)(untouched)
    assert untouched.session._wrapped is empty
    assert not response.cookies and not response.has_header("Vary")

    written = SessionWhenUsed(writes)(request())
    key = written.cookies[settings.SESSION_COOKIE_NAME].value
    assert SessionStore(key)["seen"] is True
    assert written["Vary"] == "Cookie"

    # A cookie whose session is gone (here: not a session key at all) is deleted.
    gone = SessionWhenUsed(neither)(request({settings.SESSION_COOKIE_NAME: "gone"}))
    assert gone.cookies[settings.SESSION_COOKIE_NAME].value == ""
