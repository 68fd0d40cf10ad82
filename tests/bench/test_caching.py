"""The caching benchmark's pieces (bench/caching.py, bench/renders.py, bench/seed.py): the origin
render counter, the members with sessions made beforehand and their sentinels, the editor who
publishes through the admin. Cheap: the test client, a few rows; no load is run here."""

import pytest
from django.test import Client

from bench import caching, renders, seed
from newsroom.models import Article
from newsroom.page_cache import SIGNED_IN_COOKIE
from tests.conftest import define_roles
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db

HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture
def counted(settings):
    """The render counter as the benchmark's gunicorn has it (bench/settings.py), on a memory
    cache of its own."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "bench.renders.count_renders"]
    settings.CACHES = {
        **settings.CACHES,
        renders.ALIAS: {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "renders",
        },
    }
    renders.reset()


def answer(response):
    """A test client's response as bench.load.request() returns one."""
    return response.status_code, dict(response.headers), response.content


def test_the_render_counter_counts_only_what_the_page_cache_did_not_answer(client, counted):
    """Check 65: a page served from the page cache is no render; a miss is one, per address."""
    article = ArticleFactory()
    path = article.get_absolute_url()
    for _ in range(3):
        assert client.get(path, headers=HTTPS).status_code == 200
    assert renders.renders(path) == 1
    assert renders.hit_ratio(renders.renders(path), 3) == pytest.approx(2 / 3)

    # A save purges every page: the next request renders again.
    article.headline = "The pass reopens"
    article.save()
    assert client.get(path, headers=HTTPS).status_code == 200
    assert client.get("/", headers=HTTPS).status_code == 200
    assert renders.renders(path) == 2
    assert renders.renders("/") == 1
    assert renders.renders() == 3

    renders.reset()
    assert renders.renders(path) == renders.renders() == 0


def test_the_hit_ratio():
    """Check 65: 1 − renders ÷ requests."""
    assert renders.hit_ratio(1, 1000) == pytest.approx(0.999)
    assert renders.hit_ratio(0, 0) is None
    # Requests abandoned at the end of a run may still render: never below 0.
    assert renders.hit_ratio(12, 10) == 0.0


def test_each_member_with_a_session_made_beforehand_reads_as_themselves():
    """Check 68: the members' sessions are valid as made; each member's account page names
    that member alone, the members-only story opens in full, and the check notices another
    member's page."""
    story = ArticleFactory(visibility=Article.Visibility.MEMBERS)
    members = seed.signed_in_members(3, "abc123")
    assert [name for name, _key in members] == [f"sentinel-abc123-00{n}" for n in range(3)]
    pages = {}
    for name, session_key in members:
        reader = Client(headers=HTTPS)
        reader.cookies["sessionid"] = session_key
        reader.cookies[SIGNED_IN_COOKIE] = "1"
        article = answer(reader.get(story.get_absolute_url()))
        account = answer(reader.get("/membership/account/"))
        assert caching.member_problems(name, article, account, "abc123") == []
        pages[name] = article, account

    first, second = members[0][0], members[1][0]
    problems = caching.member_problems(first, pages[first][0], pages[second][1], "abc123")
    assert problems == [f"{first}: the account page named [b'{second}']"]


def test_the_anonymous_teaser_is_a_wrong_answer_for_a_member(client):
    """Check 68: a member served the cached teaser (or a page that may be shared) is caught."""
    story = ArticleFactory(visibility=Article.Visibility.MEMBERS)
    name, session_key = seed.signed_in_members(1, "abc123")[0]
    reader = Client(headers=HTTPS)
    reader.cookies["sessionid"] = session_key
    reader.cookies[SIGNED_IN_COOKIE] = "1"
    account = answer(reader.get("/membership/account/"))
    teaser = answer(client.get(story.get_absolute_url(), headers=HTTPS))
    assert caching.GATE.encode() in teaser[2]
    problems = caching.member_problems(name, teaser, account, "abc123")
    assert f"{name}: the story showed the teaser" in problems
    assert any("was not private" in problem for problem in problems)


def test_the_editor_publishes_through_the_admin_with_what_the_benchmark_posts():
    """Check 66: the editor logs in through the form and publishes a draft with the admin's
    action, sending exactly the fields the benchmark sends (CSRF checks on); the story is the
    first on the home page at once."""
    define_roles()
    ArticleFactory()
    seed.editor("editor@bench.example", "a long enough password 1")
    draft = seed.breaking_drafts(1, "t1")[0]
    reader = Client(headers=HTTPS)
    assert draft.headline not in reader.get("/").content.decode()

    # The CSRF check compares the Origin header with the site's address; the benchmark's
    # editor sends it too.
    editor = Client(enforce_csrf_checks=True, headers={"Origin": "http://testserver"})
    page = editor.get("/accounts/login/")
    logged_in = editor.post(
        "/accounts/login/",
        {
            "csrfmiddlewaretoken": caching.CSRF_FIELD.search(page.content.decode())[1],
            "login": "editor@bench.example",
            "password": "a long enough password 1",
        },
    )
    assert logged_in.status_code == 302
    changelist = editor.get("/admin/newsroom/article/")
    published = editor.post(
        "/admin/newsroom/article/",
        {
            "csrfmiddlewaretoken": caching.CSRF_FIELD.search(changelist.content.decode())[1],
            "action": "publish_now",
            "select_across": "0",
            "index": "0",
            "_selected_action": str(draft.pk),
        },
    )
    assert published.status_code == 302
    draft.refresh_from_db()
    assert draft.is_published
    assert draft.headline in reader.get("/").content.decode()


def test_percentiles_by_nearest_rank():
    """Checks 66 and 68: the admin's p95 and the members' p99."""
    values = [0.1] * 95 + [2.0] * 5
    assert caching.percentile(values, 95) == 0.1
    assert caching.percentile(values, 96) == 2.0
    assert caching.percentile([], 99) != caching.percentile([], 99)  # NaN
