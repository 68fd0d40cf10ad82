from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsroom.models import Article
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

    Article.objects.filter(pk=article.pk).update(published_at=timezone.now())

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
    # the stories, their bylines, whether more pages follow, the pinned stories, the
    # navigation, the footer, the fundraiser blocks, and the page cache's next scheduled change
    assert len(small) <= 8


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
