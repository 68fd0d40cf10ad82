"""Counting fundraiser blocks without trackers: views by beacon, clicks by redirect, both
gathered in the cache and written in batches (issue 10; newsroom.calls_to_action)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsroom.calls_to_action import flush_counts
from newsroom.models import CallToAction, CallToActionCount
from tests.factories import CallToActionFactory

pytestmark = pytest.mark.django_db

SEEN = "/fundraising/seen/"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def counts(block):
    return {(row.language, row.views, row.clicks, row.conversions) for row in block.counts.all()}


def test_the_beacon_counts_running_blocks_only_and_always_answers_204(client):
    shown = CallToActionFactory()
    ended = CallToActionFactory(ends_at=timezone.now() - timedelta(minutes=1))
    bodies = [
        {"blocks": f"{shown.pk},{ended.pk},999999,-1,abc,{'9' * 40}"},
        {"blocks": f"{shown.pk}"},
        {"blocks": ""},
        {"nothing": "here"},
    ]
    for body in bodies:
        assert client.post(SEEN, body).status_code == 204
    assert client.post(SEEN, b"\xff\xfe not a form", content_type="text/plain").status_code == 204
    assert client.post("/ru" + SEEN, {"blocks": str(shown.pk)}).status_code == 204
    assert client.get(SEEN).status_code == 405

    flush_counts()

    assert counts(shown) == {("en", 2, 0, 0), ("ru", 1, 0, 0)}
    assert not CallToActionCount.objects.filter(block=ended).exists()


def test_views_reach_the_database_in_batches_not_one_write_per_view(client):
    block = CallToActionFactory()
    client.post(SEEN, {"blocks": str(block.pk)})  # the first flush of this period
    with CaptureQueriesContext(connection) as queries:
        for _ in range(50):
            assert client.post(SEEN, {"blocks": str(block.pk)}).status_code == 204
    assert not [q for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]

    flush_counts()
    flush_counts()  # nothing new: nothing added twice

    assert counts(block) == {("en", 51, 0, 0)}


def test_the_beacon_needs_no_csrf_token_and_sets_no_cookie():
    block = CallToActionFactory()
    client = Client(enforce_csrf_checks=True)
    response = client.post(SEEN, {"blocks": str(block.pk)})
    assert response.status_code == 204
    assert not response.cookies
    assert "no-cache" in response["Cache-Control"]


def test_a_flood_from_one_address_is_not_counted(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"call_to_action_beacon": "3/m/ip"}
    block = CallToActionFactory()
    for _ in range(10):
        assert client.post(SEEN, {"blocks": str(block.pk)}).status_code == 204
    flush_counts()
    assert counts(block) == {("en", 3, 0, 0)}


def test_the_button_counts_a_click_and_leads_only_to_the_saved_target(client):
    donate = CallToActionFactory(target=CallToAction.Target.DONATE, donate_amount=25)
    external = CallToActionFactory(
        target=CallToAction.Target.EXTERNAL, external_url="https://collective.example/fund"
    )
    ended = CallToActionFactory(ends_at=timezone.now() - timedelta(minutes=1))

    response = client.get(f"/fundraising/go/{donate.pk}/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/donate/?amount=25&cta={donate.pk}"
    assert not response.cookies
    assert client.get(f"/ru/fundraising/go/{external.pk}/")["Location"] == (
        "https://collective.example/fund"
    )
    for path in (f"/fundraising/go/{ended.pk}/", "/fundraising/go/999999/"):
        assert client.get(path)["Location"] == "/"
    assert client.get("/fundraising/go/abc/").status_code == 404

    flush_counts()
    assert counts(donate) == {("en", 0, 1, 0)}
    assert counts(external) == {("ru", 0, 1, 0)}
    assert not CallToActionCount.objects.filter(block=ended).exists()
