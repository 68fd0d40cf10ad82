"""Every reader page costs the same number of queries with 30 stories as with 300.

Measured uncached: the whole-page cache would answer a second request with none.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsroom.models import Region, Tag
from tests.factories import ArticleFactory, AuthorFactory, ImageFactory, SectionFactory

PAGES = {
    # page: the most queries it may run
    "/": 7,
    "/?page=2": 7,
    "/section/politics/": 7,
    "/region/georgia/": 7,
    "/tag/courts/": 7,
    "/author/nino-kapanadze/": 8,
    "/search/?q=valley": 8,
    "/feed/": 4,
    "/section/politics/feed/atom/": 5,
    "/sitemap.xml": 2,
    "/sitemap-articles.xml": 3,
    "article": 11,
}


def add_stories(count, section, region, tag, author, image):
    for _ in range(count):
        story = ArticleFactory(section=section, hero_image=image, authors=[author])
        story.regions.add(region)
        story.tags.add(tag)
    return story


def queries(client, path):
    from django.core.cache import caches

    caches["pages"].clear() if "pages" in caches else None
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200, path
    return [query["sql"] for query in captured]


@pytest.mark.parametrize("page", PAGES)
def test_query_count_does_not_grow_with_the_archive(client, page):
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
    assert not any("COUNT(" in sql.upper() for sql in small if "newsroom_article" in sql)
