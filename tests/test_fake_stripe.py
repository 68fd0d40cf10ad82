"""The fake Stripe server, exercised with the real stripe SDK and a real webhook receiver.

No database: these tests only talk HTTP on 127.0.0.1.
"""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from tests import corpus
from tests.fake_stripe import API_VERSION, FakeStripe, parse_params, sign
from tests.fake_stripe.server import _ROUTES, _params_class

SECRET = "whsec_test_fake"


class Receiver:
    """A tiny webhook endpoint: records raw bodies and signature headers, answers ``status``."""

    def __init__(self):
        self.received: list[tuple[bytes, str | None]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((body, self.headers.get("Stripe-Signature")))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook/"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def events(self, secret=SECRET):
        """Every received delivery, verified as the app would verify it."""
        return [
            stripe.Webhook.construct_event(body, header, secret) for body, header in self.received
        ]

    def types(self):
        return [json.loads(body)["type"] for body, _ in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def fake(receiver):
    with FakeStripe(webhook_url=receiver.url, webhook_secret=SECRET) as f:
        yield f


@pytest.fixture
def client(fake):
    return stripe.StripeClient(
        "sk_test_123", base_addresses=fake.base_addresses, max_network_retries=0
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def get_page(url):
    with _opener.open(url, timeout=5) as response:
        return response.status, response.read().decode()


def post_form(url, **fields):
    """POST a hosted-page form; return (status, Location header or body)."""
    data = urllib.parse.urlencode(fields).encode()
    try:
        with _opener.open(urllib.request.Request(url, data=data), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location") or error.read().decode()


def drain(fake, receiver):
    """Let deliveries of earlier API calls finish (they follow the response), then forget them."""
    fake.wait_for_webhooks()
    receiver.received.clear()


def make_plan(client):
    product = client.v1.products.create(params={"name": "Membership"})
    monthly = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
            "lookup_key": "member_eur_month",
        }
    )
    yearly = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 5000,
            "recurring": {"interval": "year"},
            "lookup_key": "member_eur_year",
        }
    )
    return product, monthly, yearly


def subscribe(client, fake, price, email="reader@example.com"):
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer_email": email,
            "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": "http://app.test/ok?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://app.test/cancel",
        }
    )
    fake.complete_checkout(session.id)
    session = client.v1.checkout.sessions.retrieve(session.id)
    return client.v1.subscriptions.retrieve(session.subscription)


# --------------------------------------------------------------------------------------------


def test_customers_products_prices_read_back(client, fake):
    customer = client.v1.customers.create(
        params={"email": "ana@example.com", "name": "Ana", "metadata": {"user_id": "7"}}
    )
    assert customer.id.startswith("cus_") and customer.object == "customer"
    assert customer.livemode is False and customer.metadata["user_id"] == "7"
    again = client.v1.customers.retrieve(customer.id)
    assert again.to_dict() == customer.to_dict()
    updated = client.v1.customers.update(
        customer.id, params={"metadata": {"user_id": ""}, "name": "Ana B."}
    )
    assert updated.name == "Ana B." and updated.metadata.to_dict() == {}
    found = client.v1.customers.list(params={"email": "ana@example.com"})
    assert [c.id for c in found.data] == [customer.id] and found.url == "/v1/customers"
    searched = client.v1.customers.search(params={"query": "email:'ana@example.com'"})
    assert [c.id for c in searched.data] == [customer.id]

    product, monthly, _ = make_plan(client)
    assert product.id.startswith("prod_") and monthly.id.startswith("price_")
    price = client.v1.prices.retrieve(monthly.id, params={"expand": ["product"]})
    assert price.product.name == "Membership"
    assert price.recurring.interval == "month" and price.unit_amount == 500
    assert price.type == "recurring" and price.currency == "eur"
    assert [e["type"] for e in fake.events] == [
        "customer.created",
        "customer.updated",
        "product.created",
        "price.created",
        "price.created",
    ]
    updated_event = fake.events[1]
    assert updated_event["data"]["previous_attributes"] == {
        "metadata": {"user_id": "7"},
        "name": "Ana",
    }


