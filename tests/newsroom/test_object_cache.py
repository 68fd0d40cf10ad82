"""What pages are made of is cached between changes (newsroom.object_cache): a save shows at
once, a scheduled change on time, and every reader still gets their own fundraiser blocks."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from newsroom import renditions
from newsroom.models import CallToAction
from tests.factories import ArticleFactory, CallToActionFactory, ImageFactory, SectionFactory
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
    assert {"navigation", "footer", "card"} <= kinds
    assert any("The dam that was never built" in html for html in fragments)
    for html in fragments:
        assert "member@example.com" not in html
        assert "Your membership" not in html
        assert "csrfmiddlewaretoken" not in html

    anonymous = Client()
    for path in ("/", "/section/politics/", story.get_absolute_url()):
        page = anonymous.get(path)
        assert "member@example.com" not in page.text
        assert "Your membership" not in page.text
        assert "Become a member" in page.text
    # The section's own page marks its link in the shared navigation; other pages do not.
    assert parse(anonymous.get("/section/politics/")).select('nav.sections a[aria-current="page"]')
    assert not parse(anonymous.get("/")).select('nav.sections a[aria-current="page"]')


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
