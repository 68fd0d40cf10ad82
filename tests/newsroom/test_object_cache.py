"""What pages are made of is cached between changes (newsroom.object_cache): a save shows at
once, a scheduled change on time, and every reader still gets their own fundraiser blocks."""

import time
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from newsroom import object_cache, renditions
from newsroom.models import Article, CallToAction, Correction
from tests.factories import (
    ArticleFactory,
    CallToActionFactory,
    CampaignFactory,
    ImageFactory,
    MembershipFactory,
    SectionFactory,
)
from tests.html import parse, pictures

pytestmark = pytest.mark.django_db


def navigation(response):
    return [link.get_text() for link in parse(response).select("nav.sections a")]


def headings(response):
    return [heading.get_text() for heading in parse(response).select("aside.cta h2")]


def test_a_renamed_section_shows_at_once_on_pages_the_page_cache_does_not_serve(client, reader):
    section = SectionFactory(slug="politics", name="Politics")
    ArticleFactory(section=section)
    client.force_login(reader)  # signed in: no whole-page cache, only the object caches
    assert navigation(client.get("/")) == ["Politics"]
    assert navigation(client.get("/")) == ["Politics"]

    section.name = "Politics and power"
    section.save()

    assert navigation(client.get("/")) == ["Politics and power"]
    assert parse(client.get("/section/politics/")).h1.get_text() == "Politics and power"


def test_a_block_scheduled_to_start_shows_on_time_without_a_purge(client, reader):
    ArticleFactory()
    CallToActionFactory(
        name="Starting now",
        placement=CallToAction.Placement.SITE_BANNER,
        starts_at=timezone.now() + timedelta(seconds=2),
    )
    client.force_login(reader)
    assert headings(client.get("/")) == []
    assert headings(client.get("/")) == []

    time.sleep(2.2)

    assert headings(client.get("/")) == ["Starting now"]


def test_each_reader_still_gets_the_blocks_of_their_audience(client, member):
    ArticleFactory()
    CallToActionFactory(
        name="Become a member",
        placement=CallToAction.Placement.SITE_BANNER,
        target=CallToAction.Target.JOIN,
    )
    CallToActionFactory(
        name="Thank you, members",
        placement=CallToAction.Placement.SITE_BANNER,
        audience=CallToAction.Audience.MEMBERS,
        priority=-1,
    )
    anonymous = Client()
    assert headings(anonymous.get("/")) == ["Become a member"]

    client.force_login(member)
    for _ in range(2):
        assert headings(client.get("/")) == ["Thank you, members"]
    assert headings(anonymous.get("/?page=1")) == ["Become a member"]


def test_shared_fragments_hold_nothing_of_the_reader_who_filled_them(client, member):
    """The navigation, footer and cards are rendered once and then given to every reader
    (newsroom.object_cache.fragment): a signed-in member who fills them leaves nothing of
    theirs in them, and the next reader gets their own header."""
    section = SectionFactory(slug="politics", name="Politics")
    story = ArticleFactory(section=section, headline="The dam that was never built")
    renditions._remembered.clear()
    client.force_login(member)
    member_pages = [
        client.get(path) for path in ("/", "/section/politics/", story.get_absolute_url())
    ]
    assert client.get("/membership/account/").status_code == 200
    assert all("Your membership" in page.text for page in member_pages)

    kept = {key[2]: html for key, html in renditions._remembered.items() if key[0] == "fragment"}
    fragments = list(kept.values())
    kinds = {name[0] for name in kept}
    assert {"navigation", "footer", "card", "site-header", "article"} <= kinds
    assert any("The dam that was never built" in html for html in fragments)
    for name, html in kept.items():
        assert "member@example.com" not in html
        assert "csrfmiddlewaretoken" not in html
        # The header's links are kept apart for members, named so; nothing else says it.
        assert ("Your membership" in html) == (name == ("site-header", "links", "en", True))

    anonymous = Client()
    for path in ("/", "/section/politics/", story.get_absolute_url()):
        page = anonymous.get(path)
        assert "member@example.com" not in page.text
        assert "Your membership" not in page.text
        assert "Become a member" in page.text
    # The section's own page marks its link in the shared navigation; other pages do not.
    assert parse(anonymous.get("/section/politics/")).select('nav.sections a[aria-current="page"]')
    assert not parse(anonymous.get("/")).select('nav.sections a[aria-current="page"]')


def test_an_article_page_kept_for_anonymous_readers_follows_every_change():
    """An anonymous reader's story and what its page shows around it (its head, header,
    corrections, related stories) are kept between changes (newsroom.views.ArticleParts):
    each save shows at once, in the page and in its metadata."""
    story = ArticleFactory(headline="The dam that was never built")
    related = ArticleFactory(section=story.section, headline="Another valley, another dam")
    anonymous = Client()
    for _ in range(2):
        page = parse(anonymous.get(story.get_absolute_url()))
        assert page.h1.get_text() == "The dam that was never built"
    assert "Another valley, another dam" in page.select_one("aside.related").get_text()

    story.headline = "The dam that will never be built"
    story.save()
    Correction.objects.create(article=story, text="An earlier version gave the wrong year.")
    related.headline = "Another valley, no dam"
    related.save()

    page = parse(anonymous.get(story.get_absolute_url()))
    assert page.h1.get_text() == "The dam that will never be built"
    assert page.select_one('meta[property="og:title"]')["content"] == page.h1.get_text()
    assert "the wrong year" in page.select_one("section.corrections").get_text()
    assert "Another valley, no dam" in page.select_one("aside.related").get_text()


