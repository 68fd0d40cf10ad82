"""Subscriptions and their invoices: renewals, failures, recoveries and how they end."""

import pytest
import stripe

from tests.fake_stripe import FakeStripe
from tests.fake_stripe.harness import drain, get_page, make_plan, post_form, subscribe


def test_api_cancel_list_and_invoices(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    drain(fake, receiver)
    canceled = client.v1.subscriptions.cancel(
        sub.id,
        params={"cancellation_details": {"comment": "Moving abroad", "feedback": "unused"}},
        options={"idempotency_key": "cancel-1"},
    )
    assert canceled.status == "canceled" and canceled.ended_at and canceled.canceled_at
    assert canceled.cancellation_details.to_dict() == {
        "comment": "Moving abroad",
        "feedback": "unused",
        "reason": "cancellation_requested",
    }
    fake.wait_for_webhooks()
    [event] = receiver.events()
    assert event.type == "customer.subscription.deleted"
    # Stripe ignores idempotency keys on DELETE: the same call again is refused.
    assert event.request.idempotency_key is None
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscriptions.cancel(sub.id, options={"idempotency_key": "cancel-1"})
    assert "already been canceled" in error.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscriptions.cancel("sub_missing")
    assert error.value.code == "resource_missing"

    other = subscribe(client, fake, monthly, email="other@example.com")
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscriptions.cancel(
            other.id, params={"cancellation_details": {"feedback": "bored"}}
        )

    assert client.v1.subscriptions.list(params={"customer": sub.customer}).data == []
    everything = client.v1.subscriptions.list(params={"customer": sub.customer, "status": "all"})
    assert [s.id for s in everything.data] == [sub.id]
    ended = client.v1.subscriptions.list(params={"status": "ended"})
    assert [s.id for s in ended.data] == [sub.id]
    active = client.v1.subscriptions.list(params={"price": monthly.id})
    assert [s.id for s in active.data] == [other.id]
    invoices = client.v1.invoices.list(params={"subscription": sub.id})
    assert [i.id for i in invoices.data] == [sub.latest_invoice]
    paid = client.v1.invoices.list(params={"status": "paid", "customer": other.customer})
    assert [i.id for i in paid.data] == [other.latest_invoice]


def test_api_update_schedules_and_unschedules_the_cancellation(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    drain(fake, receiver)
    params = {
        "cancel_at_period_end": True,
        "cancellation_details": {"comment": "Cancelled by the desk"},
    }
    scheduled = client.v1.subscriptions.update(
        sub.id, params=params, options={"idempotency_key": "schedule-1"}
    )
    period_end = sub["items"].data[0].current_period_end
    assert scheduled.status == "active" and scheduled.cancel_at_period_end is True
    assert scheduled.cancel_at == period_end and scheduled.canceled_at
    assert scheduled.cancellation_details.to_dict() == {
        "comment": "Cancelled by the desk",
        "feedback": None,
        "reason": "cancellation_requested",
    }
    fake.wait_for_webhooks()
    [event] = receiver.events()
    assert event.type == "customer.subscription.updated"
    assert event.data.object.cancel_at_period_end is True
    assert event.data.previous_attributes.cancel_at_period_end is False

    # The same key and parameters again: the first answer, replayed, and no second event.
    replayed = client.v1.subscriptions.update(
        sub.id, params=params, options={"idempotency_key": "schedule-1"}
    )
    assert replayed.id == sub.id
    fake.wait_for_webhooks()
    assert len(receiver.events()) == 1
    assert fake.api_requests("POST", f"/v1/subscriptions/{sub.id}")[-1].replayed

    drain(fake, receiver)
    renewed = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": False})
    assert renewed.cancel_at_period_end is False and renewed.cancel_at is None
    assert renewed.cancellation_details.reason is None
    fake.wait_for_webhooks()
    assert receiver.types() == ["customer.subscription.updated"]

    # Scheduled again, then the period ends: the subscription is canceled.
    client.v1.subscriptions.update(
        sub.id,
        params={"cancel_at_period_end": True, "cancellation_details": {"feedback": "unused"}},
    )
    ended = fake.advance_subscription(sub.id)
    assert ended["status"] == "canceled" and ended["ended_at"] == period_end
    assert ended["cancellation_details"]["feedback"] == "unused"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert "canceled subscription" in error.value.user_message


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"items": [{"price": "price_x"}]}, "items"),
        ({"proration_behavior": "none"}, "proration_behavior"),
        ({"cancel_at_period_end": "maybe"}, "cancel_at_period_end"),
        ({"cancellation_details": {"feedback": "bored"}}, "cancellation_details[feedback]"),
        ({"cancellation_details": {"reason": "x"}}, "cancellation_details[reason]"),
    ],
)
def test_api_update_refuses_what_it_does_not_fake(client, fake, params, param):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscriptions.update(sub.id, params=params)
    assert error.value.param == param
    assert fake.get(sub.id)["cancel_at_period_end"] is False
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscriptions.update("sub_missing", params={"cancel_at_period_end": True})
    assert error.value.code == "resource_missing"


def test_start_date_stays_while_periods_move():
    now = [1_750_000_000]
    with FakeStripe(now=lambda: now[0]) as fake:
        client = fake.client()
        _, monthly, _ = make_plan(client)
        sub = subscribe(client, fake, monthly)
        assert sub.start_date == sub.created == 1_750_000_000
        now[0] += 31 * 86400
        renewed = fake.advance_subscription(sub.id)
        item = renewed["items"]["data"][0]
        assert renewed["start_date"] == 1_750_000_000
        assert item["current_period_start"] > renewed["start_date"]
        assert renewed["billing_cycle_anchor"] == 1_750_000_000

        trial = client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "line_items": [{"price": monthly.id, "quantity": 1}],
                "subscription_data": {"trial_period_days": 7},
                "success_url": "http://app.test/ok",
            }
        )
        fake.complete_checkout(trial.id, email="trial@example.com")
        on_trial = fake.get(fake.get(trial.id)["subscription"])
        assert on_trial["start_date"] == now[0] == on_trial["trial_start"]
        assert on_trial["billing_cycle_anchor"] == on_trial["trial_end"] == now[0] + 7 * 86400


