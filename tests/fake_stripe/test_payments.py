"""Charges, refunds and disputes."""

import pytest
import stripe

from tests.fake_stripe.harness import charge_of, drain, get_page, make_plan, subscribe


def test_refunds(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    charge_id = charge_of(fake, sub.latest_invoice)["id"]
    pi_id = fake.get(charge_id)["payment_intent"]
    assert [c.id for c in client.v1.charges.list(params={"customer": sub.customer}).data] == [
        charge_id
    ]
    _, html = get_page(client.v1.charges.retrieve(charge_id).receipt_url)
    assert "€5.00" in html

    drain(fake, receiver)
    partial = client.v1.refunds.create(params={"charge": charge_id, "amount": 200})
    assert partial.id.startswith("re_") and partial.status == "succeeded"
    assert partial.payment_intent == pi_id
    charge = client.v1.charges.retrieve(charge_id)
    assert charge.amount_refunded == 200 and charge.refunded is False
    fake.wait_for_webhooks()  # API-call events are delivered after the response
    assert receiver.types() == ["refund.created", "charge.refunded"]
    refunded = receiver.events()[-1].data
    assert refunded.object.amount_refunded == 200
    assert refunded.previous_attributes.amount_refunded == 0

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create(params={"payment_intent": pi_id, "amount": 1000})
    assert error.value.param == "amount"
    client.v1.refunds.create(params={"payment_intent": pi_id, "reason": "requested_by_customer"})
    charge = client.v1.charges.retrieve(charge_id)
    assert charge.amount_refunded == 500 and charge.refunded is True
    assert len(charge.refunds.data) == 2
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create(params={"charge": charge_id})
    assert error.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create(params={})
    assert error.value.code == "parameter_missing"
    listed = client.v1.refunds.list(params={"charge": charge_id})
    assert [r.amount for r in listed.data] == [300, 200]
    assert client.v1.refunds.retrieve(partial.id).amount == 200
    assert [r.id for r in client.v1.refunds.list(params={"payment_intent": pi_id}).data][-1] == (
        partial.id
    )

    # From the Dashboard.
    other = subscribe(client, fake, monthly, email="other@example.com")
    other_charge = charge_of(fake, other.latest_invoice)["id"]
    refund = fake.refund(other_charge, 100, reason="duplicate")
    assert refund["reason"] == "duplicate" and receiver.types()[-1] == "charge.refunded"
    with pytest.raises(ValueError):
        fake.refund(other_charge, 1000)


def test_disputes(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    charge_id = charge_of(fake, sub.latest_invoice)["id"]

    dispute = fake.dispute_charge(charge_id)
    assert dispute["id"].startswith("dp_") and receiver.types()[-1] == "charge.dispute.created"
    assert dispute["status"] == "needs_response" and dispute["reason"] == "fraudulent"
    assert client.v1.charges.retrieve(charge_id).disputed is True
    assert client.v1.disputes.retrieve(dispute["id"]).charge == charge_id
    listed = client.v1.disputes.list(params={"charge": charge_id})
    assert [d.id for d in listed.data] == [dispute["id"]]
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"

    # The site's owner ends the membership of a cardholder who disputed its payment.
    other = subscribe(client, fake, monthly, email="other@example.com")
    other_charge = charge_of(fake, other.latest_invoice)["id"]
    drain(fake, receiver)
    fake.dispute_charge(other_charge, reason="subscription_canceled", cancel_subscription=True)
    assert receiver.types() == ["charge.dispute.created", "customer.subscription.deleted"]
    ended = client.v1.subscriptions.retrieve(other.id)
    assert ended.status == "canceled"
    assert ended.cancellation_details.reason == "payment_disputed"

    gift = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 1500,
                        "product_data": {"name": "Gift"},
                    },
                }
            ],
            "success_url": "http://app.test/ok",
        }
    )
    fake.complete_checkout(gift.id, email="giver@example.com")
    gift_charge = fake.get(fake.get(gift.id)["payment_intent"])["latest_charge"]
    with pytest.raises(ValueError):
        fake.dispute_charge(gift_charge, cancel_subscription=True)
