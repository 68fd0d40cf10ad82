from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from pytest_django.asserts import assertInHTML

from newsroom.models import Article, Image
from tests.factories import ArticleFactory, AuthorFactory, ImageFactory
from tests.html import parse, visible_text

pytestmark = pytest.mark.django_db


def figures(response):
    """Each <figure>: its <img>'s attributes and its caption as a reader sees it (None when it
    has no <figcaption>)."""
    return [
        {
            "img": dict(figure.img.attrs) if figure.img else None,
            "caption": visible_text(figure.figcaption) if figure.figcaption else None,
        }
        for figure in parse(response).find_all("figure")
    ]


def test_article_page_shows_story_with_captioned_hero(client):
    article = ArticleFactory(
        headline="Border crossing reopens after three weeks",
        standfirst="Traders queue through the night.",
        hero_caption="Lorries wait at the crossing at dawn",
        hero_image=ImageFactory(
            alt="A queue of lorries on a mountain road", credit="Ani Vardanyan"
        ),
        authors=[AuthorFactory(name="Giorgi Kapanadze")],
        body="<h2>A long wait</h2><p>Drivers said they had waited for days.</p>",
    )

    response = client.get(article.get_absolute_url())

    assert response.status_code == 200
    page = parse(response)
    assert visible_text(page.h1) == "Border crossing reopens after three weeks"
    assert "Traders queue through the night." in visible_text(page)
    assert "By Giorgi Kapanadze" in visible_text(page)
    assertInHTML("<h2>A long wait</h2>", response.content.decode())
    [hero] = figures(response)
    assert hero["img"]["alt"] == "A queue of lorries on a mountain road"
    assert hero["img"]["width"] and hero["img"]["height"]
    assert hero["caption"] == "Lorries wait at the crossing at dawn. Image: Ani Vardanyan."


@pytest.mark.parametrize(
    ("caption", "credit", "expected"),
    [
        ("Caption", "Credit", "Caption. Image: Credit."),
        ("Caption ends here.", "Credit", "Caption ends here. Image: Credit."),
        ("Caption", "", "Caption."),
        ("", "Credit", "Image: Credit."),
        ("", "", None),
    ],
)
def test_figcaption_prints_only_the_parts_that_exist(client, caption, credit, expected):
    image = ImageFactory(credit="Credit")
    article = ArticleFactory(hero_caption=caption, hero_image=image)
    # The library may lose a credit after the story went out; the page still says what it can.
    Image.objects.filter(pk=image.pk).update(credit=credit)

    [hero] = figures(client.get(article.get_absolute_url()))

    assert hero["caption"] == expected


def test_publication_time_is_shown_in_the_newsrooms_time_zone(client, settings):
    article = ArticleFactory(published_at=datetime(2026, 3, 31, 21, 30, tzinfo=UTC))

    response = client.get(article.get_absolute_url())

    # 21:30 UTC on 31 March is 01:30 on 1 April in Tbilisi (UTC+4), so the URL says April too.
    assert settings.TIME_ZONE == "Asia/Tbilisi"
    assert article.get_absolute_url().startswith("/2026/04/")
    assert "1 April 2026, 01:30" in visible_text(response)
    assert 'datetime="2026-04-01T01:30:00+0400"' in response.content.decode()


def test_article_body_never_carries_script(client):
    article = ArticleFactory(
        body='<p onclick="alert(1)">Text</p><script>alert(2)</script>'
        '<a href="javascript:alert(3)">link</a><img src=x onerror=alert(4)>'
    )
    html = client.get(article.get_absolute_url()).content.decode()
    assert "alert" not in html


@pytest.mark.parametrize("status", [Article.Status.DRAFT, Article.Status.REVIEW])
def test_unpublished_stories_are_not_found_by_readers(client, reader, status):
    article = ArticleFactory(status=status, published_at=None)
    assert client.get(article.get_absolute_url()).status_code == 404
    client.force_login(reader)
    assert client.get(article.get_absolute_url()).status_code == 404


def test_future_dated_story_is_not_found_until_its_time(client):
    article = ArticleFactory(published_at=timezone.now() + timedelta(days=1))
    assert client.get(article.get_absolute_url()).status_code == 404


def test_staff_preview_drafts_with_a_clear_banner(client, editor):
    article = ArticleFactory(
        headline="Unfinished story", status=Article.Status.DRAFT, published_at=None
    )
    client.force_login(editor)

    response = client.get(article.get_absolute_url())

    assert response.status_code == 200
    assert "Preview — not published" in visible_text(response)


def test_wrong_month_in_url_redirects_permanently_to_the_article(client):
    article = ArticleFactory(published_at=datetime(2025, 6, 10, 12, tzinfo=UTC))
    wrong = article.get_absolute_url().replace("/2025/06/", "/2024/01/")

    response = client.get(wrong)

    assert response.status_code == 301
    assert response["Location"] == article.get_absolute_url()


@pytest.mark.parametrize(
    "path", ["/2025/13/some-story/", "/99/01/some-story/", "/2025/06/no-such-story/"]
)
def test_malformed_or_unknown_article_urls_are_not_found(client, path):
    assert client.get(path).status_code == 404


def test_a_russian_edition_lives_under_ru_and_its_slug_may_be_cyrillic(client):
    article = ArticleFactory(
        language="ru", slug="выборы-в-тбилиси", headline="Выборы в Тбилиси", section__slug="p"
    )

    url = article.get_absolute_url()
    response = client.get(url)

    assert url.startswith("/ru/")
    assert response.status_code == 200
    assert "Выборы в Тбилиси" in visible_text(response)
    assert client.get(url.removeprefix("/ru")).status_code == 404


def test_contributors_preview_their_own_drafts_but_not_other_peoples(
    client, contributor, other_contributor
):
    own = ArticleFactory(status=Article.Status.DRAFT, published_at=None, created_by=contributor)
    theirs = ArticleFactory(
        status=Article.Status.DRAFT, published_at=None, created_by=other_contributor
    )
    client.force_login(contributor)

    assert client.get(own.get_absolute_url()).status_code == 200
    assert client.get(theirs.get_absolute_url()).status_code == 404