def test_prices_by_lookup_key(client):
    product, monthly, yearly = make_plan(client)
    listed = client.v1.prices.list(params={"lookup_keys": ["member_eur_year"]})
    assert [p.id for p in listed.data] == [yearly.id]
    both = client.v1.prices.list(
        params={"lookup_keys": ["member_eur_month", "member_eur_year"], "active": True}
    )
    assert {p.id for p in both.data} == {monthly.id, yearly.id}

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.prices.create(
            params={
                "product": product.id,
                "currency": "eur",
                "unit_amount": 600,
                "recurring": {"interval": "month"},
                "lookup_key": "member_eur_month",
            }
        )
    assert error.value.param == "lookup_key"
    moved = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 600,
            "recurring": {"interval": "month"},
            "lookup_key": "member_eur_month",
            "transfer_lookup_key": True,
        }
    )
    listed = client.v1.prices.list(params={"lookup_keys": ["member_eur_month"]})
    assert [p.id for p in listed.data] == [moved.id]
    assert client.v1.prices.retrieve(monthly.id).lookup_key is None

    client.v1.prices.update(moved.id, params={"active": False})
    assert [p.id for p in client.v1.prices.list(params={"active": False}).data] == [moved.id]


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
        }
    )
    assert session.id.startswith("cs_test_") and session.status == "open"
    assert session.url == f"{fake.url}/checkout/{session.id}"
    assert session.amount_total == 500 and session.currency == "eur"

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
    payments = client.v1.invoice_payments.list(params={"invoice": invoice.id})
    pi = client.v1.payment_intents.retrieve(payments.data[0].payment.payment_intent)
    assert pi.status == "succeeded" and pi.amount_received == 500
    charge = client.v1.charges.retrieve(pi.latest_charge)
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
    completed = by_type["checkout.session.completed"].data.object
    assert completed.client_reference_id == "42" and completed.subscription == sub.id
    assert completed.success_url.endswith("{CHECKOUT_SESSION_ID}")
    assert [d.status for d in fake.deliveries[-len(events) :]] == [200] * len(events)

    listed = client.v1.checkout.sessions.list(params={"subscription": sub.id})
    assert [s.id for s in listed.data] == [session.id]

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
    session = client.v1.checkout.sessions.create(
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
    fake.complete_checkout(session.id, email="slow@example.com", async_payment=True)
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "unpaid"
    fake.settle_async_payment(session.id, succeeded=True)
    assert receiver.types()[-1] == "checkout.session.async_payment_succeeded"
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"


def test_idempotent_create(client, fake):
    params = {"email": "twice@example.com"}
    first = client.v1.customers.create(params=params, options={"idempotency_key": "join-1"})
    second = client.v1.customers.create(params=params, options={"idempotency_key": "join-1"})
    assert first.id == second.id
    assert len(fake.objects("customer")) == 1
    assert len(fake.events_of("customer.created")) == 1
    posts = fake.api_requests("POST", "/v1/customers")
    assert [r.idempotency_key for r in posts] == ["join-1", "join-1"]
    assert [r.replayed for r in posts] == [False, True]
    assert posts[0].stripe_version == API_VERSION
    assert posts[0].params == {"email": "twice@example.com"}

    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(
            params={"email": "other@example.com"}, options={"idempotency_key": "join-1"}
        )

    # A failed request is not remembered: the same key may then succeed.
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(
            params={"email": "not-an-email"}, options={"idempotency_key": "join-2"}
        )
    client.v1.customers.create(
        params={"email": "ok@example.com"}, options={"idempotency_key": "join-2"}
    )


def test_concurrent_double_click_is_one_session(client, fake):
    _, monthly, _ = make_plan(client)
    params = {
        "mode": "subscription",
        "line_items": [{"price": monthly.id, "quantity": 1}],
        "success_url": "http://app.test/ok",
    }
    ids = []

    def create():
        session = client.v1.checkout.sessions.create(
            params=params, options={"idempotency_key": "checkout-user-1-plan-1"}
        )
        ids.append(session.id)

    threads = [threading.Thread(target=create) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(fake.objects("checkout.session")) == 1


def test_portal_cancel_renew_and_cancel_now(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    portal = client.v1.billing_portal.sessions.create(
        params={"customer": sub.customer, "return_url": "http://app.test/account/"}
    )
    assert portal.id.startswith("bps_") and portal.url == f"{fake.url}/portal/{portal.id}"
    status, html = get_page(portal.url)
    assert ">Cancel at period end<" in html and ">Cancel now<" in html
    assert ">Switch to Membership — €50.00 per year<" in html and ">Return<" in html

    drain(fake, receiver)
    status, html = post_form(portal.url, action="cancel_at_period_end", subscription=sub.id)
    assert status == 200 and "Cancels on" in html and ">Renew<" in html
    [event] = receiver.events()
    assert event.type == "customer.subscription.updated"
    assert event.data.object.cancel_at_period_end is True
    period_end = sub["items"].data[0].current_period_end
    assert event.data.object.cancel_at == period_end
    assert event.data.object.cancellation_details.reason == "cancellation_requested"
    assert event.data.previous_attributes.cancel_at_period_end is False
    assert event.data.previous_attributes.cancel_at is None

    post_form(portal.url, action="renew", subscription=sub.id)
    assert client.v1.subscriptions.retrieve(sub.id).cancel_at_period_end is False

    drain(fake, receiver)
    post_form(portal.url, action="cancel_now", subscription=sub.id)
    [event] = receiver.events()
    assert event.type == "customer.subscription.deleted"
    assert event.data.object.status == "canceled" and event.data.object.ended_at
    assert post_form(f"{portal.url}/return") == (303, "http://app.test/account/")

    # Someone else's subscription is refused.
    other = subscribe(client, fake, monthly, email="other@example.com")
    status, _ = post_form(portal.url, action="cancel_now", subscription=other.id)
    assert status == 400
    assert client.v1.subscriptions.retrieve(other.id).status == "active"


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
    types = receiver.types()
    assert types[0] == "customer.subscription.updated" and "invoice.paid" in types
    previous = receiver.events()[0].data.previous_attributes
    assert previous["items"]["data"][0]["price"]["id"] == monthly.id


def test_subscription_api_update_cancel_and_list(client, fake, receiver):
    _, monthly, yearly = make_plan(client)
    sub = subscribe(client, fake, monthly)
    drain(fake, receiver)
    updated = client.v1.subscriptions.update(
        sub.id, params={"cancel_at_period_end": True}, options={"idempotency_key": "cancel-1"}
    )
    assert updated.cancel_at_period_end is True
    fake.wait_for_webhooks()
    assert receiver.events()[-1].request.idempotency_key == "cancel-1"
    switched = client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": sub["items"].data[0].id, "price": yearly.id}],
            "proration_behavior": "none",
        },
    )
    assert switched["items"].data[0].price.id == yearly.id
    assert len(switched["items"].data) == 1
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled"
    fake.wait_for_webhooks()
    assert receiver.types()[-1] == "customer.subscription.deleted"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": False})

    assert client.v1.subscriptions.list(params={"customer": sub.customer}).data == []
    everything = client.v1.subscriptions.list(params={"customer": sub.customer, "status": "all"})
    assert [s.id for s in everything.data] == [sub.id]
    items = client.v1.subscription_items.list(params={"subscription": sub.id})
    assert items.data[0].current_period_end
    invoices = client.v1.invoices.list(params={"subscription": sub.id})
    assert len(invoices.data) == 2  # creation, then the interval change


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
    failed = fake.advance_subscription(sub.id, outcome="failed")
    assert failed["status"] == "past_due"
    assert receiver.types()[-2:] == ["invoice.payment_failed", "customer.subscription.updated"]
    open_invoice = client.v1.invoices.retrieve(failed["latest_invoice"])
    assert open_invoice.status == "open" and open_invoice.amount_paid == 0
    assert open_invoice.hosted_invoice_url == f"{fake.url}/invoice/{open_invoice.id}"
    _, html = get_page(open_invoice.hosted_invoice_url)
    assert ">Pay invoice<" in html
    assert post_form(f"{open_invoice.hosted_invoice_url}/pay")[0] == 303
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert receiver.types()[-1] == "customer.subscription.updated"

    drain(fake, receiver)
    fake.require_action_on_renewal(sub.id)
    assert "invoice.payment_action_required" in receiver.types()
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"

    client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    drain(fake, receiver)
    ended = fake.advance_subscription(sub.id)
    assert ended["status"] == "canceled" and receiver.types() == ["customer.subscription.deleted"]


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
    sub = fake.get(fake.get(session.id)["subscription"])
    assert sub["status"] == "trialing" and sub["trial_end"] - sub["trial_start"] == 14 * 86400
    assert fake.get(sub["latest_invoice"])["amount_paid"] == 0
    assert fake.advance_subscription(sub["id"])["status"] == "active"


def test_refunds_and_disputes(client, fake, receiver):
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    payment = client.v1.invoice_payments.list(params={"invoice": sub.latest_invoice}).data[0]
    pi_id = payment.payment.payment_intent
    charge_id = client.v1.payment_intents.retrieve(pi_id).latest_charge

    drain(fake, receiver)
    partial = client.v1.refunds.create(params={"charge": charge_id, "amount": 200})
    assert partial.id.startswith("re_") and partial.status == "succeeded"
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
    client.v1.refunds.create(params={"payment_intent": pi_id})
    charge = client.v1.charges.retrieve(charge_id)
    assert charge.amount_refunded == 500 and charge.refunded is True
    assert len(charge.refunds.data) == 2
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create(params={"charge": charge_id})
    assert error.value.code == "charge_already_refunded"
    assert len(client.v1.refunds.list(params={"charge": charge_id}).data) == 2

    dispute = fake.dispute_charge(charge_id)
    assert dispute["id"].startswith("dp_") and receiver.types()[-1] == "charge.dispute.created"
    assert client.v1.charges.retrieve(charge_id).disputed is True


def test_error_shapes(client, fake):
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.customers.retrieve("cus_missing")
    assert error.value.http_status == 404 and error.value.code == "resource_missing"
    assert error.value.json_body["error"]["type"] == "invalid_request_error"
    assert error.value.param == "id"

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.prices.create(params={"currency": "eur", "unit_amount": 100})
    assert error.value.http_status == 400 and error.value.param == "product"

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "success_url": "http://app.test/ok",
                "line_items": [{"price": "price_nope"}],
            }
        )
    assert error.value.param == "line_items[0][quantity]"

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscriptions.update("sub_x", params={"current_period_end": 1})
    assert error.value.code == "parameter_unknown" and error.value.param == "current_period_end"

    bad_key = stripe.StripeClient(
        "sk_live_nope", base_addresses=fake.base_addresses, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as error:
        bad_key.v1.customers.list()
    assert error.value.http_status == 401

    request = urllib.request.Request(f"{fake.url}/v1/customers")
    with pytest.raises(urllib.error.HTTPError) as raw:
        _opener.open(request, timeout=5)
    assert raw.value.code == 401
    assert json.loads(raw.value.read())["error"]["type"] == "invalid_request_error"

    request = urllib.request.Request(
        f"{fake.url}/v1/nothing/here", headers={"Authorization": "Bearer sk_test_x"}
    )
    with pytest.raises(urllib.error.HTTPError) as raw:
        _opener.open(request, timeout=5)
    body = json.loads(raw.value.read())
    assert raw.value.code == 404 and body["error"]["code"] == "resource_missing"
    assert get_page_status(f"{fake.url}/checkout/cs_test_nope") == 404


def get_page_status(url):
    try:
        return get_page(url)[0]
    except urllib.error.HTTPError as error:
        return error.code


def test_expand_and_pagination(client, fake):
    for i in range(3):
        client.v1.customers.create(params={"email": f"c{i}@example.com"})
    page = client.v1.customers.list(params={"limit": 2})
    assert len(page.data) == 2 and page.has_more is True
    assert page.data[0].email == "c2@example.com"  # newest first
    rest = client.v1.customers.list(params={"limit": 2, "starting_after": page.data[-1].id})
    assert [c.email for c in rest.data] == ["c0@example.com"] and rest.has_more is False
    assert len(list(client.v1.customers.list(params={"limit": 1}).auto_paging_iter())) == 3

    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    expanded = client.v1.subscriptions.retrieve(
        sub.id, params={"expand": ["customer", "latest_invoice", "items.data.price.product"]}
    )
    assert expanded.customer.email == "reader@example.com"
    assert expanded.latest_invoice.object == "invoice"
    assert expanded["items"].data[0].price.product.name == "Membership"
    listed = client.v1.subscriptions.list(params={"expand": ["data.customer"]})
    assert listed.data[0].customer.object == "customer"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.retrieve(sub.id, params={"expand": ["status"]})


def test_signatures_redelivery_and_hand_made_events(client, fake, receiver):
    payload = b'{"id": "evt_1", "object": "event"}'
    header = sign(payload, SECRET, int(time.time()))
    stripe.WebhookSignature.verify_header(payload.decode(), header, SECRET)
    rotated = sign(payload, ["whsec_old", SECRET], 1_700_000_000)
    assert rotated.startswith("t=1700000000,v1=") and rotated.count("v1=") == 2

    customer = client.v1.customers.create(params={"email": "sig@example.com"})
    fake.wait_for_webhooks()
    [event] = fake.events_of("customer.created")
    assert event["data"]["object"]["id"] == customer.id
    first_body = receiver.received[-1][0]
    assert fake.redeliver(event["id"]).status == 200
    assert receiver.received[-1][0] == first_body  # byte for byte

    old = fake.redeliver(event["id"], timestamp=int(time.time()) - 600)
    assert old.status == 200
    body, header = receiver.received[-1]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, SECRET)
    fake.send_event(event, secret="whsec_wrong")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(*receiver.received[-1], SECRET)
    fake.send_event(event, omit_signature=True)
    assert receiver.received[-1][1] is None
    fake.send_event(b"{not json", signature="t=1,v1=00")
    assert receiver.received[-1] == (b"{not json", "t=1,v1=00")

    hand_made = fake.make_event(
        "customer.subscription.deleted", {"id": "sub_x", "object": "subscription"}
    )
    fake.send_event(hand_made)
    assert stripe.Webhook.construct_event(*receiver.received[-1], SECRET).id == hand_made["id"]

    receiver.status = 500
    client.v1.customers.update(customer.id, params={"name": "Sig"})
    fake.wait_for_webhooks()
    assert fake.deliveries[-1].status == 500 and not fake.deliveries[-1].ok
    receiver.status = 200
    [retried] = fake.retry_failed()
    assert retried.ok and retried.event_type == "customer.updated"


