"""The whole-page cache for anonymous readers (newsroom.page_cache, ARCHITECTURE.md §4)."""

import gzip
import os
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache, caches
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench import caches as bench_caches
from members.views import JOIN_PRICE
from newsroom import page_cache
from newsroom.models import Article, Correction
from newsroom.redis_cache import RedisCache
from tests.conftest import PASSWORD
from tests.deploy.servers import redis_server
from tests.factories import ArticleFactory, CallToActionFactory
from tests.html import visible_text
from tests.test_deploy_settings import PRODUCTION, manage

pytestmark = pytest.mark.django_db

MEMBERS_ONLY_BODY = "<p>What the minister's aide told us off the record.</p>"


def generation():
    return caches[page_cache.CACHE_ALIAS].get(page_cache.GENERATION)


@pytest.fixture
def story():
    return ArticleFactory(headline="The dam that was never built")


@pytest.fixture
def members_story():
    return ArticleFactory(
        headline="Inside the ministry",
        visibility=Article.Visibility.MEMBERS,
        body=MEMBERS_ONLY_BODY,
    )


def test_an_anonymous_story_comes_from_the_cache_the_second_time(
    client, story, django_assert_num_queries
):
    first = client.get(story.get_absolute_url())
    with django_assert_num_queries(0):
        second = client.get(story.get_absolute_url())

    assert second.status_code == 200
    assert second.content == first.content
    assert "The dam that was never built" in visible_text(second)
    directives = {d.strip() for d in first["Cache-Control"].split(",")}
    assert directives == {
        "public",
        "max-age=0",
        f"s-maxage={settings.PAGE_CACHE_SECONDS}",
        "stale-while-revalidate=30",
        "stale-if-error=86400",
    }
    # A copy served later tells shared caches what is left of its time.
    directives = {d.strip() for d in second["Cache-Control"].split(",")}
    assert directives & {f"s-maxage={settings.PAGE_CACHE_SECONDS - n}" for n in range(3)}
    assert second["ETag"] == first["ETag"]


def test_a_reader_whose_copy_is_current_gets_not_modified(client, story):
    etag = client.get(story.get_absolute_url())["ETag"]

    fresh = client.get(story.get_absolute_url(), headers={"if-none-match": etag})
    stale = client.get(story.get_absolute_url(), headers={"if-none-match": '"old"'})

    assert fresh.status_code == 304
    assert fresh.content == b""
    assert fresh["ETag"] == etag
    assert stale.status_code == 200


GZIP = {"accept-encoding": "gzip, deflate, br, zstd"}


@pytest.fixture
def compressions(monkeypatch):
    """Every time the page cache gzips a page, counted."""
    made = []
    compress = page_cache.compress_string

    def counted(body, **kwargs):
        made.append(len(body))
        return compress(body, **kwargs)

    monkeypatch.setattr(page_cache, "compress_string", counted)
    return made


