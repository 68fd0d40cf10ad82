"""Every reader page costs the same number of queries with 30 stories as with 300, and few.

What is counted: every SQL query on the default database while the test client requests the
page as an anonymous reader, from the middleware to the last byte, without the whole-page cache
(newsroom.page_cache): the page's own entry is deleted before the request, so the page is
rendered afresh, while the cache's generation, and with it the object caches
(newsroom.object_cache), stay. Two counts per page:

- **warm**, the figure the ceilings below hold (and `make bench` reports): the request after a
  first one, as for every reader once a page's objects are known. The object caches then hold
  the navigation's sections, the footer's pages, the fundraiser blocks that could show (with
  their goal progress), the page cache's next scheduled change, a listing's subject and ids, the
  home page's pinned stories, an article's row for anonymous readers (its body was rendered
  when the story was saved, newsroom.body) and what its page shows around the story (bylines,
  corrections, editions, regions and tags, related stories). What is left is the page's own
  stories: what a listing's cards' pictures depend on, its page's ids being kept in the object
  cache and its cards in each process (newsroom.pagination, newsroom.cards); a search's
  stories and their bylines.
- **cold**, the first request after a purge (anything saved): everything is read from the
  database once. It must not grow with the archive either.

The page cache and the object caches live in memory here (tests/settings.py); in production
they are Redis or, without it, the page cache is a database table whose read is one more query
per request (docs/deployment.md).
"""

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from newsroom.models import Article, CallToAction, Correction, Region, Tag
from newsroom.page_cache import page_key, pages
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    CallToActionFactory,
    CampaignFactory,
    ImageFactory,
    PageFactory,
    SectionFactory,
)
from tests.html import visible_text

Placement = CallToAction.Placement

ARTICLE_MAX = 3
LISTING_MAX = 4

# Each page: what kind of page it is, and its most queries (warm, cold).
PAGES = {
    # what the page's cards' pictures depend on (newsroom.cards: the cards and the page's ids
    # are kept); cold: the stories' ids (and whether more pages follow), the stories and their
    # bylines, the pinned stories and their bylines, the blocks, the sections, the footer, the
    # next scheduled change
    "/": ("listing", 1, 10),
    # as the home page; cold: the section comes with the navigation's sections
    "/section/politics/": ("listing", 1, 8),
    "/region/georgia/": ("listing", 1, 9),  # cold: and the region
    "/tag/courts/": ("listing", 1, 9),
    "/author/nino-kapanadze/": ("listing", 1, 10),  # cold: the author and their links
    # the stories' ids, the stories, their bylines (results are no cards); cold: as a section's
    "/search/?q=valley": ("listing", 3, 7),
    # the stories, their bylines and tags, the images of the figures in their bodies (a
    # feed's figures differ from the page's); cold: the next change (and the section)
    "/feed/": ("listing", 4, 5),
    "/section/politics/feed/atom/": ("listing", 4, 6),
    # warm: none (the story is kept for anonymous readers); cold: the story, its bylines,
    # corrections, editions, regions and tags, related stories, the blocks, the sections, the
    # footer, the next scheduled change
    "article": ("article", 0, 10),
    "members-only article": ("article", 0, 10),
    "/about/": ("page", 1, 5),  # the page; cold: the banner, sections, footer, next change
    # Django's sitemaps count each part to paginate it, and date each part.
    "/sitemap.xml": ("sitemap", 12, 13),
    "/sitemap-articles.xml": ("sitemap", 3, 4),
    "/sitemap-news.xml": ("sitemap", 2, 3),
}
CEILINGS = {"article": ARTICLE_MAX, "listing": LISTING_MAX}


@pytest.fixture
def newsroom(db):
    """A section, region, tag and author with stories filed under all of them, pictures in
    their heroes and bodies, corrections, a pinned lead story, a static page, and fundraiser
    blocks in every placement, one with a goal bar."""
    image = ImageFactory(rendered=True)
    campaign = CampaignFactory(goal="members", goal_members=100)
    for placement in Placement.values:
        CallToActionFactory(placement=placement, campaign=campaign, position=2)
    PageFactory(slug="about", title_en="About us")
    filing = dict(
        section=SectionFactory(slug="politics", name="Politics"),
        region=Region.objects.create(slug="georgia", name="Georgia"),
        tag=Tag.objects.create(slug="courts", name="Courts"),
        author=AuthorFactory(slug="nino-kapanadze"),
        image=image,
    )
    add_stories(1, **filing, home_placement=Article.HomePlacement.LEAD)
    return filing


def add_stories(count, section, region, tag, author, image, **fields):
    body = (
        "<p>The valley voted.</p>"
        f'<figure data-image-id="{image.pk}"><figcaption>Ballots</figcaption></figure>'
        "<p>Then it rained.</p><p>Then the count.</p>"
    )
    for _ in range(count):
        story = ArticleFactory(
            section=section, hero_image=image, authors=[author], body=body, **fields
        )
        story.regions.add(region)
        story.tags.add(tag)
        Correction.objects.create(article=story, text="An earlier version misspelt a name.")
    return story


def counts(client, path):
    """(warm, cold) queries of `path`, the cold request first (see the module's docstring)."""
    entry = page_key(RequestFactory().get(path))
    found = []
    for _ in range(2):
        pages().delete(entry)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200, path
        found.append([query["sql"] for query in captured])
    cold, warm = found
    return warm, cold


@pytest.mark.parametrize("page", PAGES)
def test_query_count_does_not_grow_with_the_archive(client, newsroom, page):
    story = add_stories(30, **newsroom)
    members = add_stories(1, **newsroom, visibility=Article.Visibility.MEMBERS)
    paths = {
        "article": story.get_absolute_url(),
        "members-only article": members.get_absolute_url(),
    }
    path = paths.get(page, page)
    small = counts(client, path)
    add_stories(270, **newsroom)
    large = counts(client, path)

    for kind, at_30, at_300 in [("warm", small[0], large[0]), ("cold", small[1], large[1])]:
        assert len(at_300) == len(at_30), (kind, "\n".join(at_300))
    kind, warm_max, cold_max = PAGES[page]
    assert len(small[0]) <= min(warm_max, CEILINGS.get(kind, warm_max)), "\n".join(small[0])
    assert len(small[1]) <= cold_max, "\n".join(small[1])
    if kind != "sitemap":
        # Listings never count the stories (newsroom.pagination).
        counted = [sql for sql in small[1] if "COUNT(" in sql.upper() and "newsroom_article" in sql]
        assert counted == []
    if kind == "listing" and "feed" not in page and "search" not in page:
        # Cards read neither a story's body nor the search columns (search quotes the body
        # of what the reader may read in full; feeds carry it).
        for sql in small[1]:
            selected = sql.split(" FROM ")[0]
            assert '"newsroom_article"."body"' not in selected, sql
            assert "search_document" not in selected, sql


def test_the_stories_are_on_the_pages_measured(client, newsroom):
    """The pages counted above are the real ones: stories, pictures, blocks and all."""
    story = add_stories(3, **newsroom)
    html = client.get(story.get_absolute_url()).content.decode()
    assert "Ballots. Image: Tamar Photographer." in visible_text(html)
    assert html.count('class="cta ') == 3  # banner, inline and end of story
    home = client.get("/").content.decode()
    assert story.headline in home and "<picture>" in home
