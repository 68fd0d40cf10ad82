"""Check 53: cache-poisoning sequences through the page cache and the edge in front.

gunicorn with two workers and the production settings keeps anonymous pages in a throwaway Redis
(newsroom.page_cache); each sequence runs straight against it, as a TLS proxy would send the
requests, and again through the shipped nginx configuration (tests/deploy/nginx.py), whose own
cache is in front. Members log in over HTTP through the site's form, as readers do.
"""

import hashlib
import types
from urllib.parse import urlsplit

import pytest
import redis
from allauth.account.models import EmailAddress
from django.urls import reverse

from newsroom.models import Article
from tests.conftest import PASSWORD
from tests.deploy.http import Browser
from tests.deploy.nginx import Nginx
from tests.deploy.production import (
    SharedDatabase,
    browser,
    environment,
    post_form,
    server_password,
)
from tests.deploy.servers import app_server, redis_server
from tests.factories import ArticleFactory, MembershipFactory, UserFactory
from tests.html import visible_text

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "edge-purge-secret-" * 3
MEMBERS_ONLY_BODY = "What the minister's aide told us off the record."
TEASER = "This story is for members"
MEMBER_CHROME = "Your membership"
ANONYMOUS_CHROME = "Become a member"


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory, var_dir):
    """Redis, an app server of two workers caching pages there, and nginx in front of it; all
    stopped at the end, whatever happened."""
    directory = tmp_path_factory.mktemp("poisoning")
    processes = []
    edge = None
    try:
        with django_db_blocker.unblock():
            database = SharedDatabase(directory)
        cache_server = redis_server(directory)
        processes.append(cache_server)
        # nginx speaks plain HTTP here (no certificate), so the app must not redirect to HTTPS.
        env = environment(
            var_dir, database.url, REDIS_URL=cache_server.url, DJANGO_SECURE_SSL_REDIRECT="0"
        )
        app = app_server("pages", directory, env, workers=2)
        processes.append(app)
        edge = Nginx(directory / "nginx", app=app.url.removeprefix("http://"), secret=SECRET)
        app.wait_for(f"{app.url}/healthz")
        edge.start()
        yield types.SimpleNamespace(
            shared=database, store=redis.Redis.from_url(cache_server.url), app=app, nginx=edge
        )
    finally:
        if edge is not None:
            edge.stop()
        for process in reversed(processes):
            process.stop()


class Front:
    """Where readers' requests arrive: the app server itself, or nginx in front of it."""

    def __init__(self, site, name):
        self.site, self.name = site, name

    def reader(self):
        if self.name == "nginx":
            return Browser(self.site.nginx.url)
        return browser(self.site.app)

    def cached(self, path):
        """Whether the anonymous page at `path` is in the cache readers reach first."""
        if self.name == "nginx":
            return self.reader().get(path).get("X-Cache-Status") == "HIT"
        address = f"https://{urlsplit(self.site.app.url).netloc}{path}?"
        key = "pages:" + hashlib.sha256(address.encode()).hexdigest()
        return bool(self.site.store.exists(f"newsroom-pages:1:{key}"))


@pytest.fixture(params=["gunicorn", "nginx"])
def front(request, site):
    """Each test starts with nothing cached, in Redis or at the edge."""
    site.store.flushall()
    assert (
        Browser(site.nginx.purge_url.removesuffix("/purge"))
        .request("POST", "/purge", headers={"X-Newsroom-Purge-Secret": SECRET})
        .status
        == 204
    )
    yield Front(site, request.param)
    assert site.app.running(), site.app.tail()


def new_member(email, first_name, last_name):
    """A reader with a verified address and an active membership, who can log in on the
    servers."""
    user = UserFactory(email=email, first_name=first_name, last_name=last_name)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    MembershipFactory(user=user)
    return server_password(user)


@pytest.fixture
def story(site):
    story = ArticleFactory(
        headline="Inside the ministry",
        visibility=Article.Visibility.MEMBERS,
        body=f"<p>{MEMBERS_ONLY_BODY}</p>",
        hero_image=None,
    )
    site.shared.publish()
    return story


@pytest.fixture
def member(site):
    user = new_member("member@example.com", "Mzia", "Memberova")
    site.shared.publish()
    return user


