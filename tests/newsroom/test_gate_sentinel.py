"""The gate, tried on every channel a reader or a crawler has.

A unique string is written into the body of a members-only story and of an early-access story.
It must appear in no response that an anonymous reader, a registered non-member or a lapsed
member can get — the article page, every listing, search results (also when searching for the
string itself), RSS and Atom feeds, sitemaps, the page's metadata, a preview without a valid
token — while a member reads it on the page, and everyone reads the early-access story once it
is public.
"""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from newsroom.models import Article, Region, Tag
from tests.factories import ArticleFactory, AuthorFactory, SectionFactory
from tests.html import parse

MEMBERS_ONLY = "Xyzzymembersonlysentinel"
EARLY_ACCESS = "Plughearlyaccesssentinel"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def gated_stories(db):
    section = SectionFactory(slug="investigations", name="Investigations")
    region = Region.objects.create(slug="georgia", name="Georgia")
    tag = Tag.objects.create(slug="courts", name="Courts")
    author = AuthorFactory(slug="nino-kapanadze", name="Nino Kapanadze")
    stories = {}
    for visibility, sentinel in [
        (Article.Visibility.MEMBERS, MEMBERS_ONLY),
        (Article.Visibility.EARLY_ACCESS, EARLY_ACCESS),
    ]:
        story = ArticleFactory(
            headline=f"Contracts and courts, {visibility}",
            slug=f"contracts-and-courts-{visibility.replace('_', '-')}",
            standfirst="Who won the tenders, and who judged the appeals.",
            body=f"<p>The documents show {sentinel} signed every contract.</p>",
            section=section,
            visibility=visibility,
            public_from=timezone.now() + timedelta(days=2)
            if visibility == Article.Visibility.EARLY_ACCESS
            else None,
            authors=[author],
        )
        story.regions.add(region)
        story.tags.add(tag)
        stories[visibility] = story
    # A public story beside them, so that listings are not trivially empty of bodies.
    ArticleFactory(section=section, body="<p>An open story's text.</p>", authors=[author])
    return stories


def channels(client, stories):
    """Every address that could carry a story's text, with the sitemaps the index names."""
    paths = [story.get_absolute_url() for story in stories.values()]
    paths += [
        *("/", "/section/investigations/", "/region/georgia/", "/tag/courts/"),
        "/author/nino-kapanadze/",
        *(f"/search/?q={word}" for word in (MEMBERS_ONLY, EARLY_ACCESS, "contracts", "documents")),
        *("/feed/", "/feed/atom/"),
        *(f"/{kind}/{slug}/feed/" for kind, slug in FEED_PAGES),
        *(f"/{kind}/{slug}/feed/atom/" for kind, slug in FEED_PAGES),
        *("/sitemap.xml", "/sitemap-news.xml", "/robots.txt"),
        "/preview/not-a-valid-token/",
    ]
    index = ElementTree.fromstring(client.get("/sitemap.xml").content)
    paths += [loc.text.split("testserver", 1)[1] for loc in index.iter(f"{SITEMAP}loc")]
    return paths


FEED_PAGES = [
    ("section", "investigations"),
    ("region", "georgia"),
    ("tag", "courts"),
    ("author", "nino-kapanadze"),
]


def without_the_query(html):
    """A search page without the places that repeat what the reader typed (its title, the
    form, the results' heading, the pager's links): what remains came from the stories."""
    document = parse(html)
    for echo in document.select("title, form, .search-results__heading, .pagination"):
        echo.decompose()
    return str(document)


def leaks(client, paths):
    found = []
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        text = response.content.decode()
        if path.startswith("/search/"):
            text = without_the_query(text)
        found += [(path, s) for s in (MEMBERS_ONLY, EARLY_ACCESS) if s in text]
    return found


@pytest.mark.parametrize("persona", ["anonymous", "reader", "lapsed_member"])
def test_gated_text_reaches_no_one_who_may_not_read_it(client, request, gated_stories, persona):
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    paths = channels(client, gated_stories)
    assert len(paths) > 25
    assert leaks(client, paths) == []


def test_members_read_both_stories(client, member, gated_stories):
    client.force_login(member)
    for story, sentinel in zip(gated_stories.values(), [MEMBERS_ONLY, EARLY_ACCESS]):
        assert sentinel in client.get(story.get_absolute_url()).content.decode()


def test_everyone_reads_the_early_access_story_once_it_is_public(client, gated_stories):
    story = gated_stories[Article.Visibility.EARLY_ACCESS]
    Article.objects.filter(pk=story.pk).update(public_from=timezone.now() - timedelta(minutes=1))
    assert EARLY_ACCESS in client.get(story.get_absolute_url()).content.decode()
    assert EARLY_ACCESS in client.get("/feed/").content.decode()
    assert EARLY_ACCESS in client.get(f"/search/?q={EARLY_ACCESS}").content.decode()
    # The members-only story stays closed.
    found = leaks(client, channels(client, gated_stories))
    assert [path for path, sentinel in found if sentinel == MEMBERS_ONLY] == []
