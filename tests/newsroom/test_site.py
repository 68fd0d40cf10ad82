import pytest
from django.db import OperationalError, connection
from django.template.loader import get_template
from django.test import Client

from newsroom.models import Article
from tests.factories import ArticleFactory, SectionFactory

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch):
    def unavailable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", unavailable)
    response = client.get("/healthz")
    assert response.status_code == 503


def test_robots_txt_keeps_crawlers_out_of_private_areas(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "User-agent: *" in body
    assert "Disallow: /admin/" in body
    assert "Disallow: /accounts/" in body


def test_site_chrome_has_skip_link_navigation_and_footer(client):
    SectionFactory(name="Environment", slug="environment")
    html = client.get("/").content.decode()
    assert 'href="#main"' in html
    assert 'id="main"' in html
    assert 'href="/section/environment/"' in html
    assert "<footer" in html


def test_section_page_lists_its_stories_only(client):
    ArticleFactory(headline="Glacier retreat measured", section=SectionFactory(slug="environment"))
    ArticleFactory(headline="Budget vote delayed")  # politics
    response = client.get("/section/environment/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Glacier retreat measured" in html
    assert "Budget vote delayed" not in html
    assert client.get("/section/no-such-section/").status_code == 404


def test_unknown_page_gets_the_sites_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_500_page_is_standalone():
    html = get_template("500.html").render({})
    assert "Something went wrong" in html
    assert "{%" not in html


def test_a_database_that_is_down_answers_the_branded_503_which_no_cache_keeps(monkeypatch):
    """Check 67: an uncached page while the database is unavailable → the site's own 503 with
    Retry-After, marked no-store, and not kept by the page cache; other errors stay 500s."""
    ArticleFactory(headline="Glacier retreat measured")
    reader = Client(raise_request_exception=False)

    def unavailable(*args, **kwargs):
        raise OperationalError("connection refused")

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", unavailable)
        response = reader.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "We will be right back" in html
    assert "{%" not in html

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", broken)
        response = reader.get("/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()

    response = reader.get("/")
    assert response.status_code == 200
    assert "Glacier retreat measured" in response.content.decode()


def test_public_pages_set_no_cookie_and_do_not_vary_on_it(client):
    article = ArticleFactory()
    for path in ["/", article.get_absolute_url(), "/section/politics/"]:
        response = client.get(path)
        assert response.status_code == 200
        assert not response.cookies, path
        assert "Cookie" not in response.get("Vary", ""), path


def test_public_pages_carry_a_strict_content_security_policy(client):
    policy = client.get("/")["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "nonce-" not in policy


def test_public_pages_have_no_inline_script_or_style(client):
    html = client.get(ArticleFactory().get_absolute_url()).content.decode()
    assert "<script>" not in html and "<style" not in html and " style=" not in html


def test_every_page_that_depends_on_the_reader_says_private(client, member):
    """Security sweep, finding 4: a member's full-text page varied on the cookie but did not say
    `private`, so a shared cache that ignores Vary could hand it to the next reader."""
    story = ArticleFactory(visibility=Article.Visibility.MEMBERS, body="<p>For members.</p>")
    client.force_login(member)
    assert "For members." in client.get(story.get_absolute_url()).content.decode()
    for path in [story.get_absolute_url(), "/membership/account/", "/donate/", "/accounts/login/"]:
        response = client.get(path)
        assert response.status_code in (200, 302), path
        assert "Cookie" in response["Vary"], path
        assert "private" in response["Cache-Control"], path
        assert "public" not in response["Cache-Control"], path
    # Security check 52: nothing keeps a copy of a signed-in member's page.
    directives = {
        d.strip() for d in client.get(story.get_absolute_url())["Cache-Control"].split(",")
    }
    assert {"private", "no-store"} <= directives

    client.logout()
    for path in ["/", story.get_absolute_url()]:
        response = client.get(path)
        assert "private" not in response.get("Cache-Control", ""), path
        # Security check 52: the anonymous teaser may be shared, briefly, and served stale
        # while the site is down.
        directives = {d.strip().split("=")[0] for d in response["Cache-Control"].split(",")}
        assert {"public", "s-maxage", "stale-while-revalidate", "stale-if-error"} <= directives
