"""RSS and Atom feeds: the whole site's and each section's, region's, tag's and author's, in
each language, read as a feed reader (an anonymous reader) reads them."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import feedparser
import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsroom.models import Article, Correction, Region, Tag
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    CallToActionFactory,
    ImageFactory,
    SectionFactory,
    jpeg_bytes,
)
from tests.html import parse

pytestmark = pytest.mark.django_db

SENTINEL = "SENTINEL-7f3c2a-gated-body"
ORIGIN = "http://testserver"

# Every feed of a story filed under section "politics", region "georgia", tag "water", by the
# author "nino".
FEEDS_OF_A_STORY = [
    "/feed/",
    "/feed/atom/",
    "/section/politics/feed/",
    "/section/politics/feed/atom/",
    "/region/georgia/feed/",
    "/region/georgia/feed/atom/",
    "/tag/water/feed/",
    "/tag/water/feed/atom/",
    "/author/nino/feed/",
    "/author/nino/feed/atom/",
]


@pytest.fixture
def filing():
    """Where the stories of FEEDS_OF_A_STORY are filed: (section, region, tag, author)."""
    return (
        SectionFactory(slug="politics", name="Politics"),
        Region.objects.create(name="Georgia", slug="georgia"),
        Tag.objects.create(name="Water", slug="water"),
        AuthorFactory(name="Nino Beridze", slug="nino"),
    )


def filed_story(filing, **fields):
    section, region, tag, author = filing
    article = ArticleFactory(section=section, authors=[author], **fields)
    article.regions.add(region)
    article.tags.add(tag)
    return article


def jpeg_file(width):
    return ContentFile(jpeg_bytes(width, width * 2 // 3), name="large.jpg")


def read_feed(client, path):
    """The feed at `path` as feedparser reads it, after checking it is well-formed."""
    response = client.get(path)
    assert response.status_code == 200, path
    feed = feedparser.parse(response.content)
    assert not feed.bozo, (path, feed.get("bozo_exception"))
    return feed


def test_site_feed_is_rss_of_the_latest_published_stories(client):
    now = timezone.now()
    author = AuthorFactory(name="Nino Beridze")
    older = ArticleFactory(
        headline="Older story", published_at=now - timedelta(days=2), authors=[author]
    )
    newer = ArticleFactory(
        headline="Water rights dispute reaches the high court",
        standfirst="Farmers say the dam has halved their harvest.",
        body="<p>The court will hear the case in spring.</p>",
        published_at=now - timedelta(hours=1),
        authors=[author, AuthorFactory(name="Arman Petrosyan")],
    )
    newer.tags.add(Tag.objects.create(name="Water", slug="water"))
    ArticleFactory(headline="Draft story", status=Article.Status.DRAFT, published_at=None)
    ArticleFactory(headline="Scheduled story", published_at=now + timedelta(hours=2))

    feed = read_feed(client, "/feed/")

    assert feed.version == "rss20"
    assert feed.feed.title == "The Highland Courier"
    assert feed.feed.link == f"{ORIGIN}/"
    assert feed.feed.language == "en"
    assert [entry.title for entry in feed.entries] == [
        "Water rights dispute reaches the high court",
        "Older story",
    ]
    entry = feed.entries[0]
    assert entry.link == ORIGIN + newer.get_absolute_url()
    assert entry.author == "Nino Beridze and Arman Petrosyan"
    assert [tag.term for tag in entry.tags] == ["Politics", "Water"]
    assert "Farmers say the dam has halved their harvest." in entry.summary
    assert "The court will hear the case in spring." in entry.summary
    assert entry.published_parsed[:6] == newer.published_at.utctimetuple()[:6]
    assert feed.entries[1].link == ORIGIN + older.get_absolute_url()


def test_atom_feed_has_the_same_stories_with_their_update_times(client):
    article = ArticleFactory(headline="Court hears the water case")
    Article.objects.filter(pk=article.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    corrected_at = timezone.now().replace(microsecond=0)
    Correction.objects.create(article=article, text="A name was misspelt.", created_at=corrected_at)

    feed = read_feed(client, "/feed/atom/")

    assert feed.version == "atom10"
    [entry] = feed.entries
    assert entry.title == "Court hears the water case"
    assert entry.link == ORIGIN + article.get_absolute_url()
    # The correction is the latest change of the story.
    assert entry.updated_parsed[:6] == corrected_at.utctimetuple()[:6]
    assert feed.feed.author == "The Highland Courier"


def test_headline_with_markup_characters_reads_as_written(client):
    ArticleFactory(headline="Q&A: who owns the <river>?")

    for path in ("/feed/", "/feed/atom/"):
        [entry] = read_feed(client, path).entries
        if entry.title_detail.type == "text/html":
            shown = parse(entry.title).get_text()
        else:
            shown = entry.title
        assert shown == "Q&A: who owns the <river>?", path


def test_feed_lists_the_latest_twenty_stories(client):
    image = ImageFactory()
    now = timezone.now()
    for n in range(25):
        ArticleFactory(
            headline=f"Story {n:02d}", hero_image=image, published_at=now - timedelta(hours=n + 1)
        )

    feed = read_feed(client, "/feed/")

    assert [entry.title for entry in feed.entries] == [f"Story {n:02d}" for n in range(20)]


def test_figures_in_the_full_text_are_plain_images_at_absolute_addresses(client):
    image = ImageFactory(rendered=True, alt="Dam at dawn", credit="Tamar Photographer")
    ArticleFactory(
        body=(
            "<p>Before the figure.</p>"
            f'<figure data-image-id="{image.pk}"><figcaption>The dam</figcaption></figure>'
        )
    )

    # The raw XML: feedparser would resolve relative addresses itself.
    for path, item_text in [
        ("/feed/", "channel/item/description"),
        ("/feed/atom/", "atom:entry/atom:summary"),
    ]:
        root = ET.fromstring(client.get(path).content)
        body = parse(root.find(item_text, {"atom": "http://www.w3.org/2005/Atom"}).text)
        assert body.find("picture") is None
        [img] = body.find_all("img")
        assert img["src"] == ORIGIN + image.file.w960
        assert img["alt"] == "Dam at dawn"
        assert (
            body.find("figcaption").get_text(" ", strip=True)
            == "The dam. Image: Tamar Photographer."
        )


def test_no_fundraiser_block_is_in_a_feed(client):
    CallToActionFactory(name="Inline appeal", placement="article_inline")
    article = ArticleFactory(body="<p>One.</p><p>Two.</p><p>Three.</p><p>Four.</p>")
    assert "Inline appeal" in client.get(article.get_absolute_url()).content.decode()

    for path in ("/feed/", "/feed/atom/"):
        assert b"Inline appeal" not in client.get(path).content


def test_hero_image_is_enclosed_as_its_jpeg_rendition(client):
    large = ArticleFactory(
        headline="Large picture", hero_image=ImageFactory(rendered=True, file=jpeg_file(2000))
    )
    # Renditions never upscale: an 800-pixel picture is whole in its 960 rendition.
    small = ArticleFactory(headline="Small picture", hero_image=ImageFactory(rendered=True))
    expected = {
        "Large picture": large.hero_image.file.w1280,
        "Small picture": small.hero_image.file.w960,
    }

    for path in ("/feed/", "/feed/atom/"):
        entries = read_feed(client, path).entries
        assert {e.title: e.enclosures[0].href for e in entries} == {
            title: ORIGIN + url for title, url in expected.items()
        }
        [enclosure] = entries[0].enclosures
        assert enclosure.type == "image/jpeg"
        # A rendition's size is not stored: 0 says "unknown" (RSS Best Practices Profile).
        assert enclosure.length == "0"


def test_hero_image_without_renditions_is_enclosed_as_the_original_with_its_size(client):
    article = ArticleFactory()
    image = article.hero_image

    [entry] = read_feed(client, "/feed/").entries

    [enclosure] = entry.enclosures
    assert enclosure.href == ORIGIN + image.file.url
    assert enclosure.type == "image/jpeg"
    assert enclosure.length == str(image.file_size) != "0"


def test_story_without_hero_image_has_no_enclosure(client):
    ArticleFactory(hero_image=None)

    [entry] = read_feed(client, "/feed/").entries

    assert entry.enclosures == []


def test_gated_stories_are_in_every_feed_by_standfirst_only(client, filing):
    filed_story(
        filing,
        headline="Members-only investigation",
        standfirst="What the ministry knew.",
        visibility=Article.Visibility.MEMBERS,
        body=f"<p>{SENTINEL} members</p>",
    )
    filed_story(
        filing,
        headline="Early-access investigation",
        standfirst="What the mayor knew.",
        visibility=Article.Visibility.EARLY_ACCESS,
        public_from=timezone.now() + timedelta(days=3),
        body=f"<p>{SENTINEL} early</p>",
    )

    for path in FEEDS_OF_A_STORY:
        response = client.get(path)
        assert SENTINEL.encode() not in response.content, path
        entries = {entry.title: entry for entry in read_feed(client, path).entries}
        assert "What the ministry knew." in entries["Members-only investigation"].summary
        assert "This story is for members." in entries["Members-only investigation"].summary
        assert "What the mayor knew." in entries["Early-access investigation"].summary
        assert "everyone can read it from" in entries["Early-access investigation"].summary


def test_gated_body_stays_out_of_feeds_for_a_signed_in_member_too(client, member, filing):
    # Feeds are the same for everyone: a shared cache or a reader's app may pass them on.
    filed_story(filing, visibility=Article.Visibility.MEMBERS, body=f"<p>{SENTINEL}</p>")
    client.force_login(member)

    for path in FEEDS_OF_A_STORY:
        assert SENTINEL.encode() not in client.get(path).content, path


def test_early_access_story_has_its_full_text_once_everyone_may_read_it(client, filing):
    article = filed_story(
        filing,
        headline="Early-access investigation",
        visibility=Article.Visibility.EARLY_ACCESS,
        public_from=timezone.now() + timedelta(days=3),
        body=f"<p>{SENTINEL} early</p>",
    )
    Article.objects.filter(pk=article.pk).update(public_from=timezone.now() - timedelta(minutes=1))

    for path in FEEDS_OF_A_STORY:
        [entry] = read_feed(client, path).entries
        assert f"{SENTINEL} early" in entry.summary, path


def test_russian_feed_lists_russian_editions(client):
    english = ArticleFactory(headline="Dam dispute", language="en")
    russian = ArticleFactory(
        headline="Спор о плотине", slug="spor-o-plotine", language="ru", translation_of=english
    )

    feed = read_feed(client, "/ru/feed/")

    assert feed.feed.language == "ru"
    [entry] = feed.entries
    assert entry.title == "Спор о плотине"
    assert entry.link == ORIGIN + russian.get_absolute_url()
    assert entry.link.startswith(f"{ORIGIN}/ru/")
    assert [e.title for e in read_feed(client, "/feed/atom/").entries] == ["Dam dispute"]


@pytest.mark.parametrize("kind", ["section", "region", "tag", "author"])
def test_a_listings_feed_has_only_its_own_stories(client, filing, kind):
    filed_story(filing, headline="Filed here")
    ArticleFactory(
        headline="Filed elsewhere", section=SectionFactory(slug="business", name="Business")
    )
    slug = {"section": "politics", "region": "georgia", "tag": "water", "author": "nino"}[kind]

    feed = read_feed(client, f"/{kind}/{slug}/feed/")

    assert [entry.title for entry in feed.entries] == ["Filed here"]
    assert feed.feed.link == f"{ORIGIN}/{kind}/{slug}/"
    assert read_feed(client, f"/{kind}/{slug}/feed/atom/").entries[0].title == "Filed here"


@pytest.mark.parametrize(
    "path",
    [
        "/section/nowhere/feed/",
        "/region/nowhere/feed/atom/",
        "/tag/nowhere/feed/",
        "/author/nowhere/feed/atom/",
        "/ru/section/nowhere/feed/",
        "/section/%00/feed/",
    ],
)
def test_feed_of_an_unknown_listing_is_not_found(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("page", "feeds"),
    [
        ("/", ["/feed/", "/feed/atom/"]),
        ("/ru/", ["/ru/feed/", "/ru/feed/atom/"]),
        ("/section/politics/", ["/section/politics/feed/", "/section/politics/feed/atom/"]),
        ("/region/georgia/", ["/region/georgia/feed/", "/region/georgia/feed/atom/"]),
        ("/tag/water/", ["/tag/water/feed/", "/tag/water/feed/atom/"]),
        ("/author/nino/", ["/author/nino/feed/", "/author/nino/feed/atom/"]),
    ],
)
def test_listing_pages_name_their_own_feeds(client, filing, page, feeds):
    filed_story(filing)

    links = parse(client.get(page)).select("head link[rel=alternate]")

    assert [(link["type"], link["href"]) for link in links] == [
        ("application/rss+xml", feeds[0]),
        ("application/atom+xml", feeds[1]),
    ]
    for feed in feeds:
        entries = read_feed(client, feed).entries
        # The story is in English: the Russian home's feeds have none.
        assert len(entries) == (0 if page == "/ru/" else 1)


@pytest.mark.parametrize("path", ["/feed/", "/section/politics/feed/atom/"])
def test_feed_query_count_does_not_grow_with_the_archive(client, filing, path):
    image = ImageFactory(rendered=True)
    figure = f'<p>Text.</p><figure data-image-id="{image.pk}"><figcaption>x</figcaption></figure>'

    def add(count):
        for n in range(count):
            article = filed_story(filing, hero_image=image, body=figure)
            article.tags.add(Tag.objects.create(name=f"Tag {article.pk}", slug=f"t-{article.pk}"))
            Correction.objects.create(article=article, text="Fixed.")

    add(30)
    with CaptureQueriesContext(connection) as small:
        read_feed(client, path)
    add(270)
    with CaptureQueriesContext(connection) as large:
        read_feed(client, path)

    assert len(large) == len(small)
    # the listing (section feeds), the stories, their bylines, their tags, their figures, and
    # the page cache's next scheduled change
    assert len(small) <= 6
