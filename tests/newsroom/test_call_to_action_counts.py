"""Counting fundraiser blocks without trackers: views by beacon, clicks by redirect, both
gathered in the cache and written in batches (issue 10; newsroom.calls_to_action)."""

import uuid
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.models import Donation, Membership
from members.webhooks import HANDLERS
from newsroom.calls_to_action import flush_counts
from newsroom.models import CallToAction, CallToActionCount
from tests.factories import ArticleFactory, CallToActionFactory, UserFactory
from tests.html import parse
from tests.members.stripe_events import plan_price_at, redeliver_everything

pytestmark = pytest.mark.django_db

SEEN = "/fundraising/seen/"


@pytest.fixture(autouse=True)
def empty_cache():
    caches["counters"].clear()
    yield
    caches["counters"].clear()


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


# Conversions: from a block's button through Stripe Checkout to the webhook -------------------


def checkout_id(response):
    """The Checkout session a join or donate form sent the browser to (the fake's page)."""
    assert response.status_code == 302, response.status_code
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture
def stripe_webhook_events():
    """The types the site handles, as its endpoint in Stripe's Dashboard is set up: none of
    them follows an API call the site makes while a test request runs (the live server and the
    test share the database)."""
    return list(HANDLERS)


@pytest.mark.django_db(transaction=True)
def test_a_view_a_click_and_a_membership_count_once_each_for_the_block(
    client, fake_stripe, reader, editor
):
    price = plan_price_at(fake_stripe)
    block = CallToActionFactory(target=CallToAction.Target.JOIN, languages=["en", "ru"])
    story = ArticleFactory()
    client.force_login(reader)

    page = client.get(story.get_absolute_url())
    assert f'data-cta="{block.pk}"' in page.content.decode()
    client.post(SEEN, {"blocks": str(block.pk)})  # what the page's script sends
    plans = client.get(client.get(f"/fundraising/go/{block.pk}/")["Location"])
    assert f'name="source" value="{block.pk}"' in plans.content.decode()
    form = {"price": price.pk, "attempt": str(uuid.uuid4()), "source": str(block.pk)}
    session = checkout_id(client.post("/membership/join/", form))
    fake_stripe.wait_for_webhooks()  # the database is shared with the live server
    fake_stripe.complete_checkout(session)
    fake_stripe.wait_for_webhooks()
    redeliver_everything(fake_stripe)  # Stripe's at-least-once delivery changes nothing

    assert Membership.objects.get(user=reader).status == "active"
    desk = Client()
    desk.force_login(editor)
    page = parse(desk.get(f"/admin/newsroom/calltoaction/{block.pk}/change/"))
    totals = page.select_one(".cta-results table tbody tr")
    assert [cell.get_text() for cell in totals.find_all(["th", "td"])] == ["en", "1", "1", "1"]
    assert len(page.select(".cta-results svg.chart")) == 3
    assert counts(block) == {("en", 1, 1, 1)}


@pytest.mark.django_db(transaction=True)
def test_a_gift_from_a_russian_page_counts_for_the_block_in_russian(client, fake_stripe):
    block = CallToActionFactory(
        target=CallToAction.Target.DONATE, donate_amount=25, languages=["en", "ru"]
    )
    donate = client.get(client.get(f"/ru/fundraising/go/{block.pk}/")["Location"])
    assert donate.context["form"]["preset"].value() == "25"
    assert donate.context["form"]["source"].value() == block.pk
    form = {
        "frequency": "once",
        "currency": "eur",
        "preset": "25",
        "attempt": str(uuid.uuid4()),
        "source": str(block.pk),
    }
    session = checkout_id(client.post("/ru/donate/", form))
    fake_stripe.wait_for_webhooks()  # the database is shared with the live server
    fake_stripe.complete_checkout(session, email="giver@example.com")
    fake_stripe.wait_for_webhooks()

    assert Donation.objects.get().amount == 2500
    flush_counts()
    assert counts(block) == {("ru", 0, 1, 1)}


def test_a_source_that_is_not_a_block_is_no_error_and_counts_nothing(client, stripe_api):
    price = plan_price_at(stripe_api)
    for source in ("not-a-number", "999999", "-3", "1" * 30):
        client.force_login(UserFactory())
        form = {"price": price.pk, "attempt": str(uuid.uuid4()), "source": source}
        assert client.post("/membership/join/", form).status_code == 302
    assert not CallToActionCount.objects.exists()