def log_in(front, user):
    """Logs in through the site's form, as a reader does."""
    reader = front.reader()
    data = post_form(reader.get("/accounts/login/")) | {
        "login": [user.email],
        "password": [PASSWORD],
    }
    response = reader.post("/accounts/login/", data=data)
    assert response.status == 302, visible_text(response)[:1000]
    assert "sessionid" in reader.cookies and "newsroom_signed_in" in reader.cookies
    return reader


def test_a_members_page_never_reaches_an_anonymous_reader(front, story, member):
    """Check 53 (a): a member reads a paid story, then an anonymous reader asks for it."""
    url = story.get_absolute_url()
    signed_in = log_in(front, member).get(url)
    assert MEMBERS_ONLY_BODY in visible_text(signed_in)

    for _ in range(2):
        anonymous = front.reader().get(url)
        assert anonymous.status == 200
        assert MEMBERS_ONLY_BODY not in anonymous.text
        assert TEASER in visible_text(anonymous)
    assert front.cached(url)


def test_a_member_never_gets_the_anonymous_page(front, story, member):
    """Check 53 (b): an anonymous reader's teaser is cached, then a member asks for the story."""
    url = story.get_absolute_url()
    assert TEASER in visible_text(front.reader().get(url))
    assert front.cached(url)

    reader = log_in(front, member)
    for _ in range(2):
        page = reader.get(url)
        assert MEMBERS_ONLY_BODY in visible_text(page)
        assert TEASER not in visible_text(page)


def test_after_logging_out_pages_are_anonymous_and_replay_no_cookie(front, story, member):
    """Check 53 (c): log in, then log out: the next pages show the anonymous chrome, and no
    cookie of the member's is replayed from a cache, to them or to anyone else."""
    url = story.get_absolute_url()
    reader = log_in(front, member)
    assert MEMBER_CHROME in visible_text(reader.get("/"))
    assert MEMBERS_ONLY_BODY in visible_text(reader.get(url))

    logout = reader.post("/accounts/logout/", data=post_form(reader.get("/accounts/logout/")))
    assert logout.status == 302
    assert "sessionid" not in reader.cookies and "newsroom_signed_in" not in reader.cookies

    for path in ("/", url, "/", url):
        page = reader.get(path)
        assert page.status == 200
        assert ANONYMOUS_CHROME in visible_text(page) and MEMBER_CHROME not in visible_text(page)
        assert member.email not in page.text and MEMBERS_ONLY_BODY not in page.text
        assert "sessionid" not in reader.cookies and "newsroom_signed_in" not in reader.cookies
        stranger = front.reader().get(path)
        assert stranger.headers.get_all("Set-Cookie") is None, (path, stranger.headers)
        assert stranger.content == page.content or "signed out" in visible_text(page)
    assert front.cached("/") and front.cached(url)


def test_two_members_never_see_each_other(front, story, site):
    """Check 53 (d): members A and B, with names and addresses found nowhere else, read the same
    pages in turns; neither ever gets a page with the other's name or address."""
    a = new_member("sentinel.alpha@example.com", "Aleksandre", "Alphadze")
    b = new_member("sentinel.bravo@example.com", "Bachana", "Bravoshvili")
    site.shared.publish()
    marks = {
        a.email: (a.email, "Aleksandre", "Alphadze"),
        b.email: (b.email, "Bachana", "Bravoshvili"),
    }
    readers = {a.email: log_in(front, a), b.email: log_in(front, b)}
    paths = [
        "/",
        story.get_absolute_url(),
        reverse("members:account"),
        reverse("newsroom:section_detail", args=[story.section.slug]),
    ]

    named = dict.fromkeys(readers, 0)
    for _ in range(2):
        for path in paths:
            for email, reader in [*readers.items(), *reversed(readers.items())]:
                page = reader.get(path)
                assert page.status == 200, (path, page.status)
                others = [
                    mark for owner, owned in marks.items() if owner != email for mark in owned
                ]
                assert not [mark for mark in others if mark in page.text], (email, path)
                assert MEMBER_CHROME in visible_text(page), (email, path)
                # Their own page does name them ("Successfully signed in as …" after log-in).
                named[email] += email in visible_text(page)
            anonymous = front.reader().get(path)
            assert not [
                mark for owned in marks.values() for mark in owned if mark in anonymous.text
            ], path
    assert all(named.values()), named
