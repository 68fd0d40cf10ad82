"""Hand-signed Stripe webhook deliveries for the webhook tests.

Stripe signs `f"{t}.{body}"` with HMAC-SHA256 under the endpoint's secret and sends
`Stripe-Signature: t=<t>,v1=<hex>`; the view verifies it over the exact bytes received. The
signature is the fake Stripe's own (`tests.fake_stripe.sign`), so both kinds of delivery are
signed alike.
"""

import itertools
import json
import time

import pytest
from django.urls import reverse

from members.models import Customer
from tests import corpus
from tests.factories import MembershipFactory, PriceFactory, UserFactory
from tests.fake_stripe import sign

SECRET = "whsec_test_newsroom_webhook_secret"
OLD_SECRET = "whsec_test_previous_secret"
API_VERSION = "2026-10-28.endive"
URL = "/membership/stripe/webhook/"

_ids = itertools.count(1)


@pytest.fixture
def stripe_settings(settings):
    """Test mode, with a current and a previous webhook secret (rotation)."""
    settings.STRIPE_WEBHOOK_SECRETS = [SECRET, OLD_SECRET]
    settings.STRIPE_LIVEMODE = False
    settings.STRIPE_SECRET_KEY = "sk_test_newsroom"
    return settings


def webhook_url():
    assert reverse("members:stripe-webhook") == URL
    return URL


def signature(body, secret=SECRET, timestamp=None):
    """The `Stripe-Signature` header for `body` (bytes), signed now unless `timestamp` says."""
    return sign(body, secret, timestamp)


def make_event(type, obj, *, created=None, livemode=False, id=None):
    """A current-shape event envelope around `obj`, with a fresh id."""
    return {
        "id": id or f"evt_test_{next(_ids):06d}_{time.time_ns()}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()) if created is None else int(created),
        "data": {"object": obj},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def body_of(event):
    return event if isinstance(event, bytes) else json.dumps(event).encode()


def post(client, event, *, secret=SECRET, timestamp=None, header=None, **extra):
    """POST the event's raw bytes, signed (or with the given Stripe-Signature `header`);
    `extra` are more request headers (`HTTP_ACCEPT_LANGUAGE="ru"`)."""
    body = body_of(event)
    if header is None:
        header = signature(body, secret, timestamp)
    headers = {} if header is False else {"HTTP_STRIPE_SIGNATURE": header}
    return client.post(
        webhook_url(), data=body, content_type="application/json", **headers, **extra
    )


def corpus_event(name, **changes):
    """A corpus file as a full event with a fresh id (`*.data.json` files are wrapped)."""
    data = corpus.stripe_event_payload(name)
    if name.endswith(".data.json"):
        type_ = name.split("--")[0]
        event = make_event(type_, data["object"], livemode=data["object"].get("livemode", False))
        event["created"] = data["object"].get("created", event["created"])
    else:
        event = data
        event["id"] = f"evt_corpus_{next(_ids):06d}_{time.time_ns()}"
    event.update(changes)
    return event


def subscription(
    id="sub_test_1",
    *,
    price_id="price_test_month_eur",
    status="active",
    customer="cus_test_1",
    period_end=None,
    metadata=None,
    **extra,
):
    """A subscription in the current (2026) shape: the period lives on the item."""
    period_end = int(time.time()) + 30 * 86400 if period_end is None else period_end
    return {
        "id": id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "ended_at": None,
        "livemode": False,
        "metadata": metadata or {},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_test_1",
                    "object": "subscription_item",
                    "price": {
                        "id": price_id,
                        "object": "price",
                        "unit_amount": 500,
                        "currency": "eur",
                    },
                    "quantity": 1,
                    "current_period_start": period_end - 30 * 86400,
                    "current_period_end": period_end,
                }
            ],
        },
        **extra,
    }


def invoice(id="in_test_1", *, subscription_id="sub_test_1", amount=500, currency="eur", **extra):
    """A paid invoice in the current shape: the subscription under parent."""
    return {
        "id": id,
        "object": "invoice",
        "amount_due": amount,
        "amount_paid": amount,
        "attempt_count": 1,
        "currency": currency,
        "customer": "cus_test_1",
        "status": "paid",
        "billing_reason": "subscription_cycle",
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_test/{id}",
        "livemode": False,
        "next_payment_attempt": None,
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription_id},
        },
        "status_transitions": {"paid_at": int(time.time())},
        **extra,
    }


