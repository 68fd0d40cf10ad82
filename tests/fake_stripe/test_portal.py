"""The billing portal: sessions and what the hosted page's buttons do."""

import pytest
import stripe

from tests.fake_stripe import StripeError
from tests.fake_stripe.harness import drain, get_page, make_plan, post_form, subscribe


def test_portal_cancel_renew_and_cancel_now(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    portal = client.v1.billing_portal.sessions.create(
        params={"customer": sub.customer, "return_url": "http://app.test/account/", "locale": "ru"}
    )
    assert portal.id.startswith("bps_") and portal.url == f"{fake.url}/portal/{portal.id}"
    assert portal.locale == "ru" and portal.configuration.startswith("bpc_")
    fake.wait_for_webhooks()
    assert receiver.types()[-1] == "billing_portal.session.created"
    status, html = get_page(portal.url)
    assert ">Cancel at period end<" in html and ">Cancel now<" in html
    assert ">Switch to Membership — €50.00 per year<" in html and ">Return<" in html
    assert '<option value="too_expensive">' in html

    drain(fake, receiver)
    status, html = post_form(portal.url, action="cancel_at_period_end", subscription=sub.id)
    assert status == 200 and "Cancels on" in html and ">Renew<" in html
    assert ">Cancel at period end<" not in html
    [event] = receiver.events()
    assert event.type == "customer.subscription.updated"
    assert event.data.object.cancel_at_period_end is True
    period_end = sub["items"].data[0].current_period_end
    assert event.data.object.cancel_at == period_end
    assert event.data.object.cancellation_details.to_dict() == {
        "comment": None,
        "feedback": None,
        "reason": "cancellation_requested",
    }
    assert event.data.previous_attributes.cancel_at_period_end is False
    assert event.data.previous_attributes.cancel_at is None
    assert event.data.previous_attributes.cancellation_details.reason is None

    drain(fake, receiver)
    post_form(portal.url, action="renew", subscription=sub.id)
    renewed = client.v1.subscriptions.retrieve(sub.id)
    assert renewed.cancel_at_period_end is False and renewed.cancel_at is None
    assert renewed.cancellation_details.reason is None
    [event] = receiver.events()
    assert event.data.previous_attributes.cancellation_details.reason == "cancellation_requested"

    drain(fake, receiver)
    post_form(portal.url, action="cancel_now", subscription=sub.id)
    [event] = receiver.events()
    assert event.type == "customer.subscription.deleted"
    assert event.data.object.status == "canceled" and event.data.object.ended_at
    assert event.data.object.cancellation_details.reason == "cancellation_requested"
    assert post_form(f"{portal.url}/return") == (303, "http://app.test/account/")
    status, html = post_form(portal.url, action="renew", subscription=sub.id)
    assert status == 400 and "has ended" in html

    # Someone else's subscription is refused.
    other = subscribe(client, fake, monthly, email="other@example.com")
    status, _ = post_form(portal.url, action="cancel_now", subscription=other.id)
    assert status == 400
    assert client.v1.subscriptions.retrieve(other.id).status == "active"


def test_portal_cancellation_keeps_the_customers_reason(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    portal = client.v1.billing_portal.sessions.create(params={"customer": sub.customer})

    post_form(
        portal.url,
        action="cancel_at_period_end",
        subscription=sub.id,
        feedback="too_expensive",
        comment="  Back when I have a job.  ",
    )
    details = client.v1.subscriptions.retrieve(sub.id).cancellation_details.to_dict()
    assert details == {
        "comment": "Back when I have a job.",
        "feedback": "too_expensive",
        "reason": "cancellation_requested",
    }
    # The period ends: the scheduled cancellation happens and keeps the reason.
    ended = fake.advance_subscription(sub.id)
    assert ended["status"] == "canceled" and ended["ended_at"] == ended["cancel_at"]
    assert ended["cancellation_details"] == details
    assert receiver.types()[-1] == "customer.subscription.deleted"

    other = subscribe(client, fake, monthly, email="other@example.com")
    portal = client.v1.billing_portal.sessions.create(params={"customer": other.customer})
    status, html = post_form(portal.url, action="cancel_now", subscription=other.id, feedback="meh")
    assert status == 400 and "Unknown reason" in html
    fake.portal_action(portal.id, "cancel_now", other.id, feedback="unused")
    details = fake.get(other.id)["cancellation_details"]
    assert details == {"comment": None, "feedback": "unused", "reason": "cancellation_requested"}


def test_portal_switch_plan(client, fake, receiver):
    _, monthly, yearly = make_plan(client)
    sub = subscribe(client, fake, monthly)
    portal = client.v1.billing_portal.sessions.create(params={"customer": sub.customer})
    drain(fake, receiver)
    post_form(portal.url, action="switch", subscription=sub.id, price=yearly.id)
    after = client.v1.subscriptions.retrieve(sub.id)
    item = after["items"].data[0]
    assert item.id == sub["items"].data[0].id and item.price.id == yearly.id
    assert item.current_period_end - item.current_period_start >= 365 * 86400
    assert after.start_date == sub.start_date
    types = receiver.types()
    assert types[0] == "customer.subscription.updated" and "invoice.paid" in types
    previous = receiver.events()[0].data.previous_attributes
    assert previous["items"]["data"][0]["price"]["id"] == monthly.id
    invoice = client.v1.invoices.retrieve(after.latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.amount_paid == 5000

    # Back to monthly with the helper; a price of another currency is refused.
    fake.portal_action(portal.id, "switch", sub.id, monthly.id)
    assert fake.get(sub.id)["items"]["data"][0]["price"]["id"] == monthly.id
    dollars = client.v1.prices.create(
        params={
            "product": monthly.product,
            "currency": "usd",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
        }
    )
    with pytest.raises(StripeError) as error:
        fake.portal_action(portal.id, "switch", sub.id, dollars.id)
    assert "currency" in error.value.message


def test_portal_sessions_the_fake_cannot_serve_are_refused(client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.billing_portal.sessions.create(params={"customer": "cus_nobody"})
    assert error.value.param == "customer" and error.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.billing_portal.sessions.create(
            params={"customer": "cus_x", "flow_data": {"type": "subscription_cancel"}}
        )
    assert error.value.param == "flow_data"