def test_browsers_get_the_page_gzipped_once_for_all(client, story, compressions):
    url = story.get_absolute_url()
    first = client.get(url, headers=GZIP)
    again = client.get(url, headers={"accept-encoding": "gzip"})
    plain = client.get(url)

    assert compressions == [len(plain.content)]
    for response in (first, again):
        assert response.status_code == 200
        assert response["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.content) == plain.content
        assert int(response["Content-Length"]) == len(response.content) < len(plain.content) / 2
        assert response["ETag"] == "W/" + plain["ETag"]
    assert "Content-Encoding" not in plain
    assert int(plain["Content-Length"]) == len(plain.content)
    assert "The dam that was never built" in visible_text(plain)
    # Both encodings of the page say that they depend on what the browser accepts.
    assert first["Vary"] == again["Vary"] == plain["Vary"] == "Accept-Encoding"
    # Both are shared pages for caches in front to keep.
    assert "public" in first["Cache-Control"] and "s-maxage=" in first["Cache-Control"]


def test_a_page_first_asked_for_without_gzip_is_gzipped_for_the_first_who_accepts_it(
    client, story, compressions
):
    url = story.get_absolute_url()
    plain = client.get(url)
    assert compressions == []
    assert caches[page_cache.CACHE_ALIAS].get(page_cache.page_key(plain.wsgi_request))[4] is None

    compressed = [client.get(url, headers=GZIP) for _ in range(3)]

    assert compressions == [len(plain.content)]
    assert all(gzip.decompress(r.content) == plain.content for r in compressed)
    stored = caches[page_cache.CACHE_ALIAS].get(page_cache.page_key(plain.wsgi_request))
    assert stored[4] == compressed[0].content
    # Stored for what was left of the page's time, not longer.
    assert stored[1] == pytest.approx(time.time() + settings.PAGE_CACHE_SECONDS, abs=3)
    assert client.get(url).content == plain.content


def test_a_browsers_copy_is_current_whichever_encoding_it_holds(client, story):
    url = story.get_absolute_url()
    weak = client.get(url, headers=GZIP)["ETag"]
    strong = client.get(url)["ETag"]

    for held in (weak, strong):
        for accepts in (GZIP, {}):
            response = client.get(url, headers={**accepts, "if-none-match": held})
            assert response.status_code == 304, (held, accepts)
            assert response.content == b""
            assert response["Vary"] == "Accept-Encoding"
            assert "Content-Encoding" not in response


def test_gzip_is_only_used_where_it_pays():
    assert page_cache._compress(b"<p>short</p>") == b""
    assert page_cache._compress(os.urandom(4000)) == b""  # (it would only grow)
    page = b"<p>A page of the site, with words that come back.</p>" * 20
    assert gzip.decompress(page_cache._compress(page)) == page


def test_tracking_and_unknown_parameters_are_served_the_same_entry(
    client, story, django_assert_num_queries
):
    page = client.get("/").content
    with django_assert_num_queries(0):
        tracked = client.get("/?utm_source=x&utm_medium=social&fbclid=abc")
        random = client.get("/", {"nocache": "817263"})

    assert tracked.content == random.content == page
    assert caches[page_cache.CACHE_ALIAS].get(page_cache.page_key(tracked.wsgi_request))


def test_parameters_the_views_read_make_their_own_entries(rf):
    assert page_cache.page_key(rf.get("/?page=2")) != page_cache.page_key(rf.get("/"))
    assert page_cache.page_key(rf.get("/?page=2&utm_source=x")) == page_cache.page_key(
        rf.get("/?utm_source=y&page=2")
    )
    assert page_cache.page_key(rf.get("/section/a/?page=2")) != page_cache.page_key(
        rf.get("/section/b/?page=2")
    )
    assert page_cache.page_key(rf.get("/ru/")) != page_cache.page_key(rf.get("/"))


def test_a_member_never_gets_the_anonymous_page(client, member, members_story):
    url = members_story.get_absolute_url()
    anonymous = client.get(url)
    assert "This story is for members" in visible_text(anonymous)

    client.force_login(member)
    signed_in = client.get(url)

    assert "off the record" in visible_text(signed_in)
    assert "This story is for members" not in visible_text(signed_in)
    assert "private" in signed_in["Cache-Control"]
    assert "public" not in signed_in["Cache-Control"]


def test_an_anonymous_reader_never_gets_a_members_page(client, member, members_story):
    url = members_story.get_absolute_url()
    client.force_login(member)
    assert "off the record" in visible_text(client.get(url))

    anonymous = Client().get(url)

    assert "off the record" not in anonymous.content.decode()
    assert "This story is for members" in visible_text(anonymous)


def test_signed_in_readers_get_private_pages_everywhere(client, reader, story):
    client.force_login(reader)
    for url in ("/", "/ru/", story.get_absolute_url(), "/robots.txt"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "private" in response["Cache-Control"], url
        assert "public" not in response["Cache-Control"], url


def test_a_reader_who_left_a_join_half_way_still_gets_the_cached_page(
    client, story, django_assert_num_queries
):
    page = client.get(story.get_absolute_url())
    session = SessionStore()
    session[JOIN_PRICE] = 1
    session.create()
    abandoned = Client()
    abandoned.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    abandoned.cookies[settings.CSRF_COOKIE_NAME] = "x" * 32

    with django_assert_num_queries(0):
        response = abandoned.get(story.get_absolute_url())

    assert response.content == page.content
    assert "public" in response["Cache-Control"]
    assert not response.cookies


def test_pages_do_not_vary_on_language_headers_or_cookies(client, story):
    for url in ("/", "/ru/", story.get_absolute_url(), "/robots.txt"):
        response = client.get(url, headers={"accept-language": "ru"})
        vary = response.get("Vary", "").lower()
        assert "accept-language" not in vary, url
        assert "cookie" not in vary, url
    # The root is English whatever the browser asks for.
    assert client.get("/", headers={"accept-language": "ru"})["Content-Language"] == "en"


def test_logging_in_sets_the_marker_and_logging_out_clears_it(client, reader, story):
    client.get(story.get_absolute_url())

    response = client.post("/accounts/login/", {"login": reader.email, "password": PASSWORD})

    marker = response.cookies[page_cache.SIGNED_IN_COOKIE]
    assert marker.value == "1"
    assert marker["httponly"]
    assert marker["samesite"] == "Lax"
    assert "private" in client.get(story.get_absolute_url())["Cache-Control"]

    response = client.post("/accounts/logout/")

    assert response.cookies[page_cache.SIGNED_IN_COOKIE]["max-age"] == 0
    assert "public" in client.get(story.get_absolute_url())["Cache-Control"]


def test_a_marker_outliving_its_session_is_cleared(story):
    browser = Client()
    browser.cookies[page_cache.SIGNED_IN_COOKIE] = "1"

    response = browser.get(story.get_absolute_url())

    assert response.cookies[page_cache.SIGNED_IN_COOKIE]["max-age"] == 0
    assert "public" in browser.get(story.get_absolute_url())["Cache-Control"]


def test_publishing_shows_the_story_on_the_home_page_at_once(client):
    draft = ArticleFactory(headline="Snow closes the pass", status=Article.Status.DRAFT)
    assert "Snow closes the pass" not in visible_text(client.get("/"))

    draft.publish()

    assert "Snow closes the pass" in visible_text(client.get("/"))


def test_unpublishing_takes_the_story_down_at_once(client, story):
    url = story.get_absolute_url()
    assert "The dam that was never built" in visible_text(client.get("/"))
    assert client.get(url).status_code == 200

    story.unpublish()

    assert "The dam that was never built" not in visible_text(client.get("/"))
    assert client.get(url).status_code == 404


def test_a_correction_shows_at_once(client, story, django_capture_on_commit_callbacks):
    client.get(story.get_absolute_url())

    with django_capture_on_commit_callbacks(execute=True):
        Correction.objects.create(article=story, text="An earlier version misnamed the river.")

    assert "misnamed the river" in visible_text(client.get(story.get_absolute_url()))


def test_a_scheduled_story_appears_on_time_with_no_purge(client):
    due = timezone.now() + timedelta(seconds=2)
    ArticleFactory(headline="The budget, line by line", published_at=due)
    before = client.get("/")
    assert "The budget, line by line" not in visible_text(before)
    s_maxage = int(before["Cache-Control"].split("s-maxage=")[1].split(",")[0])
    assert s_maxage <= 2
    unchanged = generation()

    time.sleep(max((due - timezone.now()).total_seconds(), 0) + 0.2)

    assert "The budget, line by line" in visible_text(client.get("/"))
    assert generation() == unchanged


def test_the_next_change_is_the_earliest_scheduled_event():
    now = timezone.now()
    assert page_cache.next_change(now) is None

    ArticleFactory(published_at=now + timedelta(hours=5))
    ArticleFactory(visibility=Article.Visibility.EARLY_ACCESS, public_from=now + timedelta(hours=4))
    ArticleFactory(status=Article.Status.DRAFT, published_at=now + timedelta(hours=1))
    assert page_cache.next_change(now) == now + timedelta(hours=4)

    CallToActionFactory(starts_at=now - timedelta(days=1), ends_at=now + timedelta(hours=3))
    assert page_cache.next_change(now) == now + timedelta(hours=3)
    CallToActionFactory(starts_at=now + timedelta(hours=2))
    assert page_cache.next_change(now) == now + timedelta(hours=2)


def test_pages_that_depend_on_the_reader_are_never_shared(client, story):
    for url in ("/accounts/login/", "/membership/", "/donate/"):
        client.get(url)
        response = client.get(url)
        assert "public" not in response.get("Cache-Control", ""), url
        assert "ETag" not in response, url


def test_a_missing_page_is_not_cached(client):
    assert client.get("/section/nowhere/").status_code == 404
    response = client.get("/section/nowhere/")
    assert response.status_code == 404
    assert "public" not in response.get("Cache-Control", "")


def test_an_editor_purges_the_whole_page_cache_from_the_admin(client, editor, story):
    client.get(story.get_absolute_url())
    before = generation()
    client.force_login(editor)
    assert "Purge the whole page cache" in visible_text(client.get("/admin/"))

    response = client.post("/admin/newsroom/page-cache/purge/", follow=True)

    assert "The page cache was purged" in visible_text(response)
    assert generation() != before


def test_only_those_who_may_publish_can_purge(client, contributor):
    client.force_login(contributor)
    assert "Purge the whole page cache" not in visible_text(client.get("/admin/"))
    before = generation()

    assert client.post("/admin/newsroom/page-cache/purge/").status_code == 403
    assert generation() == before


def test_purge_needs_a_post(client, editor):
    client.force_login(editor)
    assert client.get("/admin/newsroom/page-cache/purge/").status_code == 405


def test_clearing_the_page_cache_logs_nobody_out(client, member):
    client.force_login(member)

    page_cache.purge()
    caches[page_cache.CACHE_ALIAS].clear()

    assert client.get("/membership/account/").status_code == 200


@pytest.mark.parametrize(
    ("redis_url", "backend", "sessions"),
    [
        ("", "django.core.cache.backends.db.DatabaseCache", "django.contrib.sessions.backends.db"),
        (
            "redis://cache.example:6379/0",
            "newsroom.redis_cache.RedisCache",
            "django.contrib.sessions.backends.cached_db",
        ),
    ],
)
def test_production_keeps_pages_where_every_process_sees_them(redis_url, backend, sessions):
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.CACHES['pages']['BACKEND'], s.SESSION_ENGINE)",
        **PRODUCTION,
        REDIS_URL=redis_url,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [backend, sessions]


def test_the_database_page_cache_serves_pages_with_one_query(client, story):
    database_cache = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "newsroom_page_cache",
    }
    with override_settings(CACHES={**settings.CACHES, page_cache.CACHE_ALIAS: database_cache}):
        call_command("createcachetable", verbosity=0)
        first = client.get(story.get_absolute_url())
        with CaptureQueriesContext(connection) as queries:
            second = client.get(story.get_absolute_url())

    assert second.content == first.content
    assert len(queries) == 1
    assert "newsroom_page_cache" in queries[0]["sql"]