def test_a_members_only_story_kept_for_anonymous_readers_stays_gated(client, member):
    story = ArticleFactory(
        visibility=Article.Visibility.MEMBERS, body="<p>Only members read this line.</p>"
    )
    anonymous = Client()
    client.force_login(member)
    for reader_client in (anonymous, client, anonymous, client):
        text = reader_client.get(story.get_absolute_url()).text
        assert ("Only members read this line." in text) == (reader_client is client)


def test_a_goal_bar_shows_new_figures_when_its_blocks_are_read_again(client, reader):
    """A block's markup is kept per version of the site (newsroom.object_cache.fragment), but
    its goal figures change no version: the bar follows them as soon as the blocks are read
    again (at most PAGE_CACHE_SECONDS late)."""
    story = ArticleFactory()
    campaign = CampaignFactory(goal="members", goal_members=500)
    CallToActionFactory(
        name="Goal",
        placement=CallToAction.Placement.ARTICLE_END,
        campaign=campaign,
        target=CallToAction.Target.JOIN,
    )
    client.force_login(reader)  # signed in: no whole-page cache, only the object caches
    assert (
        parse(client.get(story.get_absolute_url())).select_one("aside.cta progress")["value"] == "0"
    )

    MembershipFactory()  # no purge: a payment changes no page but the bars
    caches["objects"].clear()  # the blocks' cached list runs out (PAGE_CACHE_SECONDS)
    object_cache._local.clear()

    assert (
        parse(client.get(story.get_absolute_url())).select_one("aside.cta progress")["value"] == "1"
    )


def test_pictures_whose_addresses_expire_are_never_kept(client, monkeypatch):
    """Signed media addresses (S3 with query-string authentication) expire: a card, a hero
    figure or an article part that shows one is rendered afresh for each page."""
    from django.core.files.storage import default_storage

    story = ArticleFactory(headline="The dam that was never built")
    ArticleFactory(section=story.section)  # a related story, with a picture
    monkeypatch.setattr(default_storage, "querystring_auth", True, raising=False)
    renditions._remembered.clear()
    for path in ("/", story.get_absolute_url()):
        assert client.get(path).status_code == 200

    names = [key[2] for key in renditions._remembered if key[0] == "fragment"]
    assert ("footer" in {name[0] for name in names}) and names
    with_pictures = [
        name
        for name in names
        if name[0] == "card"
        or name[:2] in {("article", "head"), ("article", "header"), ("article", "related")}
    ]
    assert with_pictures == []
    # What shows no picture is still kept.
    assert ("article", "after", "en", story.pk) in names


def test_a_kept_card_offers_the_renditions_built_after_it_was_rendered(client, reader):
    """A listing's card is kept until the site changes (newsroom.cards), and renditions being
    built change nothing else: the next page offers them all the same."""
    image = ImageFactory()
    ArticleFactory(hero_image=image)
    client.force_login(reader)  # signed in: no whole-page cache, only the object caches
    for _ in range(2):
        assert pictures(client.get("/"))[0].sources == []

    image.build_renditions()

    card = pictures(client.get("/"))[0]
    assert [source["type"] for source in card.sources] == ["image/avif", "image/webp"]
    assert image.file.card640_avif in card.sources[0]["srcset"]


def test_a_listing_kept_between_changes_shows_a_new_story_at_once_and_a_scheduled_one_on_time(
    client, reader
):
    """A listing's page of ids is kept in the object cache (newsroom.pagination): a story
    published shows at once, one scheduled at its time, with no purge of its own."""
    section = SectionFactory(slug="politics", name="Politics")
    ArticleFactory(section=section, headline="First")
    ArticleFactory(
        section=section, headline="Scheduled", published_at=timezone.now() + timedelta(seconds=2)
    )
    client.force_login(reader)  # signed in: no whole-page cache, only the object caches

    def cards(path):
        return [h.get_text(strip=True) for h in parse(client.get(path)).select(".card__headline")]

    for path in ("/", "/section/politics/"):
        assert cards(path) == ["First"]
        assert cards(path) == ["First"]
    ArticleFactory(section=section, headline="Second")
    for path in ("/", "/section/politics/"):
        assert cards(path) == ["Second", "First"]

    time.sleep(2.2)

    for path in ("/", "/section/politics/"):
        assert cards(path) == ["Scheduled", "Second", "First"]


def test_each_request_gets_its_own_copy_unless_the_value_is_shared(rf):
    """A process keeps what it read (`LOCAL_SECONDS`): as pickled bytes, so that a request that
    changes its value changes nothing for the next one; or, for values no request changes
    (`shared`: an anonymous reader's story, what its page shows around it, the fundraiser
    blocks), as the object itself, which costs no unpickling."""
    object_cache._local.clear()
    request = rf.get("/")
    first = object_cache.cached(request, "test-copies", lambda: [{"figure": 1}])
    first[0]["figure"] = 2  # a view that marks up what it was given
    assert object_cache.cached(request, "test-copies", lambda: None) == [{"figure": 1}]

    shared = object_cache.cached(request, "test-shared", lambda: [{"figure": 1}], shared=True)
    assert object_cache.cached(request, "test-shared", lambda: None, shared=True) is shared
    # Kept under the site's version like any other: a purge retires it.
    key = next(key for key in object_cache._local if key.endswith(":test-shared"))
    assert key.startswith(f"objects:{object_cache._version(request)}:")
