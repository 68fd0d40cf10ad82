"""The shipped nginx configuration in front of the app (docs/deployment.md#the-edge-nginx).

nginx runs deploy/nginx/newsroom.conf, rendered for local ports (tests/deploy/nginx.py), in
front of the live server; the app purges it through EDGE_PURGE_URLS. Requests that reach the app
are counted (Django's `request_started`), so "served by the edge" means the app never saw it.
"""

import gzip
import re
import socket
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.signals import request_started
from django.utils import timezone

from newsroom.models import Article
from tests.conftest import SignedInClient
from tests.deploy.http import Browser
from tests.deploy.nginx import CONFIG, Nginx
from tests.factories import ArticleFactory
from tests.html import form_data, visible_text

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "edge-purge-secret-" * 3
PURGE_HEADER = "X-Newsroom-Purge-Secret"
MEMBERS_ONLY_BODY = "What the minister's aide told us off the record."


@pytest.fixture(scope="module")
def nginx(live_server, tmp_path_factory):
    server = Nginx(
        tmp_path_factory.mktemp("nginx"),
        app=live_server.url.removeprefix("http://"),
        secret=SECRET,
        purge_also_on_ipv6=_ipv6_loopback(),
    )
    server.start()
    yield server
    server.stop()


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def edge(nginx, settings):
    """The app purges this nginx, which starts each test with nothing cached."""
    settings.EDGE_PURGE_URLS = [nginx.purge_url]
    settings.EDGE_PURGE_SECRET = SECRET
    assert purge(nginx, SECRET).status == 204
    return nginx


@pytest.fixture
def app_hits():
    """The paths of the requests that reached the app."""
    paths = []

    def record(sender, environ, **kwargs):
        paths.append(environ["PATH_INFO"])

    request_started.connect(record, dispatch_uid="test-nginx-edge-hits")
    yield paths
    request_started.disconnect(dispatch_uid="test-nginx-edge-hits")


def purge(nginx, secret=None, method="POST", url=None):
    headers = {PURGE_HEADER: secret} if secret is not None else {}
    client = Browser(url or nginx.purge_url.removesuffix("/purge"))
    return client.request(method, "/purge", headers=headers)


def reader(nginx):
    return Browser(nginx.url)


def signed_in(nginx, user):
    """A browser with the cookies a log-in leaves: the session and the signed-in marker."""
    client = SignedInClient()
    client.force_login(user)
    browser = Browser(nginx.url)
    browser.cookies = {name: morsel.value for name, morsel in client.cookies.items()}
    assert "newsroom_signed_in" in browser.cookies
    return browser


def cache_status(response):
    return response.get("X-Cache-Status")


@pytest.fixture
def story():
    return ArticleFactory(headline="The dam that was never built")


def test_an_anonymous_page_is_served_from_the_edge_the_second_time(nginx, story, app_hits):
    url = story.get_absolute_url()
    first = reader(nginx).get(url)
    assert first.status == 200
    assert cache_status(first) == "MISS"
    assert "public" in first["Cache-Control"] and "s-maxage=" in first["Cache-Control"]

    second = reader(nginx).get(url)
    tracked = reader(nginx).get(url + "?utm_source=newsletter&fbclid=abc")

    assert (cache_status(second), cache_status(tracked)) == ("HIT", "HIT")
    assert second.content == tracked.content == first.content
    assert "The dam that was never built" in visible_text(second)
    assert app_hits == [url]
    # The access log keeps no reader's address and no query string.
    log = nginx.access_log()
    assert "127.0.0.1" not in log and "utm_source" not in log
    assert f'"GET {url}" 200' in log