@pytest.fixture
def rate_limits_on():
    """allauth's default limits and the site's own, as in production."""
    cache.clear()
    with override_settings(
        ACCOUNT_RATE_LIMITS={"call_to_action_beacon": "120/m/ip", "checkout": "30/h/ip"}
    ):
        yield
    cache.clear()


@pytest.mark.parametrize("address", ["203.0.113.7", "2001:db8:85a3::8a2e:370:7334"])
def test_rate_limits_keep_no_reader_address(client, reader, rate_limits_on, address):
    client.post(
        "/accounts/login/",
        {"login": reader.email, "password": "wrong"},
        REMOTE_ADDR=address,
    )
    client.post("/fundraising/seen/", {"blocks": "1"}, REMOTE_ADDR=address)

    keys = [key for key in cache._cache if ":rl:" in key]
    assert any(":login:" in key for key in keys)
    assert any(":call_to_action_beacon:" in key for key in keys)
    for key in keys:
        assert address not in key


def test_rate_limits_still_count_each_address_apart(client, reader, rate_limits_on):
    with override_settings(ACCOUNT_RATE_LIMITS={"call_to_action_beacon": "2/m/ip"}):
        for _ in range(3):
            client.post("/fundraising/seen/", {"blocks": "1"}, REMOTE_ADDR="198.51.100.1")
        client.post("/fundraising/seen/", {"blocks": "1"}, REMOTE_ADDR="198.51.100.2")

    histories = [value for key, value in cache._cache.items() if ":call_to_action_beacon:" in key]
    assert len(histories) == 2


