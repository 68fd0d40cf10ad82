"""Hand-signed Stripe webhook deliveries for the webhook tests.

Stripe signs `f"{t}.{body}"` with HMAC-SHA256 under the endpoint's secret and sends
`Stripe-Signature: t=<t>,v1=<hex>`; the view verifies it over the exact bytes received.
"""

import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path

import pytest
from django.urls import reverse

SECRET = "whsec_test_newsroom_webhook_secret"
OLD_SECRET = "whsec_test_previous_secret"
API_VERSION = "2026-10-28.endive"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "stripe" / "events"
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
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


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


def post(client, event, *, secret=SECRET, timestamp=None, header=None):
    """POST the event's raw bytes, signed (or with the given Stripe-Signature `header`)."""
    body = body_of(event)
    if header is None:
        header = signature(body, secret, timestamp)
    headers = {} if header is False else {"HTTP_STRIPE_SIGNATURE": header}
    return client.post(webhook_url(), data=body, content_type="application/json", **headers)


def corpus_event(name, **changes):
    """A corpus file as a full event with a fresh id (`*.data.json` files are wrapped)."""
    data = json.loads((CORPUS / name).read_text())
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


def invoice(id="in_test_1", *, subscription_id="sub_test_1", amount=500, currency="eur"):
    """A paid invoice in the current shape: the subscription under parent."""
    return {
        "id": id,
        "object": "invoice",
        "amount_paid": amount,
        "currency": currency,
        "customer": "cus_test_1",
        "status": "paid",
        "billing_reason": "subscription_cycle",
        "livemode": False,
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription_id},
        },
        "status_transitions": {"paid_at": int(time.time())},
    }
