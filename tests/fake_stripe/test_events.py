"""``GET /v1/events``: what happened, filtered by type and time, page by page."""

import pytest
import stripe

from tests.fake_stripe import FakeStripe
from tests.fake_stripe.harness import make_plan, subscribe


@pytest.fixture
def clock():
    return [1_750_000_000]


@pytest.fixture
def timed(clock):
    """A fake whose clock the test moves; no webhooks."""
    with FakeStripe(now=lambda: clock[0]) as fake:
        yield fake


def test_events_list_by_type_and_types(client, fake):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    fake.advance_subscription(sub.id)

    everything = client.v1.events.list(params={"limit": 100})
    assert [e.id for e in everything.data] == [e["id"] for e in reversed(fake.events)]
    assert everything.url == "/v1/events"

    paid = client.v1.events.list(params={"type": "invoice.paid"})
    assert [e.type for e in paid.data] == ["invoice.paid", "invoice.paid"]
    assert paid.data[0].data.object.billing_reason == "subscription_cycle"  # newest first

    subscription_events = client.v1.events.list(params={"type": "customer.subscription.*"})
    assert {e.type for e in subscription_events.data} == {
        "customer.subscription.created",
        "customer.subscription.updated",
    }
    several = client.v1.events.list(
        params={"types": ["checkout.session.completed", "invoice_payment.paid"]}
    )
    assert [e.type for e in several.data] == [
        "invoice_payment.paid",
        "checkout.session.completed",
        "invoice_payment.paid",
    ]
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.events.list(params={"type": "invoice.paid", "types": ["invoice.paid"]})
    assert error.value.param == "types"

    event = client.v1.events.retrieve(paid.data[0].id)
    assert event.type == "invoice.paid" and event.data.object.object == "invoice"
    assert event.to_dict() == paid.data[0].to_dict()
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.events.retrieve("evt_missing")
    assert error.value.http_status == 404


def test_events_since_a_moment_page_by_page(timed, clock):
    client = timed.client()
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, timed, monthly)
    clock[0] += 3600
    since = clock[0]
    timed.fail_renewal(sub.id)
    clock[0] += 3600
    timed.fail_final_retry(sub.id)

    listing = client.v1.events.list(params={"created": {"gte": since}, "limit": 3})
    assert listing.has_more is True and len(listing.data) == 3
    events = list(listing.auto_paging_iter())
    later = [e for e in timed.events if e["created"] >= since]
    assert [e.id for e in events] == [e["id"] for e in reversed(later)]
    assert all(e.created >= since for e in events)

    until = client.v1.events.list(params={"created": {"lte": since - 1}, "limit": 100})
    assert len(until.data) + len(events) == len(timed.events)
    failures = client.v1.events.list(
        params={"type": "invoice.payment_failed", "created": {"gt": since}}
    )
    [final] = failures.data
    assert final.created == since + 3600 and final.data.object.next_payment_attempt is None
    deleted = client.v1.events.list(
        params={"types": ["customer.subscription.deleted"], "created": {"gte": since}}
    )
    assert deleted.data[0].data.object.cancellation_details.reason == "payment_failed"
