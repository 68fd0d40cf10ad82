"""A region's, tag's or author's listing comes from its filings (newsroom.models.listings): every
path that changes a story, its links or its bylines keeps them, so the listing shows exactly
the published stories filed there, in order, and its page's ids come from the filings alone."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsroom.models import Article, ArticleAuthor, Filing, refile
from newsroom.page_cache import pages
from tests.factories import ArticleFactory, AuthorFactory, RegionFactory, TagFactory
from tests.html import parse, visible_text

pytestmark = pytest.mark.django_db


def headlines(client, path):
    # What the listing holds now: the page cache's own purges are tested elsewhere.
    pages().clear()
    response = client.get(path)
    assert response.status_code == 200, path
    return [visible_text(h) for h in parse(response).select("main .card__headline")]


@pytest.fixture
def subjects():
    return RegionFactory(slug="svaneti"), TagFactory(slug="dams"), AuthorFactory(slug="nino")


def listings(client, region, tag, author):
    return [
        headlines(client, f"/region/{region.slug}/"),
        headlines(client, f"/tag/{tag.slug}/"),
        headlines(client, f"/author/{author.slug}/"),
    ]


def test_a_story_is_listed_once_published_and_no_longer_once_taken_down(client, subjects):
    region, tag, author = subjects
    story = ArticleFactory(
        headline="The dam",
        status=Article.Status.DRAFT,
        regions=[region],
        tags=[tag],
        authors=[author],
    )
    assert listings(client, *subjects) == [[], [], []]

    story.status = Article.Status.PUBLISHED
    story.save()
    assert listings(client, *subjects) == [["The dam"]] * 3

    story.status = Article.Status.DRAFT
    story.save()
    assert listings(client, *subjects) == [[], [], []]


def test_a_scheduled_story_is_listed_when_its_time_comes(client, subjects, monkeypatch):
    region, tag, author = subjects
    ArticleFactory(
        headline="Tomorrow's story",
        published_at=timezone.now() + timedelta(days=1),
        regions=[region],
        tags=[tag],
        authors=[author],
    )
    assert listings(client, *subjects) == [[], [], []]

    later = timezone.now() + timedelta(days=1, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert listings(client, *subjects) == [["Tomorrow's story"]] * 3


def test_links_and_bylines_added_and_removed_move_the_story(client, subjects):
    region, tag, author = subjects
    story = ArticleFactory(headline="The dam", authors=[AuthorFactory()])
    assert listings(client, *subjects) == [[], [], []]

    story.regions.add(region)
    story.tags.set([tag])
    byline = ArticleAuthor.objects.create(article=story, author=author, position=1)
    assert listings(client, *subjects) == [["The dam"]] * 3

    story.regions.remove(region)
    story.tags.clear()
    byline.delete()
    assert listings(client, *subjects) == [[], [], []]


def test_a_story_in_another_language_is_listed_in_that_language(client, subjects):
    region, tag, author = subjects
    story = ArticleFactory(headline="The dam", regions=[region], tags=[tag], authors=[author])
    story.language = "ru"
    story.save()
    assert listings(client, *subjects) == [[], [], []]
    assert headlines(client, "/ru/tag/dams/") == ["The dam"]


def test_deleting_a_story_or_a_subject_deletes_its_filings(subjects):
    region, tag, author = subjects
    kept = ArticleFactory(regions=[region], tags=[tag], authors=[author])
    gone = ArticleFactory(regions=[region], tags=[tag], authors=[author])
    assert Filing.objects.filter(article=gone).count() == 3

    gone.delete()
    tag.delete()

    assert Filing.objects.filter(article=gone.pk).count() == 0
    assert set(Filing.objects.values_list("kind", flat=True)) == {"region", "author"}
    assert Filing.objects.filter(article=kept).count() == 2


def test_a_deep_page_is_in_the_stories_order_and_reads_its_ids_from_the_filings(client, subjects):
    region, tag, author = subjects
    at = timezone.now() - timedelta(days=30)
    # Two stories at the same time: the newer id comes first, as on every listing.
    for number in range(45):
        ArticleFactory(
            headline=f"Story {number:02}",
            published_at=at + timedelta(hours=number // 2),
            tags=[tag],
        )
    order = list(
        Article.objects.published()
        .filter(tags=tag)
        .order_by("-published_at", "-id")
        .values_list("headline", flat=True)
    )
    listed = [headlines(client, f"/tag/dams/?page={page}") for page in (1, 2, 3)]
    assert sum(listed, []) == order

    pages().clear()
    with CaptureQueriesContext(connection) as captured:
        client.get("/tag/dams/?page=3")
    ids_query = next(q["sql"] for q in captured if "newsroom_filing" in q["sql"])
    assert "newsroom_article_tags" not in ids_query
    assert '"newsroom_article"' not in ids_query.split(" FROM ")[1]


def test_refile_rebuilds_what_bulk_writes_skipped(client, subjects):
    region, tag, author = subjects
    story = ArticleFactory(headline="The dam")
    Article.tags.through.objects.bulk_create([Article.tags.through(article=story, tag=tag)])
    assert headlines(client, "/tag/dams/") == []

    call_command("refile", verbosity=0)

    assert headlines(client, "/tag/dams/") == ["The dam"]
    refile([story.pk])  # again: nothing twice
    assert Filing.objects.filter(article=story, kind="tag").count() == 1
