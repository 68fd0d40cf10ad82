import time
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsroom.models import Article
from tests.admin_forms import change_url, form_data, post_change
from tests.factories import ArticleFactory, AuthorFactory, ImageFactory
from tests.html import parse, visible_text

pytestmark = pytest.mark.django_db


def test_home_lists_published_articles_with_card_details(client):
    authors = [AuthorFactory(name="Nino Beridze"), AuthorFactory(name="Arman Petrosyan")]
    article = ArticleFactory(
        hero_image=ImageFactory(rendered=True),
        headline="Water rights dispute reaches the high court",
        standfirst="Farmers say the dam has halved their harvest.",
        authors=authors,
    )

    response = client.get("/")

    html = response.content.decode()
    text = visible_text(response)
    assert response.status_code == 200
    assert "Water rights dispute reaches the high court" in text
    assert "Farmers say the dam has halved their harvest." in text
    assert "By Nino Beridze and Arman Petrosyan" in text
    assert article.get_absolute_url() in html
    assert article.hero_image.file.card640 in html
    [shown] = [time["datetime"] for time in parse(response).find_all("time")]
    assert datetime.fromisoformat(shown) == article.published_at.replace(microsecond=0)


def test_drafts_reviews_and_scheduled_stories_are_not_listed(client):
    ArticleFactory(headline="Published story")
    ArticleFactory(headline="Draft story", status=Article.Status.DRAFT, published_at=None)
    ArticleFactory(headline="Story in review", status=Article.Status.REVIEW, published_at=None)
    ArticleFactory(headline="Scheduled story", published_at=timezone.now() + timedelta(hours=2))

    html = client.get("/").content.decode()

    assert "Published story" in html
    assert "Draft story" not in html
    assert "Story in review" not in html
    assert "Scheduled story" not in html


def test_scheduled_story_appears_when_its_time_comes(client):
    article = ArticleFactory(
        headline="Morning briefing", published_at=timezone.now() + timedelta(seconds=1)
    )
    assert "Morning briefing" not in client.get("/").content.decode()
    assert "Morning briefing" not in client.get("/").content.decode()

    # The time comes (what pages keep is retired then: newsroom.page_cache.site_version).
    time.sleep(max((article.published_at - timezone.now()).total_seconds(), 0) + 0.05)

    assert "Morning briefing" in client.get("/").content.decode()


