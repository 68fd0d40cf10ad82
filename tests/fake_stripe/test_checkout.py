"""Checkout Sessions, paid on the hosted page or by the helpers."""

import pytest
import stripe

from tests.fake_stripe import API_VERSION, FakeStripe
from tests.fake_stripe.harness import charge_of, drain, get_page, make_plan, post_form


def test_checkout_subscription_through_hosted_page(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    drain(fake, receiver)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer_email": "new.member@example.com",
            "client_reference_id": "42",
            "metadata": {"user_id": "42"},
            "subscription_data": {"metadata": {"user_id": "42"}},
            "line_items": [{"price": monthly.id, "quantity": 1}],
            "success_url": "http://app.test/membership/thanks/?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://app.test/membership/",
            "locale": "ru",
        }
    )
    assert session.id.startswith("cs_test_") and session.status == "open"
    assert session.url == f"{fake.url}/checkout/{session.id}"
    assert session.amount_total == 500 and session.currency == "eur"
    assert session.locale == "ru"

    status, html = get_page(session.url)
    assert status == 200
    assert 'value="new.member@example.com"' in html and ">Pay<" in html and ">Cancel<" in html

    status, location = post_form(
        f"{fake.url}/checkout/{session.id}/pay", email="new.member@example.com"
    )
    assert status == 303
    assert location == f"http://app.test/membership/thanks/?session_id={session.id}"
    # The webhooks landed before the redirect was answered.
    assert "checkout.session.completed" in receiver.types()

    done = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["subscription", "line_items"]}
    )
    assert done.status == "complete" and done.payment_status == "paid"
    assert done.customer.startswith("cus_") and done.url is None
    assert done.customer_details.email == "new.member@example.com"
    assert done.line_items.data[0].price.id == monthly.id
    sub = done.subscription
    assert sub.status == "active" and sub.metadata["user_id"] == "42"
    item = sub["items"].data[0]
    assert item.price.id == monthly.id and item.plan.interval == "month"
    assert item.current_period_start == sub.start_date
    assert 28 * 86400 <= item.current_period_end - item.current_period_start <= 31 * 86400
    assert "current_period_end" not in sub.to_dict()

    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 500 and invoice.total == 500
    assert invoice.customer == done.customer and invoice.currency == "eur"
    assert invoice.parent.type == "subscription_details"
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.to_dict()["subscription"] is None  # null, as in fixtures3.json
    line = invoice.lines.data[0]
    assert line.pricing.price_details.price == monthly.id
    assert line.parent.subscription_item_details.subscription_item == item.id
    assert line.period.end == item.current_period_end
    charge = client.v1.charges.retrieve(charge_of(fake, invoice.id)["id"])
    assert charge.paid and charge.amount == 500 and charge.customer == done.customer

    events = receiver.events()
    assert all(e.api_version == API_VERSION for e in events)
    assert [e.type for e in events] == [
        "customer.created",
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice_payment.paid",
        "customer.subscription.updated",
        "checkout.session.completed",
    ]
    by_type = {e.type: e for e in events}
    assert by_type["customer.subscription.created"].data.object.status == "incomplete"
    updated = by_type["customer.subscription.updated"].data
    assert updated.object.status == "active"
    assert updated.previous_attributes.to_dict() == {"status": "incomplete"}
    paid = by_type["invoice_payment.paid"].data.object
    assert paid.invoice == invoice.id and paid.status == "paid" and paid.amount_paid == 500
    assert fake.get(paid.payment.payment_intent)["latest_charge"] == charge.id
    completed = by_type["checkout.session.completed"].data.object
    assert completed.client_reference_id == "42" and completed.subscription == sub.id
    assert completed.success_url.endswith("{CHECKOUT_SESSION_ID}")
    assert [d.status for d in fake.deliveries[-len(events) :]] == [200] * len(events)

    listed = client.v1.checkout.sessions.list(params={"subscription": sub.id})
    assert [s.id for s in listed.data] == [session.id]
    by_email = client.v1.checkout.sessions.list(
        params={"customer_details": {"email": "new.member@example.com"}, "status": "complete"}
    )
    assert [s.id for s in by_email.data] == [session.id]

    # A completed session cannot be paid twice.
    status, _ = post_form(f"{fake.url}/checkout/{session.id}/pay", email="x@example.com")
    assert status == 400


def test_checkout_cancel_and_existing_customer(client, fake):
    _, monthly, _ = make_plan(client)
    customer = client.v1.customers.create(params={"email": "kept@example.com"})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": monthly.id, "quantity": 1}],
            "success_url": "http://app.test/ok",
            "cancel_url": "http://app.test/back",
        }
    )
    _, html = get_page(session.url)
    assert 'value="kept@example.com"' in html and "readonly" in html
    assert post_form(f"{fake.url}/checkout/{session.id}/cancel") == (303, "http://app.test/back")
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    fake.complete_checkout(session.id)
    assert client.v1.checkout.sessions.retrieve(session.id).customer == customer.id
    assert len(fake.objects("customer")) == 1