def test_browsers_get_the_page_gzipped_from_the_edge_and_other_clients_as_it_is(
    nginx, story, app_hits
):
    url = story.get_absolute_url()
    chrome = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    firefox = {"Accept-Encoding": "gzip, deflate, br"}
    first, second = reader(nginx).get(url, headers=chrome), reader(nginx).get(url, headers=firefox)
    plain, plain_again = reader(nginx).get(url), reader(nginx).get(url)

    statuses = [cache_status(r) for r in (first, second, plain, plain_again)]
    assert statuses == ["MISS", "HIT", "MISS", "HIT"]
    # One copy of each encoding, whatever else the browsers list; the app made the gzipped one.
    assert app_hits == [url, url]
    assert plain.status == 200 and "The dam that was never built" in visible_text(plain)
    for response in (first, second):
        assert response["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.content) == plain.content
    for response in (plain, plain_again):
        assert "Content-Encoding" not in response.headers
        assert response.content == plain.content
    assert {r["Vary"] for r in (first, second, plain, plain_again)} == {"Accept-Encoding"}


def test_pages_the_views_tell_apart_are_cached_apart(nginx, story, app_hits):
    for _ in range(2):
        assert reader(nginx).get("/search/?q=dam").status == 200
        assert reader(nginx).get("/search/?q=river").status == 200

    assert app_hits == ["/search/", "/search/"]


def test_a_signed_in_reader_always_reaches_the_app(nginx, member, app_hits):
    story = ArticleFactory(
        headline="Inside the ministry",
        visibility=Article.Visibility.MEMBERS,
        body=f"<p>{MEMBERS_ONLY_BODY}</p>",
    )
    url = story.get_absolute_url()
    anonymous = [reader(nginx).get(url) for _ in range(2)]
    assert [cache_status(page) for page in anonymous] == ["MISS", "HIT"]
    assert MEMBERS_ONLY_BODY not in visible_text(anonymous[1])

    browser = signed_in(nginx, member)
    pages = [browser.get(url) for _ in range(2)]

    assert [cache_status(page) for page in pages] == ["BYPASS", "BYPASS"]
    assert all(MEMBERS_ONLY_BODY in visible_text(page) for page in pages)
    assert all("private" in page["Cache-Control"] for page in pages)
    assert app_hits == [url, url, url]
    # Nor did the member's page fill the cache for others.
    assert MEMBERS_ONLY_BODY not in visible_text(reader(nginx).get(url))


@pytest.mark.parametrize(
    "path",
    [
        "/admin/login/",
        "/ru/admin/login/",
        "/accounts/login/",
        "/membership/account/",
        "/ru/membership/account/",
        "/membership/stripe/webhook/",
        "/preview/not-a-token/",
        "/fundraising/seen/",
    ],
)
def test_private_addresses_never_touch_the_edge_cache(nginx, path, app_hits):
    for _ in range(2):
        response = reader(nginx).get(path)
        assert response.status < 500, (path, response.status)
        # Served by the location that has no cache at all: no cache status, whatever the app
        # said.
        assert cache_status(response) is None, (path, response.headers)

    assert app_hits == [path, path]


def test_the_stripe_webhook_reaches_the_app_every_time(nginx, app_hits):
    for _ in range(2):
        response = reader(nginx).post("/membership/stripe/webhook/", data={"id": "evt_1"})
        assert response.status in (400, 503)
        assert cache_status(response) is None

    assert app_hits == ["/membership/stripe/webhook/"] * 2


def test_an_editor_in_the_admin_always_reaches_the_app(nginx, editor, story, app_hits):
    browser = signed_in(nginx, editor)
    for _ in range(2):
        page = browser.get("/admin/newsroom/article/")
        assert page.status == 200
        assert "The dam that was never built" in visible_text(page)
        assert cache_status(page) is None

    assert app_hits == ["/admin/newsroom/article/"] * 2


def unpublish_in_the_admin(nginx, editor, story):
    browser = signed_in(nginx, editor)
    changelist = browser.get("/admin/newsroom/article/")
    data = form_data(changelist, "changelist-form")
    data.update({"action": ["unpublish"], "_selected_action": [str(story.pk)]})
    response = browser.post("/admin/newsroom/article/", data=data)
    assert response.status == 302, response.text[:2000]
    assert Article.objects.get(pk=story.pk).status == Article.Status.DRAFT


def test_a_story_unpublished_in_the_admin_leaves_the_edge_at_once(nginx, editor, story):
    url = story.get_absolute_url()
    for path in (url, "/", url, "/"):
        reader(nginx).get(path)
    assert cache_status(reader(nginx).get(url)) == "HIT"
    assert "The dam that was never built" in visible_text(reader(nginx).get("/"))

    unpublish_in_the_admin(nginx, editor, story)

    assert reader(nginx).get(url).status == 404
    home = reader(nginx).get("/")
    assert cache_status(home) == "MISS"
    assert "The dam that was never built" not in visible_text(home)


def test_without_the_purge_the_edge_would_keep_an_unpublished_story(nginx, editor, story, settings):
    """Why the purge exists: the same steps with EDGE_PURGE_URLS empty."""
    settings.EDGE_PURGE_URLS = []
    url = story.get_absolute_url()
    reader(nginx).get(url)

    unpublish_in_the_admin(nginx, editor, story)

    stale = reader(nginx).get(url)
    assert (stale.status, cache_status(stale)) == (200, "HIT")
    assert "The dam that was never built" in visible_text(stale)


def test_the_purge_refuses_callers_without_the_secret(nginx, story):
    url = story.get_absolute_url()
    reader(nginx).get(url)

    assert purge(nginx).status == 403
    assert purge(nginx, "not-the-secret-" * 3).status == 403
    assert purge(nginx, SECRET, method="GET").status == 403
    assert cache_status(reader(nginx).get(url)) == "HIT"

    if nginx.purge_url.startswith("http://127.0.0.1") and _ipv6_loopback():
        # Listening on [::1] too for this test; that address is not on the `allow` list.
        other = f"http://[::1]:{nginx.purge_port}"
        assert (
            Browser(other).request("POST", "/purge", headers={PURGE_HEADER: SECRET}).status == 403
        )
        assert cache_status(reader(nginx).get(url)) == "HIT"

    assert purge(nginx, SECRET).status == 204
    assert cache_status(reader(nginx).get(url)) == "MISS"


def test_the_purge_refuses_everyone_until_a_secret_is_configured(live_server, tmp_path):
    unconfigured = Nginx(tmp_path, app=live_server.url.removeprefix("http://"), secret="CHANGE-ME")
    unconfigured.start()
    try:
        assert purge(unconfigured, "CHANGE-ME").status == 503
        assert (
            "set $newsroom_purge_secret" in (unconfigured.logs / "newsroom.error.log").read_text()
        )
    finally:
        unconfigured.stop()


def test_a_scheduled_story_appears_at_the_edge_on_time(nginx):
    scheduled = ArticleFactory(
        headline="The budget, line by line", published_at=timezone.now() + timedelta(days=1)
    )
    # Three seconds from now, not from before the factory built its pictures.
    due = timezone.now() + timedelta(seconds=3)
    Article.objects.filter(pk=scheduled.pk).update(published_at=due)
    before = [reader(nginx).get("/") for _ in range(2)]
    assert [cache_status(page) for page in before] == ["MISS", "HIT"]
    assert "The budget, line by line" not in visible_text(before[1])
    s_maxage = int(before[1]["Cache-Control"].split("s-maxage=")[1].split(",")[0])
    assert s_maxage <= 3

    time.sleep(max((due - timezone.now()).total_seconds(), 0) + 1.2)

    # The first request after the moment may get the expired copy while nginx fetches the new
    # one (stale-while-revalidate); the page is new from the next one on.
    pages = [reader(nginx).get("/")]
    for _ in range(20):
        if "The budget, line by line" in visible_text(pages[-1]):
            break
        time.sleep(0.1)
        pages.append(reader(nginx).get("/"))
    assert "The budget, line by line" in visible_text(pages[-1])
    assert len(pages) <= 2 or all(cache_status(page) == "UPDATING" for page in pages[1:-1])


def test_static_and_media_files_come_from_disk(nginx, app_hits):
    static = nginx.var / "static" / "css"
    static.mkdir(parents=True, exist_ok=True)
    css = b"body { color: #222; }\n" * 50
    (static / "site.0123456789ab.css").write_bytes(css)
    (static / "site.0123456789ab.css.gz").write_bytes(gzip.compress(css))
    (static / "site.css").write_bytes(css)
    media = nginx.var / "media" / "images" / "ab"
    media.mkdir(parents=True, exist_ok=True)
    (media / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 a picture")

    hashed = reader(nginx).get("/static/css/site.0123456789ab.css")
    assert hashed.status == 200 and hashed.content == css
    assert hashed.headers.get_all("Cache-Control") == ["public, max-age=31536000, immutable"]
    assert hashed["Content-Type"] == "text/css"
    compressed = reader(nginx).get(
        "/static/css/site.0123456789ab.css", headers={"Accept-Encoding": "gzip"}
    )
    assert compressed["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.content) == css
    plain = reader(nginx).get("/static/css/site.css")
    assert plain["Cache-Control"] == "max-age=3600"
    picture = reader(nginx).get("/media/images/ab/photo.jpg")
    assert picture.content == b"\xff\xd8\xff\xe0 a picture"
    assert picture.headers.get_all("Cache-Control") == ["public, max-age=31536000, immutable"]
    assert picture["X-Content-Type-Options"] == "nosniff"
    assert picture["Content-Type"] == "image/jpeg"
    assert reader(nginx).get("/static/css/missing.css").status == 404
    assert app_hits == []


def test_the_static_root_is_where_collectstatic_writes():
    assert django_settings.STATIC_ROOT == django_settings.VAR_DIR / "static"
    assert django_settings.STATIC_URL == "/static/"
    assert django_settings.MEDIA_URL == "/media/"


def test_a_page_from_the_edge_cache_costs_no_log_write_and_no_open():
    """Every access log line is buffered (one file: nginx refuses to mix buffered and
    unbuffered), and the cache files stay open between requests."""
    live = re.sub(r"(?m)(^|\s)#.*$", r"\1", CONFIG.read_text())
    logs = re.findall(r"^\s*access_log\s+([^;]*);", live, re.MULTILINE)
    assert len(logs) == 3 and all(re.search(r"\bbuffer=\S+ flush=\S+", log) for log in logs)
    cached = live[live.index("location / {") :]
    assert re.search(r"proxy_cache newsroom_pages;\s*open_file_cache max=\d+", cached)