def test_home_says_so_when_nothing_is_published(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No stories have been published yet." in response.content.decode()


def test_home_query_count_does_not_grow_with_the_archive(client):
    image = ImageFactory()
    authors = [AuthorFactory(), AuthorFactory()]
    for _ in range(30):
        ArticleFactory(hero_image=image, authors=authors)
    with CaptureQueriesContext(connection) as small:
        assert client.get("/").status_code == 200

    for _ in range(270):
        ArticleFactory(hero_image=image, authors=authors)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/").status_code == 200

    assert len(large) == len(small)
    # the stories' ids and whether more pages follow, what their cards' pictures depend on, the
    # stories and their bylines (no card is kept yet), the pinned stories, the navigation, the
    # footer, the fundraiser blocks, and the page cache's next scheduled change
    assert len(small) <= 9


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99", "1e3", "%00"])
def test_bad_page_numbers_are_not_found(client, page):
    ArticleFactory()
    assert client.get("/", {"page": page}).status_code == 404


def test_second_page_lists_older_stories(client):
    image = ImageFactory()
    now = timezone.now()
    for n in range(25):
        ArticleFactory(
            headline=f"Archive story {n:02d}",
            hero_image=image,
            published_at=now - timedelta(days=n + 1),
        )

    first = client.get("/").content.decode()
    second = client.get("/", {"page": 2}).content.decode()

    assert "Archive story 00" in first and "Archive story 24" not in first
    assert "Archive story 24" in second and "Archive story 00" not in second


# Curation: the lead and featured stories editors pin per language (Article.home_placement).

LEAD, FEATURED = Article.HomePlacement.LEAD, Article.HomePlacement.FEATURED


def home_cards(response):
    """The home page's cards in order: (headline, "lead" or "card", pinned or not)."""
    page = parse(response)
    pinned = page.select(".cards--pinned article.card")
    return [
        (
            visible_text(card.select_one(".card__headline")),
            "lead" if "card--lead" in card["class"] else "card",
            card in pinned,
        )
        for card in page.select("main article.card")
    ]


def dated(headline, hours_ago, **fields):
    return ArticleFactory(
        headline=headline, published_at=timezone.now() - timedelta(hours=hours_ago), **fields
    )


def test_pinned_lead_and_featured_stories_come_first_and_are_not_repeated(client):
    dated("Newest", 1)
    dated("Pinned lead", 50, home_placement=LEAD)
    dated("Featured one", 30, home_placement=FEATURED)
    dated("Featured two", 40, home_placement=FEATURED)
    dated("Older", 60)

    assert home_cards(client.get("/")) == [
        ("Pinned lead", "lead", True),
        ("Featured one", "card", True),
        ("Featured two", "card", True),
        ("Newest", "card", False),
        ("Older", "card", False),
    ]


def test_without_a_pinned_lead_the_latest_story_leads_the_featured_ones(client):
    dated("Newest", 1)
    dated("Featured", 30, home_placement=FEATURED)
    dated("Older", 60)

    assert home_cards(client.get("/")) == [
        ("Newest", "lead", True),
        ("Featured", "card", True),
        ("Older", "card", False),
    ]


def test_pinned_stories_that_are_not_out_are_shown_nowhere(client):
    dated("Live story", 1)
    ArticleFactory(
        headline="Scheduled lead",
        home_placement=LEAD,
        published_at=timezone.now() + timedelta(hours=3),
    )
    ArticleFactory(
        headline="Draft featured",
        home_placement=FEATURED,
        status=Article.Status.DRAFT,
        published_at=None,
    )

    assert home_cards(client.get("/")) == [("Live story", "lead", False)]


def test_pins_are_per_language(client):
    dated("English lead", 1, home_placement=LEAD)
    dated("Русская главная", 2, home_placement=LEAD, language="ru", slug="glavnaya")
    dated("English story", 3)

    assert home_cards(client.get("/")) == [
        ("English lead", "lead", True),
        ("English story", "card", False),
    ]
    assert home_cards(client.get("/ru/")) == [("Русская главная", "lead", True)]


def test_pinned_stories_are_on_the_first_page_only(client):
    image = ImageFactory()
    dated("Pinned lead", 1, home_placement=LEAD, hero_image=image)
    for n in range(25):
        dated(f"Story {n:02d}", n + 2, hero_image=image)

    first = home_cards(client.get("/"))
    second = home_cards(client.get("/", {"page": 2}))

    assert first[0] == ("Pinned lead", "lead", True)
    assert len(first) == 21  # the lead, then twenty stories by date
    assert [headline for headline, _kind, _pinned in second] == [
        f"Story {n:02d}" for n in range(20, 25)
    ]


def test_home_query_count_with_pinned_stories_does_not_grow_with_the_archive(client):
    image = ImageFactory()
    ArticleFactory(hero_image=image, home_placement=LEAD)
    for _ in range(4):
        ArticleFactory(hero_image=image, home_placement=FEATURED)
    for _ in range(30):
        ArticleFactory(hero_image=image)
    with CaptureQueriesContext(connection) as small:
        assert client.get("/").status_code == 200
    for _ in range(270):
        ArticleFactory(hero_image=image)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/").status_code == 200

    assert len(large) == len(small)
    # as without pins, and the pinned stories' bylines
    assert len(small) <= 10


# Pinning in the admin.


def test_editor_pins_a_lead_story_in_the_admin(client, editor):
    article = dated("Dam report", 30)
    dated("Newer story", 1)
    client.force_login(editor)

    response = post_change(client, article, home_placement="lead")

    assert response.status_code == 302
    assert home_cards(client.get("/"))[0] == ("Dam report", "lead", True)


def test_a_second_lead_replaces_the_first(client, editor):
    first = dated("First lead", 2, home_placement=LEAD)
    second = dated("Second lead", 3)
    client.force_login(editor)

    assert post_change(client, second, home_placement="lead").status_code == 302

    first.refresh_from_db()
    assert first.home_placement == ""
    assert home_cards(client.get("/")) == [
        ("Second lead", "lead", True),
        ("First lead", "card", False),
    ]


def test_a_fifth_featured_story_is_refused_with_a_form_error(client, editor):
    for n in range(4):
        dated(f"Featured {n}", n + 1, home_placement=FEATURED)
    article = dated("One too many", 10)
    client.force_login(editor)

    response = post_change(client, article, home_placement="featured")

    assert response.status_code == 200
    errors = visible_text(parse(response).select_one(".field-home_placement .errorlist"))
    assert "already features 4 stories in this language" in errors
    assert "“Featured 0”" in errors
    article.refresh_from_db()
    assert article.home_placement == ""


def test_the_other_languages_featured_stories_do_not_count(client, editor):
    for n in range(4):
        dated(f"Избранное {n}", n + 1, home_placement=FEATURED, language="ru", slug=f"ru-{n}")
    article = dated("English feature", 10)
    client.force_login(editor)

    assert post_change(client, article, home_placement="featured").status_code == 302
    article.refresh_from_db()
    assert article.home_placement == FEATURED


def test_contributors_cannot_pin_stories(client, contributor):
    article = ArticleFactory(created_by=contributor, status=Article.Status.DRAFT, published_at=None)
    client.force_login(contributor)

    page = client.get(change_url(article))
    response = post_change(client, article, home_placement="lead")

    assert "home_placement" not in form_data(page)
    assert visible_text(parse(page).select_one(".field-home_placement")).endswith("By date")
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.home_placement == ""
