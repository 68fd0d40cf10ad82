"""Every reader page costs the same number of queries with 30 stories as with 300.

Measured uncached: the whole-page cache would answer a second request with none.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsroom.models import Region, Tag
from newsroom.page_cache import pages
from tests.factories import ArticleFactory, AuthorFactory, ImageFactory, SectionFactory

# Each page's most queries. Every HTML page has the chrome's three (the sections, the footer's
# pages, the fundraiser blocks) and the page cache's look-up of the next scheduled change
# (once per purge); a listing adds its stories, their bylines and whether more pages follow.
PAGES = {
    "/": 8,  # and the pinned stories
    "/section/politics/": 8,  # and the section
    "/region/georgia/": 8,
    "/tag/courts/": 8,
    "/author/nino-kapanadze/": 9,  # and the author's links
    "/search/?q=valley": 8,
    "/feed/": 5,
    "/section/politics/feed/atom/": 6,
    # Django's sitemaps count each part to paginate it.
    "/sitemap.xml": 13,
    "/sitemap-articles.xml": 4,
    "article": 11,
}


def add_stories(count, section, region, tag, author, image):
    for _ in range(count):
        story = ArticleFactory(section=section, hero_image=image, authors=[author])
        story.regions.add(region)
        story.tags.add(tag)
    return story


def queries(client, path):
    pages().clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200, path
    return [query["sql"] for query in captured]


@pytest.mark.parametrize("page", PAGES)
def test_query_count_does_not_grow_with_the_archive(db, client, page):
    filing = dict(
        section=SectionFactory(slug="politics", name="Politics"),
        region=Region.objects.create(slug="georgia", name="Georgia"),
        tag=Tag.objects.create(slug="courts", name="Courts"),
        author=AuthorFactory(slug="nino-kapanadze"),
        image=ImageFactory(),
    )
    story = add_stories(30, **filing)
    path = story.get_absolute_url() if page == "article" else page
    small = queries(client, path)
    add_stories(270, **filing)
    large = queries(client, path)

    assert len(large) == len(small), "\n".join(large)
    assert len(small) <= PAGES[page], "\n".join(small)
    if "sitemap" not in page:
        # Listings never count the stories (newsroom.pagination).
        counted = [sql for sql in small if "COUNT(" in sql.upper() and "newsroom_article" in sql]
        assert counted == []