def test_checkout_refuses_what_stripe_refuses(client):
    _, monthly, _ = make_plan(client)
    base = {
        "success_url": "http://app.test/ok",
        "line_items": [{"price": monthly.id, "quantity": 1}],
    }
    refusals = {
        "payment mode with a recurring price": ({**base, "mode": "payment"}, "line_items"),
        "no mode": (base, "mode"),
        "a relative success URL": (
            {**base, "mode": "subscription", "success_url": "/ok"},
            "success_url",
        ),
        "customer and customer_email": (
            {**base, "mode": "subscription", "customer": "cus_x", "customer_email": "a@b.cd"},
            "customer_email",
        ),
        "subscription_data in payment mode": (
            {
                "mode": "payment",
                "success_url": "http://app.test/ok",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": 500,
                            "product_data": {"name": "Gift"},
                        },
                    }
                ],
                "subscription_data": {"metadata": {"a": "b"}},
            },
            "subscription_data",
        ),
        "less than the minimum": (
            {
                "mode": "payment",
                "success_url": "http://app.test/ok",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": 20,
                            "product_data": {"name": "Gift"},
                        },
                    }
                ],
            },
            "line_items",
        ),
    }
    for name, (params, param) in refusals.items():
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.checkout.sessions.create(params=params)
        assert error.value.param == param, name
    client.v1.prices.update(monthly.id, params={"active": False})
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(params={**base, "mode": "subscription"})
    assert error.value.param == "line_items[0][price]"


def test_checkout_payment_mode_custom_amount(client, fake, receiver):
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "submit_type": "donate",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 1234,
                        "product_data": {"name": "Donation"},
                    },
                }
            ],
            "payment_intent_data": {"metadata": {"kind": "donation"}},
            "success_url": "http://app.test/donate/thanks/",
        }
    )
    assert session.amount_total == 1234 and session.payment_intent is None
    _, html = get_page(session.url)
    assert "$12.34" in html
    status, html = post_form(f"{fake.url}/checkout/{session.id}/pay", email="not an address")
    assert status == 400 and 'role="alert"' in html
    assert post_form(f"{fake.url}/checkout/{session.id}/pay", email="donor@example.com")[0] == 303
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert done.payment_status == "paid" and done.customer is None
    assert done.customer_details.email == "donor@example.com"
    assert done.payment_intent.metadata["kind"] == "donation"
    assert done.payment_intent.status == "succeeded"
    assert receiver.types()[-4:] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    [charge] = client.v1.charges.list(params={"payment_intent": done.payment_intent.id}).data
    assert charge.amount == 1234 and charge.billing_details.email == "donor@example.com"

    # A monthly donation with a custom amount.
    monthly = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 700,
                        "product_data": {"name": "Monthly gift"},
                        "recurring": {"interval": "month"},
                    },
                }
            ],
            "subscription_data": {"metadata": {"kind": "donation"}},
            "success_url": "http://app.test/ok",
        }
    )
    fake.complete_checkout(monthly.id, email="donor@example.com")
    sub = client.v1.subscriptions.retrieve(
        client.v1.checkout.sessions.retrieve(monthly.id).subscription
    )
    assert sub["items"].data[0].price.unit_amount == 700
    assert sub["items"].data[0].price.active is False
    assert sub.metadata["kind"] == "donation"


def test_async_payment(client, fake, receiver):
    def gift():
        return client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 2,
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": 1000,
                            "product_data": {"name": "Gift"},
                        },
                    }
                ],
                "success_url": "http://app.test/ok",
            }
        )

    session = gift()
    fake.complete_checkout(session.id, email="slow@example.com", async_payment=True)
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "unpaid"
    fake.settle_async_payment(session.id, succeeded=True)
    assert receiver.types()[-3:] == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.async_payment_succeeded",
    ]
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"

    bounced = gift()
    fake.complete_checkout(bounced.id, email="slow@example.com", async_payment=True)
    fake.settle_async_payment(bounced.id, succeeded=False)
    assert receiver.types()[-1] == "checkout.session.async_payment_failed"
    assert client.v1.checkout.sessions.retrieve(bounced.id).payment_status == "unpaid"


def test_expired_session(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": monthly.id, "quantity": 1}],
            "success_url": "http://app.test/ok",
        }
    )
    expired = fake.expire_checkout_session(session.id)
    assert expired["status"] == "expired" and expired["url"] is None
    assert receiver.types()[-1] == "checkout.session.expired"
    _, html = get_page(f"{fake.url}/checkout/{session.id}")
    assert "no longer active" in html
    assert post_form(f"{fake.url}/checkout/{session.id}/pay", email="a@example.com")[0] == 400


def test_sessions_listed_since_a_day():
    now = [1_750_000_000]
    with FakeStripe(now=lambda: now[0]) as fake:
        client = fake.client()
        _, monthly, _ = make_plan(client)
        params = {
            "mode": "subscription",
            "line_items": [{"price": monthly.id, "quantity": 1}],
            "success_url": "http://app.test/ok",
        }
        old = client.v1.checkout.sessions.create(params=params)
        now[0] += 40 * 86400
        recent = client.v1.checkout.sessions.create(params=params)
        for session in (old, recent):
            fake.complete_checkout(session.id, email="a@example.com")
        since = now[0] - 30 * 86400
        listed = client.v1.checkout.sessions.list(
            params={"status": "complete", "created": {"gte": since}}
        )
        assert [s.id for s in listed.data] == [recent.id]
