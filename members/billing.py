"""Calls to Stripe: the client, customers, Checkout and Customer Portal sessions, cancellations.

The only module that talks to Stripe's API (webhooks only listen). Every call that a double-click,
a retried request or a re-run could repeat passes a deterministic idempotency key, so Stripe
answers a repeat with the first call's result instead of acting twice (the SDK's own random key
only covers its own retries).
"""

import hashlib
import json
import logging

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from .models import Customer, Donation, Membership

logger = logging.getLogger(__name__)

KIND_MEMBERSHIP = "membership"
KIND_DONATION = "donation"

# Stripe Checkout's own interface languages that match the site's; others fall back to "auto".
CHECKOUT_LOCALES = {"en", "ru"}


class StripeNotConfigured(Exception):
    """Payments cannot start: a key or a Stripe price is missing. The message tells the operator
    what to do; readers get a polite "not available" page."""


class NoBillingAccount(Exception):
    """The user has never paid through Stripe, so there is no customer (or portal) to open."""


def client():
    """A Stripe client for the configured key; pointed at the fake Stripe in tests."""
    if not settings.STRIPE_SECRET_KEY:
        raise StripeNotConfigured(
            "Stripe is not configured: set STRIPE_SECRET_KEY (sk_test_… or sk_live_…); "
            "see docs/stripe.md."
        )
    options = {}
    if settings.STRIPE_API_BASE:
        base = settings.STRIPE_API_BASE.rstrip("/")
        options["base_addresses"] = {"api": base, "connect": base, "files": base}
        # The fake answers at once or not at all: a retry would only hide a bug.
        options["max_network_retries"] = 0
    else:
        options["max_network_retries"] = 2
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **options)


def check_can_sell(price):
    """Raise StripeNotConfigured unless a Checkout for `price` could start (checked before a
    reader is asked to sign up, so nobody makes an account for a payment that cannot happen)."""
    if not settings.STRIPE_SECRET_KEY:
        client()  # raises, saying what to set
    if not price.stripe_price_id:
        raise StripeNotConfigured(
            f"Price {price.lookup_key} has no Stripe price yet: run `python manage.py stripe_setup`."
        )


def idempotency_key(scope, *parts, params=None):
    """A key that is the same for the same request: scope, identifying parts and parameters.

    Stripe refuses a key reused with different parameters, so the parameters are part of it.
    """
    material = json.dumps([parts, params], sort_keys=True, default=str)
    return f"newsroom-{scope}-{hashlib.sha256(material.encode()).hexdigest()[:40]}"


def customer_id_for(user):
    """The user's one Stripe customer id, created at Stripe on first use (one per user, ever)."""
    existing = Customer.objects.filter(user=user).values_list("stripe_customer_id", flat=True)
    if existing:
        return existing[0]
    # Two concurrent first checkouts send the same key and get the same customer back.
    key = idempotency_key("customer", user.pk, user.date_joined.isoformat())
    customer = client().v1.customers.create(
        params={"email": user.email, "metadata": {"user_id": str(user.pk)}},
        options={"idempotency_key": key},
    )
    try:
        with transaction.atomic():
            Customer.objects.get_or_create(user=user, defaults={"stripe_customer_id": customer.id})
    except IntegrityError:
        pass  # The concurrent request stored the same customer first.
    return Customer.objects.get(user=user).stripe_customer_id


def checkout_locale(language):
    return language if language in CHECKOUT_LOCALES else "auto"


def membership_checkout(user, price, *, attempt, success_url, cancel_url, language):
    """A Checkout session (subscription mode) for `user` to pay `price`.

    `attempt` identifies one press of the join button (a token from the form): pressing twice
    sends the same idempotency key and gets the same session back.
    """
    check_can_sell(price)
    metadata = {
        "user_id": str(user.pk),
        "kind": KIND_MEMBERSHIP,
        "price_id": price.stripe_price_id,
    }
    params = {
        "mode": "subscription",
        "customer": customer_id_for(user),
        "client_reference_id": str(user.pk),
        "line_items": [{"price": price.stripe_price_id, "quantity": 1}],
        "metadata": metadata,
        "subscription_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": checkout_locale(language),
    }
    session = client().v1.checkout.sessions.create(
        params=params,
        options={"idempotency_key": idempotency_key("checkout", attempt, params=params)},
    )
    return session


def donation_checkout(
    *, user, amount, currency, recurring, attempt, success_url, cancel_url, language
):
    """A Checkout session for a gift of `amount` minor units.

    One-off gifts use payment mode, monthly ones a subscription that is not a membership. An
    anonymous donor gives an email address on Stripe's page.
    """
    metadata = {"kind": KIND_DONATION}
    price_data = {
        "currency": currency,
        "unit_amount": amount,
        "product_data": {
            "name": gettext("Donation to %(name)s") % {"name": settings.NEWSROOM_NAME}
        },
    }
    params = {
        "line_items": [{"price_data": price_data, "quantity": 1}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": checkout_locale(language),
    }
    if user is not None:
        metadata["user_id"] = str(user.pk)
        params["customer"] = customer_id_for(user)
        params["client_reference_id"] = str(user.pk)
    params["metadata"] = metadata
    if recurring:
        price_data["recurring"] = {"interval": "month"}
        params["mode"] = "subscription"
        params["subscription_data"] = {"metadata": metadata}
    else:
        params["mode"] = "payment"
        params["submit_type"] = "donate"
        params["payment_intent_data"] = {"metadata": metadata}
    session = client().v1.checkout.sessions.create(
        params=params,
        options={"idempotency_key": idempotency_key("donation", attempt, params=params)},
    )
    return session


def portal_url(user, *, return_url, language):
    """A Customer Portal session for the user's own Stripe customer (never one named by a form)."""
    customer = Customer.objects.filter(user=user).first()
    if customer is None:
        raise NoBillingAccount(user.pk)
    session = client().v1.billing_portal.sessions.create(
        params={
            "customer": customer.stripe_customer_id,
            "return_url": return_url,
            "locale": checkout_locale(language),
        }
    )
    return session.url


def open_subscription_ids(user):
    """Stripe subscriptions of the user that may still charge them: memberships and gifts."""
    memberships = (
        Membership.objects.subscriptions()
        .filter(user=user)
        .exclude(status__in=Membership.TERMINAL_STATUSES)
    )
    donations = Donation.objects.filter(user=user, recurring=True).exclude(
        status__in=[*Membership.TERMINAL_STATUSES, Donation.Status.UNPAID]
    )
    ids = list(memberships.values_list("stripe_subscription_id", flat=True))
    ids += donations.values_list("stripe_subscription_id", flat=True)
    return [subscription_id for subscription_id in ids if subscription_id]


def cancel_subscriptions(user):
    """Cancel at once every subscription that could still charge the user (account deletion).

    A subscription Stripe already ended or no longer knows counts as canceled.
    """
    stripe_client = None
    for subscription_id in open_subscription_ids(user):
        stripe_client = stripe_client or client()
        try:
            stripe_client.v1.subscriptions.cancel(
                subscription_id,
                options={"idempotency_key": idempotency_key("cancel", subscription_id)},
            )
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing":
                logger.info(
                    "Subscription %s is unknown to Stripe; nothing to cancel.", subscription_id
                )
                continue
            current = stripe_client.v1.subscriptions.retrieve(subscription_id)
            if current.status not in Membership.TERMINAL_STATUSES:
                raise