def unpaid_invoice(id="in_test_2", *, attempt_count=1, **extra):
    """A renewal invoice whose payment failed (or waits for the customer's bank): still open."""
    fields = {
        "amount_paid": 0,
        "status": "open",
        "attempt_count": attempt_count,
        "next_payment_attempt": int(time.time()) + 3 * 86400,
        "status_transitions": {"paid_at": None},
    }
    return invoice(id, **(fields | extra))


def checkout_session(**changes):
    """A completed Checkout session (subscription mode, paid) as Stripe sends it."""
    session = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "subscription",
        "status": "complete",
        "payment_status": "paid",
        "amount_subtotal": 500,
        "amount_total": 500,
        "currency": "eur",
        "customer": "cus_new_1",
        "customer_details": {"email": "new.member@example.com"},
        "subscription": "sub_new_1",
        "livemode": False,
        "metadata": {},
    }
    session.update(changes)
    return session


def donation_session(**changes):
    """A one-off gift paid by bank debit: Checkout completes before the money arrives."""
    fields = {
        "id": "cs_gift_1",
        "mode": "payment",
        "payment_status": "unpaid",
        "subscription": None,
        "customer": None,
        "payment_intent": "pi_gift_1",
        "amount_total": 2500,
        "amount_subtotal": 2500,
        "customer_details": {"email": "giver@example.com"},
        "metadata": {"kind": "donation"},
    }
    return checkout_session(**(fields | changes))


def a_member_subscription(*, email=None, **kwargs):
    """A local membership for `sub_test_1` (customer `cus_test_1`), as the checkout left it."""
    price = kwargs.pop("price", None) or PriceFactory()
    user = UserFactory(**({"email": email} if email else {}))
    Customer.objects.create(user=user, stripe_customer_id="cus_test_1")
    return MembershipFactory(
        user=user,
        price=price,
        stripe_subscription_id="sub_test_1",
        stripe_customer_id="cus_test_1",
        **kwargs,
    )


# Through the fake Stripe (tests/fake_stripe) ----------------------------------------------------


def plan_price_at(fake):
    """A monthly 5 EUR plan price, created at the fake Stripe and known here."""
    stripe = fake.client()
    product = stripe.v1.products.create(params={"name": "Supporter"})
    price = stripe.v1.prices.create(
        params={
            "product": product.id,
            "unit_amount": 500,
            "currency": "eur",
            "recurring": {"interval": "month"},
        }
    )
    # Events of API calls follow the response; the test database is shared with the live server,
    # so they must have landed before the test writes to it.
    fake.wait_for_webhooks()
    return PriceFactory(stripe_price_id=price.id)


def join_at(fake, user, price):
    """The join button's Checkout session (as members.billing makes it), paid on the hosted
    page; returns the membership the webhooks made of it."""
    stripe = fake.client()
    customer = stripe.v1.customers.create(
        params={"email": user.email, "metadata": {"user_id": str(user.pk)}}
    )
    fake.wait_for_webhooks()
    Customer.objects.create(user=user, stripe_customer_id=customer.id)
    metadata = {"user_id": str(user.pk), "kind": "membership", "price_id": price.stripe_price_id}
    session = stripe.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "client_reference_id": str(user.pk),
            "line_items": [{"price": price.stripe_price_id, "quantity": 1}],
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
            "success_url": "https://testserver/membership/welcome/",
            "cancel_url": "https://testserver/membership/",
        }
    )
    fake.wait_for_webhooks()
    fake.complete_checkout(session.id)
    return user.memberships.get()


def give_at(fake, email, amount=2500, *, async_payment=False):
    """A one-off gift through Checkout (payment mode, as members.billing makes it); returns the
    session id. `async_payment`: paid by bank debit, settled later."""
    stripe = fake.client()
    metadata = {"kind": "donation"}
    session = stripe.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "submit_type": "donate",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": amount,
                        "product_data": {"name": "Donation"},
                    },
                    "quantity": 1,
                }
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": "https://testserver/donate/thanks/",
            "cancel_url": "https://testserver/donate/",
        }
    )
    fake.wait_for_webhooks()
    fake.complete_checkout(session.id, email=email, async_payment=async_payment)
    return session.id


def redeliver_everything(fake):
    """Stripe's at-least-once delivery: every event sent again, byte for byte."""
    for event in list(fake.events):
        fake.redeliver(event["id"])