def test_queued_delivery_for_reordering(receiver):
    with FakeStripe(
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        auto_deliver=False,
        enabled_events=["customer.subscription.*"],
    ) as fake:
        client = fake.client()
        _, monthly, _ = make_plan(client)
        sub = subscribe(client, fake, monthly)
        fake.cancel_subscription(sub.id)
        assert receiver.received == []
        queued = [e["type"] for e in fake.pending_events()]
        assert queued == [
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
        ]
        fake.deliver_pending()
        assert receiver.types() == queued
        # Late and out of order: an older "updated" after the deletion.
        fake.redeliver(fake.events_of("customer.subscription.updated")[0]["id"])
        assert receiver.types()[-1] == "customer.subscription.updated"


def test_clock_and_reset():
    now = [1_750_000_000]
    with FakeStripe(now=lambda: now[0]) as fake:
        client = fake.client()
        _, monthly, _ = make_plan(client)
        sub = subscribe(client, fake, monthly)
        assert sub.created == 1_750_000_000
        assert sub["items"].data[0].current_period_end == 1_752_592_000  # +1 calendar month
        now[0] += 3600
        assert client.v1.customers.create().created == 1_750_003_600
        assert fake.events[-1]["created"] == 1_750_003_600
        fake.reset()
        assert fake.events == [] and client.v1.customers.list().data == []