def test_a_cached_feed_is_served_in_one_piece(story):
    """The feed generator writes its response element by element; the page cache joins the
    pieces before it stores the page, so a cached feed goes out in one write, not hundreds."""
    anonymous = Client()
    fresh = anonymous.get("/feed/")
    cached = anonymous.get("/feed/")

    assert fresh.status_code == cached.status_code == 200
    assert "The dam that was never built" in cached.text
    assert cached.content == fresh.content
    assert len(list(cached)) == 1


# Pages in each process's memory (with Redis) ---------------------------------------------------


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A throwaway redis-server of this module's own."""
    server = redis_server(tmp_path_factory.mktemp("redis"))
    try:
        client = redis.Redis.from_url(server.url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield server.url
    finally:
        server.stop()


def redis_pages(url):
    return {
        "BACKEND": "newsroom.redis_cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "newsroom-pages",
    }


@pytest.fixture
def in_redis(redis_url, monkeypatch):
    """The page cache in Redis, as in production, and a process memory of pages that starts
    empty; yields a second cache client on the same Redis: another app server's."""
    redis.Redis.from_url(redis_url).flushall()
    other = RedisCache(redis_url, {"KEY_PREFIX": "newsroom-pages"})
    # (The first request would otherwise make the generation, which ends its own watch.)
    other.set(page_cache.GENERATION, "first", None)
    monkeypatch.setattr(page_cache, "_process_pages", page_cache._ProcessPages())
    with override_settings(
        CACHES={**settings.CACHES, page_cache.CACHE_ALIAS: redis_pages(redis_url)}
    ):
        yield other
    page_cache._process_pages._forget()


@pytest.fixture
def redis_reads(monkeypatch):
    """The page cache's reads of Redis, counted."""
    reads = []
    get_many = RedisCache.get_many

    def counted(self, keys, version=None):
        reads.append(keys)
        return get_many(self, keys, version)

    monkeypatch.setattr(RedisCache, "get_many", counted)
    return reads


def response_headers(response):
    return {name: value for name, value in response.items() if name != "Cache-Control"}


def test_a_page_comes_from_process_memory_with_no_redis_read_and_the_same_bytes(
    client, story, in_redis, redis_reads, django_assert_num_queries
):
    fresh = client.get(story.get_absolute_url())
    assert len(redis_reads) == 1
    with django_assert_num_queries(0):
        from_memory = client.get(story.get_absolute_url())
    assert len(redis_reads) == 1
    # Another process (nothing in its memory yet) reads it from Redis.
    page_cache._process_pages._forget()
    from_redis = client.get(story.get_absolute_url())
    assert len(redis_reads) == 2

    for response in (from_memory, from_redis):
        assert response.status_code == 200
        assert response.content == fresh.content
        assert response_headers(response) == response_headers(fresh)
        assert response["Vary"] == "Accept-Encoding"
    assert {"ETag", "Content-Language", "Content-Security-Policy"} <= set(fresh.headers)
    assert "s-maxage=" in from_memory["Cache-Control"]


def test_the_gzipped_page_is_kept_in_process_memory_and_in_redis(
    client, story, in_redis, redis_reads, compressions
):
    url = story.get_absolute_url()
    fresh = client.get(url, headers=GZIP)
    from_memory = client.get(url, headers=GZIP)
    page_cache._process_pages._forget()
    from_redis = client.get(url, headers=GZIP)
    plain = client.get(url)

    assert len(redis_reads) == 2
    assert len(compressions) == 1
    for response in (fresh, from_memory, from_redis):
        assert response["Content-Encoding"] == "gzip"
        assert response.content == fresh.content
        assert gzip.decompress(response.content) == plain.content


def test_a_page_in_process_memory_is_gzipped_once_for_the_first_who_accepts_it(
    client, story, in_redis, redis_reads, compressions
):
    url = story.get_absolute_url()
    plain = client.get(url)
    first = client.get(url, headers=GZIP)
    again = client.get(url, headers=GZIP)
    assert len(redis_reads) == 1 and len(compressions) == 1
    # Written back to Redis too: another process finds the gzipped copy made.
    page_cache._process_pages._forget()
    elsewhere = client.get(url, headers=GZIP)

    assert len(redis_reads) == 2 and len(compressions) == 1
    assert first.content == again.content == elsewhere.content
    assert gzip.decompress(elsewhere.content) == plain.content


def test_a_reader_whose_copy_is_current_gets_not_modified_from_process_memory(
    client, story, in_redis, redis_reads
):
    etag = client.get(story.get_absolute_url())["ETag"]
    fresh = client.get(story.get_absolute_url(), headers={"if-none-match": etag})
    stale = client.get(story.get_absolute_url(), headers={"if-none-match": '"old"'})

    assert len(redis_reads) == 1
    assert fresh.status_code == 304
    assert fresh.content == b""
    assert stale.status_code == 200


@pytest.mark.parametrize(
    "elsewhere",
    [
        pytest.param(lambda other: page_cache.purge(), id="a purge in this process"),
        pytest.param(
            lambda other: other.set(page_cache.GENERATION, "0123456789abcdef", None),
            id="a purge on another app server",
        ),
        pytest.param(lambda other: other.delete(page_cache.GENERATION), id="the key deleted"),
        pytest.param(lambda other: other._cache.get_client().flushall(), id="Redis flushed"),
    ],
)
def test_a_change_of_generation_anywhere_retires_the_pages_in_memory_at_once(
    client, story, in_redis, redis_reads, elsewhere
):
    url = story.get_absolute_url()
    client.get(url)
    client.get(url)
    assert len(redis_reads) == 1
    # Changed behind the app's back (no save, so no purge): the page in memory stays.
    Article.objects.filter(pk=story.pk).update(headline="The dam that was built after all")
    assert "The dam that was never built" in visible_text(client.get(url))

    elsewhere(in_redis)

    assert "The dam that was built after all" in visible_text(client.get(url))
    assert len(redis_reads) == 2


def test_a_lost_connection_to_redis_forgets_the_pages_in_memory(
    client, story, in_redis, redis_reads
):
    url = story.get_absolute_url()
    client.get(url)
    client.get(url)
    Article.objects.filter(pk=story.pk).update(headline="The dam that was built after all")
    in_redis._cache.get_client().client_kill_filter(_type="normal", skipme=True)
    in_redis._cache.get_client().flushall()  # (what a restarted Redis would hold)

    assert "The dam that was built after all" in visible_text(client.get(url))


def test_the_pages_in_memory_stay_within_their_bytes(client, in_redis, redis_reads):
    stories = [ArticleFactory(headline=f"Story number {n}") for n in range(3)]
    size = len(client.get(stories[0].get_absolute_url()).content)
    limit = int(size * 1.5)
    with override_settings(PAGE_CACHE_PROCESS_BYTES=limit):
        for story in stories:
            client.get(story.get_absolute_url())
        assert page_cache._process_pages.size <= limit
        reads = len(redis_reads)
        client.get(stories[2].get_absolute_url())
        assert len(redis_reads) == reads  # the last one served is kept
        client.get(stories[0].get_absolute_url())
        assert len(redis_reads) == reads + 1  # the first one left


def test_no_page_is_kept_in_memory_of_a_process_that_keeps_none(
    client, story, in_redis, redis_reads
):
    with override_settings(PAGE_CACHE_PROCESS_BYTES=0):
        client.get(story.get_absolute_url())
        client.get(story.get_absolute_url())
    assert len(redis_reads) == 2


def test_a_forked_process_starts_with_no_pages_in_memory(
    client, story, in_redis, redis_reads, monkeypatch
):
    client.get(story.get_absolute_url())
    client.get(story.get_absolute_url())
    monkeypatch.setattr(page_cache.os, "getpid", lambda: -1)
    client.get(story.get_absolute_url())
    assert len(redis_reads) == 2


def test_the_benchmarks_uncached_mode_misses_the_pages_in_memory_too(
    client, story, redis_url, monkeypatch
):
    redis.Redis.from_url(redis_url).flushall()
    monkeypatch.setattr(page_cache, "_process_pages", page_cache._ProcessPages())
    bench_pages = {**redis_pages(redis_url), "BACKEND": "bench.caches.RedisPages"}
    with override_settings(CACHES={**settings.CACHES, page_cache.CACHE_ALIAS: bench_pages}):
        keep = bench_caches.KEEP_PAGES
        try:
            # Django's handler sets `resolver_match` when it calls the view: a page served
            # from a cache never gets that far (a warm article costs no query either way).
            bench_caches.serve_pages(False)
            client.get(story.get_absolute_url())
            response = client.get(story.get_absolute_url())
            assert response.wsgi_request.resolver_match is not None
            bench_caches.serve_pages(True)
            client.get(story.get_absolute_url())
            with CaptureQueriesContext(connection) as queries:
                response = client.get(story.get_absolute_url())
            assert response.wsgi_request.resolver_match is None
            assert len(queries) == 0
        finally:
            bench_caches.serve_pages(keep)
            page_cache._process_pages._forget()


def test_which_addresses_lead_to_shared_pages_is_remembered_within_bounds(client, story):
    page_cache._leads_to_shared_view.cache_clear()
    for n in range(50):
        client.get(f"/no-such-page-{n}/")
    client.get(story.get_absolute_url())
    client.get(story.get_absolute_url())
    info = page_cache._leads_to_shared_view.cache_info()
    assert info.maxsize is not None
    assert info.hits >= 1
    assert info.currsize <= info.maxsize