def test_renewal_failure_and_recovery(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    first_end = sub["items"].data[0].current_period_end

    drain(fake, receiver)
    renewed = fake.advance_subscription(sub.id)
    item = renewed["items"]["data"][0]
    assert item["current_period_start"] == first_end and item["current_period_end"] > first_end
    invoice = client.v1.invoices.retrieve(renewed["latest_invoice"])
    assert invoice.billing_reason == "subscription_cycle" and invoice.status == "paid"
    assert "invoice.paid" in receiver.types()
    assert receiver.types()[0] == "customer.subscription.updated"

    drain(fake, receiver)
    failed = fake.fail_renewal(sub.id)
    assert failed["status"] == "past_due"
    assert receiver.types()[-2:] == ["invoice.payment_failed", "customer.subscription.updated"]
    open_invoice = client.v1.invoices.retrieve(failed["latest_invoice"])
    assert open_invoice.status == "open" and open_invoice.amount_paid == 0
    assert open_invoice.next_payment_attempt and open_invoice.attempt_count == 1
    assert open_invoice.hosted_invoice_url == f"{fake.url}/invoice/{open_invoice.id}"
    _, html = get_page(open_invoice.hosted_invoice_url)
    assert ">Pay invoice<" in html
    assert post_form(f"{open_invoice.hosted_invoice_url}/pay")[0] == 303
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert receiver.types()[-1] == "customer.subscription.updated"
    _, html = get_page(open_invoice.hosted_invoice_url)
    assert ">Pay invoice<" not in html and "Status: paid" in html

    drain(fake, receiver)
    fake.require_action_on_renewal(sub.id)
    assert "invoice.payment_action_required" in receiver.types()
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    fake.pay_invoice(fake.get(sub.id)["latest_invoice"])
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.subscriptions.retrieve(sub.id).cancellation_details.reason is None

    portal = client.v1.billing_portal.sessions.create(params={"customer": sub.customer})
    fake.portal_action(portal.id, "cancel_at_period_end", sub.id)
    drain(fake, receiver)
    ended = fake.advance_subscription(sub.id)
    assert ended["status"] == "canceled" and receiver.types() == ["customer.subscription.deleted"]
    assert ended["cancellation_details"]["reason"] == "cancellation_requested"


def test_failed_payments_end_the_subscription_with_their_reason(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    with pytest.raises(ValueError):
        fake.fail_final_retry(sub.id)  # nothing has failed yet
    fake.fail_renewal(sub.id)
    drain(fake, receiver)

    ended = fake.fail_final_retry(sub.id)
    assert ended["status"] == "canceled" and ended["ended_at"]
    assert ended["cancellation_details"] == {
        "comment": None,
        "feedback": None,
        "reason": "payment_failed",
    }
    assert receiver.types() == [
        "charge.failed",
        "payment_intent.payment_failed",
        "invoice.payment_failed",
        "customer.subscription.deleted",
    ]
    invoice = fake.get(ended["latest_invoice"])
    assert invoice["status"] == "open" and invoice["attempt_count"] == 2
    assert invoice["next_payment_attempt"] is None
    deleted = receiver.events()[-1].data.object
    assert deleted.cancellation_details.reason == "payment_failed"


def test_trial(client, fake):
    _, monthly, _ = make_plan(client)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer_email": "trial@example.com",
            "line_items": [{"price": monthly.id, "quantity": 1}],
            "subscription_data": {"trial_period_days": 14},
            "success_url": "http://app.test/ok",
        }
    )
    fake.complete_checkout(session.id)
    assert fake.get(session.id)["payment_status"] == "no_payment_required"
    sub = fake.get(fake.get(session.id)["subscription"])
    assert sub["status"] == "trialing" and sub["trial_end"] - sub["trial_start"] == 14 * 86400
    assert fake.get(sub["latest_invoice"])["amount_paid"] == 0
    assert fake.advance_subscription(sub["id"])["status"] == "active"


def test_status_helpers(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    customer = client.v1.customers.create(params={"email": "saved.card@example.com"})
    created = fake.create_subscription(customer.id, monthly.id, metadata={"kind": "donation"})
    assert created["status"] == "active" and created["metadata"] == {"kind": "donation"}
    assert created["default_payment_method"].startswith("pm_")
    declined = fake.create_subscription(customer.id, monthly.id, outcome="failed")
    assert declined["status"] == "incomplete"

    drain(fake, receiver)
    fake.pause_subscription(created["id"])
    assert receiver.types() == ["customer.subscription.paused", "customer.subscription.updated"]
    fake.resume_subscription(created["id"])
    assert receiver.types()[-2:] == [
        "customer.subscription.resumed",
        "customer.subscription.updated",
    ]
    assert fake.set_subscription_status(created["id"], "unpaid")["status"] == "unpaid"
    expired = fake.set_subscription_status(declined["id"], "incomplete_expired")
    assert expired["ended_at"] and receiver.types()[-1] == "customer.subscription.deleted"

    ended = fake.cancel_subscription(
        created["id"], reason="payment_disputed", comment="Chargeback lost"
    )
    assert ended["cancellation_details"] == {
        "comment": "Chargeback lost",
        "feedback": None,
        "reason": "payment_disputed",
    }
    with pytest.raises(ValueError):
        fake.cancel_subscription(declined["id"], reason="bored")
