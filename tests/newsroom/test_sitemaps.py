"""Sitemaps and robots.txt, read as a search engine's crawler reads them."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsroom.models import Article, Correction, Page, Region, Tag
from newsroom.sitemaps import ArticleSitemap
from tests.factories import ArticleFactory, AuthorFactory, ImageFactory, SectionFactory

pytestmark = pytest.mark.django_db

ORIGIN = "http://testserver"
NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "xhtml": "http://www.w3.org/1999/xhtml",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
SENTINEL = "SENTINEL-5d1e9b-gated-body"


def read_xml(client, path, **params):
    response = client.get(path, params)
    assert response.status_code == 200, path
    assert response["Content-Type"] == "application/xml"
    return ET.fromstring(response.content)


def index_locations(client):
    root = read_xml(client, "/sitemap.xml")
    assert root.tag == f"{{{NS['sm']}}}sitemapindex"
    return [loc.text for loc in root.findall("sm:sitemap/sm:loc", NS)]


def urls(client, path, **params):
    """{location: {"lastmod": text, "alternates": {hreflang: href}}} of a sitemap."""
    root = read_xml(client, path, **params)
    assert root.tag == f"{{{NS['sm']}}}urlset"
    found = {}
    for url in root.findall("sm:url", NS):
        lastmod = url.find("sm:lastmod", NS)
        found[url.find("sm:loc", NS).text] = {
            "lastmod": lastmod.text if lastmod is not None else None,
            "alternates": {
                link.get("hreflang"): link.get("href")
                for link in url.findall("xhtml:link[@rel='alternate']", NS)
            },
        }
    return found


def test_index_lists_a_sitemap_for_each_kind_of_page(client):
    ArticleFactory()

    assert index_locations(client) == [
        f"{ORIGIN}/sitemap-{kind}.xml"
        for kind in ("articles", "sections", "regions", "tags", "authors", "pages")
    ]
    for location in index_locations(client):
        urls(client, location.removeprefix(ORIGIN))


def test_index_dates_the_articles_sitemap_by_the_latest_change(client):
    article = ArticleFactory()
    corrected_at = timezone.now() + timedelta(minutes=5)
    Correction.objects.create(article=article, text="Fixed.", created_at=corrected_at)

    root = read_xml(client, "/sitemap.xml")

    [articles] = [
        entry
        for entry in root.findall("sm:sitemap", NS)
        if entry.find("sm:loc", NS).text.endswith("/sitemap-articles.xml")
    ]
    lastmod = articles.find("sm:lastmod", NS).text
    assert lastmod.startswith(timezone.localtime(corrected_at).strftime("%Y-%m-%dT%H:%M:%S"))


def test_index_dates_each_listing_by_its_latest_story_and_the_pages_by_their_latest_edit(client):
    now = timezone.now()
    region = Region.objects.create(name="Georgia", slug="georgia")
    tag = Tag.objects.create(name="Water", slug="water")
    author = AuthorFactory()
    for days_ago in (9, 2):
        ArticleFactory(
            published_at=now - timedelta(days=days_ago),
            regions=[region],
            tags=[tag],
            authors=[author],
        )
    latest = now - timedelta(days=2)
    # a section's latest story may be in any language, and a section may have none
    culture = SectionFactory(slug="culture", name="Culture")
    SectionFactory(slug="empty", name="Nothing here yet")
    russian = ArticleFactory(
        section=culture, language="ru", published_at=now - timedelta(days=1), authors=[author]
    )
    # neither a story due tomorrow nor a draft dates anything yet
    ArticleFactory(published_at=now + timedelta(days=1), regions=[region], tags=[tag])
    ArticleFactory(status=Article.Status.DRAFT, published_at=None, regions=[region], tags=[tag])
    Page.objects.create(slug="about", title="About us", body="<p>Who we are.</p>")
    page = Page.objects.create(slug="contact", title="Contact", body="<p>Write to us.</p>")

    root = read_xml(client, "/sitemap.xml")

    lastmods = {
        entry.find("sm:loc", NS).text.removeprefix(f"{ORIGIN}/sitemap-"): entry.find(
            "sm:lastmod", NS
        ).text
        for entry in root.findall("sm:sitemap", NS)
    }
    for kind, when in [
        ("regions", latest),
        ("tags", latest),
        ("authors", russian.published_at),
        ("sections", russian.published_at),
    ]:
        assert lastmods[f"{kind}.xml"].startswith(
            timezone.localtime(when).strftime("%Y-%m-%dT%H:%M:%S")
        ), kind
    sections = urls(client, "/sitemap-sections.xml")
    assert {location.removeprefix(ORIGIN) for location in sections} == {
        "/section/politics/",
        "/ru/section/politics/",
        "/section/culture/",
        "/ru/section/culture/",
    }
    assert sections[f"{ORIGIN}/section/culture/"]["lastmod"] == (
        timezone.localdate(russian.published_at).isoformat()
    )
    assert lastmods["pages.xml"].startswith(
        timezone.localtime(page.updated_at).strftime("%Y-%m-%dT%H:%M:%S")
    )


def test_articles_sitemap_lists_published_stories_gated_ones_included(client):
    public = ArticleFactory()
    members = ArticleFactory(visibility=Article.Visibility.MEMBERS, body=f"<p>{SENTINEL}</p>")
    early = ArticleFactory(
        visibility=Article.Visibility.EARLY_ACCESS,
        public_from=timezone.now() + timedelta(days=3),
        body=f"<p>{SENTINEL}</p>",
    )
    ArticleFactory(slug="draft", status=Article.Status.DRAFT, published_at=None)
    ArticleFactory(slug="scheduled", published_at=timezone.now() + timedelta(hours=2))

    found = urls(client, "/sitemap-articles.xml")

    assert set(found) == {ORIGIN + a.get_absolute_url() for a in (public, members, early)}
    assert found[ORIGIN + public.get_absolute_url()]["lastmod"] == (
        timezone.localdate(public.updated_at).isoformat()
    )
    assert SENTINEL.encode() not in client.get("/sitemap-articles.xml").content


def test_editions_of_a_story_are_each_others_alternates(client):
    original = ArticleFactory(slug="dam-dispute", language="en")
    translation = ArticleFactory(slug="spor", language="ru", translation_of=original)
    alone = ArticleFactory(slug="alone", language="en")
    # An unpublished translation is nobody's alternate.
    ArticleFactory(
        slug="chernovik",
        language="ru",
        translation_of=alone,
        status=Article.Status.DRAFT,
        published_at=None,
    )

    found = urls(client, "/sitemap-articles.xml")

    editions = {
        "en": ORIGIN + original.get_absolute_url(),
        "ru": ORIGIN + translation.get_absolute_url(),
        "x-default": ORIGIN + original.get_absolute_url(),
    }
    assert editions["ru"].startswith(f"{ORIGIN}/ru/")
    assert found[editions["en"]]["alternates"] == editions
    assert found[editions["ru"]]["alternates"] == editions
    assert found[ORIGIN + alone.get_absolute_url()]["alternates"] == {}


def test_articles_sitemap_is_paginated_with_alternates_across_pages(client, monkeypatch):
    monkeypatch.setattr(ArticleSitemap, "limit", 2)
    original = ArticleFactory(slug="original", language="en")
    ArticleFactory.create_batch(3)
    translation = ArticleFactory(slug="perevod", language="ru", translation_of=original)

    assert [loc for loc in index_locations(client) if "articles" in loc] == [
        f"{ORIGIN}/sitemap-articles.xml",
        f"{ORIGIN}/sitemap-articles.xml?p=2",
        f"{ORIGIN}/sitemap-articles.xml?p=3",
    ]
    pages = [urls(client, "/sitemap-articles.xml", p=page) for page in (1, 2, 3)]
    assert [len(page) for page in pages] == [2, 2, 1]
    first, last = pages[0], pages[2]
    original_url = ORIGIN + original.get_absolute_url()
    translation_url = ORIGIN + translation.get_absolute_url()
    assert first[original_url]["alternates"]["ru"] == translation_url
    assert last[translation_url]["alternates"]["x-default"] == original_url


def test_each_file_holds_the_next_published_stories_by_id_past_drafts_and_deleted_ones(
    client, monkeypatch
):
    monkeypatch.setattr(ArticleSitemap, "limit", 3)
    stories = []
    for number in range(8):
        stories.append(ArticleFactory(slug=f"story-{number}"))
        ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    stories.pop(4).delete()
    ArticleFactory(slug="scheduled", published_at=timezone.now() + timedelta(hours=1))

    files = [list(urls(client, "/sitemap-articles.xml", p=page)) for page in (1, 2, 3)]

    assert files == [
        [ORIGIN + story.get_absolute_url() for story in stories[start : start + 3]]
        for start in (0, 3, 6)
    ]
    assert client.get("/sitemap-articles.xml", {"p": 4}).status_code == 404


@pytest.mark.parametrize("page", ["0", "-1", "abc", "4", "99999999999999999999"])
def test_articles_sitemap_page_out_of_range_is_not_found(client, monkeypatch, page):
    monkeypatch.setattr(ArticleSitemap, "limit", 2)
    ArticleFactory.create_batch(5)

    assert client.get("/sitemap-articles.xml", {"p": page}).status_code == 404


@pytest.mark.parametrize("path", ["/sitemap-nothing.xml", "/sitemap-.xml", "/ru/sitemap.xml"])
def test_unknown_sitemap_is_not_found(client, path):
    assert client.get(path).status_code == 404


def test_listing_sitemaps_list_pages_with_stories_in_every_language(client):
    section = SectionFactory(slug="politics", name="Politics")
    SectionFactory(slug="empty", name="Nothing here yet")
    region = Region.objects.create(name="Georgia", slug="georgia")
    tag = Tag.objects.create(name="Water", slug="water")
    Tag.objects.create(name="Only in drafts", slug="drafts")
    author = AuthorFactory(slug="nino")
    AuthorFactory(slug="not-yet-published")
    article = ArticleFactory(section=section, authors=[author])
    article.regions.add(region)
    article.tags.add(tag)
    draft = ArticleFactory(slug="draft", status=Article.Status.DRAFT, published_at=None)
    draft.tags.add(Tag.objects.get(slug="drafts"))

    for kind, slug in [
        ("sections", "section/politics"),
        ("regions", "region/georgia"),
        ("tags", "tag/water"),
        ("authors", "author/nino"),
    ]:
        found = urls(client, f"/sitemap-{kind}.xml")
        english, russian = f"{ORIGIN}/{slug}/", f"{ORIGIN}/ru/{slug}/"
        assert set(found) == {english, russian}, kind
        alternates = {"en": english, "ru": russian, "x-default": english}
        assert found[english]["alternates"] == found[russian]["alternates"] == alternates
        assert found[english]["lastmod"] == timezone.localdate(article.published_at).isoformat()
        assert client.get(russian.removeprefix(ORIGIN)).status_code == 200


def test_static_pages_sitemap_lists_each_page_in_every_language(client):
    page = Page.objects.create(slug="about", title="About us", body="<p>Who we are.</p>")

    found = urls(client, "/sitemap-pages.xml")

    english, russian = f"{ORIGIN}/about/", f"{ORIGIN}/ru/about/"
    assert set(found) == {english, russian}
    assert found[russian]["alternates"] == {"en": english, "ru": russian, "x-default": english}
    assert found[english]["lastmod"] == timezone.localdate(page.updated_at).isoformat()


def test_news_sitemap_lists_the_last_two_days_stories(client):
    now = timezone.now()
    recent = ArticleFactory(
        headline="Dam dispute: what & why", published_at=now - timedelta(hours=3)
    )
    russian = ArticleFactory(
        headline="Спор о плотине", slug="spor", language="ru", published_at=now - timedelta(days=1)
    )
    ArticleFactory(headline="Last week's story", published_at=now - timedelta(days=3))
    ArticleFactory(headline="Scheduled story", published_at=now + timedelta(hours=1))
    ArticleFactory(headline="Draft story", status=Article.Status.DRAFT, published_at=None)

    root = read_xml(client, "/sitemap-news.xml")

    assert root.tag == f"{{{NS['sm']}}}urlset"
    entries = [
        {
            "loc": url.find("sm:loc", NS).text,
            "name": url.find("news:news/news:publication/news:name", NS).text,
            "language": url.find("news:news/news:publication/news:language", NS).text,
            "date": url.find("news:news/news:publication_date", NS).text,
            "title": url.find("news:news/news:title", NS).text,
        }
        for url in root.findall("sm:url", NS)
    ]
    assert [entry["title"] for entry in entries] == ["Dam dispute: what & why", "Спор о плотине"]
    assert entries[0]["loc"] == ORIGIN + recent.get_absolute_url()
    assert entries[1]["loc"] == ORIGIN + russian.get_absolute_url()
    assert [entry["language"] for entry in entries] == ["en", "ru"]
    assert {entry["name"] for entry in entries} == {"The Highland Courier"}
    published = timezone.datetime.fromisoformat(entries[0]["date"])
    assert published == recent.published_at


def test_robots_txt_names_the_sitemaps_at_absolute_addresses(client, member):
    response = client.get("/robots.txt")

    lines = response.content.decode().splitlines()
    assert f"Sitemap: {ORIGIN}/sitemap.xml" in lines
    assert f"Sitemap: {ORIGIN}/sitemap-news.xml" in lines
    assert client.get("/sitemap.xml").status_code == 200
    assert client.get("/sitemap-news.xml").status_code == 200
    client.force_login(member)
    assert client.get("/robots.txt").content == response.content


@pytest.mark.parametrize("path", ["/sitemap.xml", "/sitemap-articles.xml"])
def test_sitemap_query_count_does_not_grow_with_the_archive(client, path):
    image = ImageFactory()
    authors = [AuthorFactory(), AuthorFactory()]
    region = Region.objects.create(name="Georgia", slug="georgia")

    def add(count):
        for _ in range(count):
            original = ArticleFactory(hero_image=image, authors=authors)
            original.regions.add(region)
            ArticleFactory(
                hero_image=image, authors=authors, language="ru", translation_of=original
            )

    add(15)
    with CaptureQueriesContext(connection) as small:
        read_xml(client, path)
    add(135)
    with CaptureQueriesContext(connection) as large:
        read_xml(client, path)

    assert len(large) == len(small)
    # the index: the stories' count and date, and each other part's rows (counted and dated
    # from the same rows); a part: its count, its items, their editions; and the page cache's
    # next scheduled change
    assert len(small) <= (8 if path == "/sitemap.xml" else 4)


def test_no_sitemap_carries_a_gated_body(client):
    ArticleFactory(visibility=Article.Visibility.MEMBERS, body=f"<p>{SENTINEL}</p>")
    ArticleFactory(
        visibility=Article.Visibility.EARLY_ACCESS,
        public_from=timezone.now() + timedelta(days=3),
        body=f"<p>{SENTINEL}</p>",
    )

    paths = ["/sitemap.xml", "/sitemap-news.xml"]
    paths += [location.removeprefix(ORIGIN) for location in index_locations(client)]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert SENTINEL.encode() not in response.content, path


@pytest.mark.parametrize(
    "path", ["/sitemap.xml", "/sitemap-articles.xml", "/sitemap-tags.xml", "/sitemap-news.xml"]
)
def test_sitemaps_are_the_same_whatever_the_browsers_language(client, path):
    # They live outside the language prefixes, where the browser's language picks the active
    # one; what they say must not follow it.
    original = ArticleFactory(slug="dam", language="en")
    ArticleFactory(slug="plotina", language="ru", translation_of=original)
    original.tags.add(Tag.objects.create(name="Water", slug="water"))

    english = client.get(path, headers={"accept-language": "en"}).content
    russian = client.get(path, headers={"accept-language": "ru"}).content

    assert english == russian