def test_parse_params_and_routes():
    assert parse_params(
        "line_items[0][price]=p&line_items[0][quantity]=1&metadata[a]=b&expand[]=x&expand[]=y"
        "&lookup_keys[0]=k"
    ) == {
        "line_items": [{"price": "p", "quantity": "1"}],
        "metadata": {"a": "b"},
        "expand": ["x", "y"],
        "lookup_keys": ["k"],
    }
    for method, pattern, handler, params_class in _ROUTES:
        assert _params_class(params_class) is not None, params_class


def test_objects_have_every_field_of_stripes_examples(client, fake):
    """Each object carries every top-level field of Stripe's example object (fixtures3.json,
    read in place)."""
    examples = corpus.stripe_fixtures()["resources"]
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    invoice = fake.get(sub.latest_invoice)
    charge = fake.objects("charge")[0]
    refund = client.v1.refunds.create(params={"charge": charge["id"], "amount": 100})
    portal = client.v1.billing_portal.sessions.create(params={"customer": sub.customer})
    session = fake.objects("checkout.session")[0]
    ours = {
        "customer": fake.get(sub.customer),
        "product": fake.get(monthly.product),
        "price": fake.get(monthly.id),
        "plan": fake.get(sub.id)["items"]["data"][0]["plan"],
        "checkout.session": session,
        "item": client.v1.checkout.sessions.line_items.list(session["id"]).data[0].to_dict(),
        "billing_portal.session": fake.get(portal.id),
        "subscription": fake.get(sub.id),
        "subscription_item": fake.get(sub.id)["items"]["data"][0],
        "invoice": invoice,
        "line_item": invoice["lines"]["data"][0],
        "invoice_payment": fake.objects("invoice_payment")[0],
        "payment_intent": fake.objects("payment_intent")[0],
        "payment_method": fake.objects("payment_method")[0],
        "charge": fake.get(charge["id"]),
        "refund": fake.get(refund.id),
        "dispute": fake.dispute_charge(charge["id"]),
        "event": fake.events[0],
    }
    for kind, obj in ours.items():
        missing = set(examples[kind]) - set(obj)
        assert not missing, (kind, missing)
        assert obj["object"] == examples[kind]["object"], kind
