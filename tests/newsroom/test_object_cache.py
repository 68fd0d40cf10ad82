"""What pages are made of is cached between changes (newsroom.object_cache): a save shows at
once, a scheduled change on time, and every reader still gets their own fundraiser blocks."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from newsroom.models import CallToAction
from tests.factories import ArticleFactory, CallToActionFactory, SectionFactory
from tests.html import parse

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
