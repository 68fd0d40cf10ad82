"""Stripe: the only module that imports its SDK.

The client, the webhook's signature check, customers, Checkout and Customer Portal sessions,
cancellations, the membership desk's refunds and links to Stripe's Dashboard, the catalogue calls of `stripe_setup` and the listings of `stripe_reconcile`.
What comes back is plain data (dicts), and every failure of Stripe's is raised as one of the
`BillingError`s below, which say what went wrong and what to do.

Every call that a double-click, a retried request or a re-run could repeat passes a
deterministic idempotency key, so Stripe answers a repeat with the first call's result instead
of acting twice (the SDK's own random key only covers its own retries).
"""

import contextlib
import functools
import hashlib
import json
import logging
import re
import time

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from .models import Customer, Donation, Membership
from .payloads import KIND_DONATION, KIND_MEMBERSHIP

logger = logging.getLogger(__name__)

# Stripe Checkout's own interface languages that match the site's; others fall back to "auto".
CHECKOUT_LOCALES = {"en", "ru"}

# The signature check's window: a delivery signed longer ago than this is refused (a replay).
SIGNATURE_TOLERANCE = 300


class BillingError(Exception):
    """Stripe cannot be used for this now. The message tells the operator what happened and what
    to do; readers get a polite "not available" page."""


class StripeNotConfigured(BillingError):
    """A key or a Stripe price is missing."""


class StripeUnavailable(BillingError):
    """Stripe refused a request or did not answer (the SDK's error is the `__cause__`)."""


class StripeKeyRefused(StripeUnavailable):
    """Stripe does not accept the secret key."""


class StripeUnreachable(StripeUnavailable):
    """Stripe could not be reached."""


class StripeRefused(BillingError):
    """Stripe declined to do what was asked (a refund of more than is left, say); the message
    says why in words for the membership desk."""


class NoBillingAccount(Exception):
    """The user has never paid through Stripe, so there is no customer (or portal) to open."""


@contextlib.contextmanager
def _stripe_errors():
    """Raise the SDK's errors as `BillingError`s, so that no caller needs the SDK."""
    try:
        yield
    except stripe.AuthenticationError as error:
        raise StripeKeyRefused(
            "Stripe refused the secret key: check STRIPE_SECRET_KEY (sk_test_… or sk_live_…)."
        ) from error
    except stripe.APIConnectionError as error:
        raise StripeUnreachable(
            f"Could not reach Stripe ({error.user_message or error})."
        ) from error
    except stripe.StripeError as error:
        raise StripeUnavailable(
            f"Stripe refused a request: {error.user_message or error}."
        ) from error


def _speaks_to_stripe(function):
    """Decorate a function that calls Stripe: its SDK errors become `BillingError`s."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with _stripe_errors():
            return function(*args, **kwargs)

    return wrapper


def check_configured():
    """Raise StripeNotConfigured, saying what to set, unless a secret key is configured."""
    if not settings.STRIPE_SECRET_KEY:
        raise StripeNotConfigured(
            "Stripe is not configured: set STRIPE_SECRET_KEY (sk_test_… or sk_live_…); "
            "see docs/stripe.md."
        )


@contextlib.contextmanager
def quiet_sdk_logs(verbosity):
    """Below -v3, keep the SDK's line per request (INFO) out of a command's own report."""
    sdk_logger = logging.getLogger("stripe")
    level = sdk_logger.level
    if verbosity < 3:
        sdk_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        sdk_logger.setLevel(level)


def client():
    """A Stripe client for the configured key; pointed at the fake Stripe in tests."""
    check_configured()
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
    check_configured()
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


@_speaks_to_stripe
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


def source_metadata(source, language):
    """Metadata naming the fundraiser block a payment started from, and the page's language
    (members.signals.support_started); none without a block."""
    if source is None:
        return {}
    return {"source_block": str(source), "source_language": language}


@_speaks_to_stripe
def membership_checkout(user, price, *, attempt, success_url, cancel_url, language, source=None):
    """A Checkout session (subscription mode) for `user` to pay `price`.

    `attempt` identifies one press of the join button (a token from the form): pressing twice
    sends the same idempotency key and gets the same session back. `source` is the id of the
    fundraiser block the reader came from, if any.
    """
    check_can_sell(price)
    metadata = {
        "user_id": str(user.pk),
        "kind": KIND_MEMBERSHIP,
        "price_id": price.stripe_price_id,
        **source_metadata(source, language),
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
    return session.to_dict()


@_speaks_to_stripe
def donation_checkout(
    *, user, amount, currency, recurring, attempt, success_url, cancel_url, language, source=None
):
    """A Checkout session for a gift of `amount` minor units.

    One-off gifts use payment mode, monthly ones a subscription that is not a membership. An
    anonymous donor gives an email address on Stripe's page. `source` is the id of the
    fundraiser block the reader came from, if any.
    """
    metadata = {"kind": KIND_DONATION, **source_metadata(source, language)}
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
    return session.to_dict()


@_speaks_to_stripe
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
    return session["url"]


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


@_speaks_to_stripe
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
            if current["status"] not in Membership.TERMINAL_STATUSES:
                raise


def cancel_at_period_end(subscription_id, *, staff_email, attempt):
    """Ask Stripe to end a subscription at the end of the period already paid for, on the
    member's behalf (the membership desk). The membership row is not changed here: Stripe's
    `customer.subscription.updated` brings the change, as for a cancellation in the portal.

    `attempt` identifies one confirmation page: pressing twice sends the same idempotency key.
    """
    params = {
        "cancel_at_period_end": True,
        "cancellation_details": {
            "comment": f"Cancelled by {staff_email} from the membership desk",
        },
    }
    key = idempotency_key("cancel-at-period-end", subscription_id, attempt, params=params)
    with _stripe_errors():
        return (
            client()
            .v1.subscriptions.update(
                subscription_id, params=params, options={"idempotency_key": key}
            )
            .to_dict()
        )


# Stripe's own reasons for a refund, as its API names them.
REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent")


def refund_target(payment):
    """What Stripe refunds `payment` by: {"payment_intent": id} or {"charge": id}; None when
    neither is known here."""
    # A one-off gift's Stripe id is its payment intent.
    payment_intent = payment.stripe_payment_intent_id or (
        payment.stripe_id if payment.stripe_id.startswith("pi_") else None
    )
    if payment_intent:
        return {"payment_intent": payment_intent}
    if payment.stripe_charge_id:
        return {"charge": payment.stripe_charge_id}
    return None


def refund_payment(payment, amount, reason, attempt, *, staff_email=""):
    """Refund `amount` minor units of `payment` through Stripe, for `reason` (one of
    REFUND_REASONS). The Payment row is not changed here: Stripe's `charge.refunded` brings the
    refund through the webhook, like one made in the Dashboard.

    `attempt` identifies one confirmation page: a double-click sends the same idempotency key
    (made of the payment, the attempt, the amount and the reason) and refunds once.
    Raises StripeRefused when Stripe declines (already refunded, more than is left).
    """
    if reason not in REFUND_REASONS:
        raise ValueError(f"Unknown refund reason {reason!r}.")
    params = {
        "amount": amount,
        "reason": reason,
        "metadata": {"newsroom_payment": payment.stripe_id, "refunded_by": staff_email},
    }
    target = refund_target(payment)
    if target:
        params.update(target)
    else:
        raise StripeRefused(
            gettext(
                "This payment names no Stripe payment intent or charge here: refund it in "
                "Stripe's dashboard."
            )
        )
    key = idempotency_key("refund", payment.stripe_id, attempt, amount, reason)
    with _stripe_errors():
        try:
            refund = client().v1.refunds.create(params=params, options={"idempotency_key": key})
        except stripe.InvalidRequestError as error:
            if error.code == "charge_already_refunded":
                raise StripeRefused(
                    gettext("Stripe says this payment has already been refunded in full.")
                ) from error
            if error.param == "amount":
                raise StripeRefused(
                    gettext("Stripe refused the amount: %(reason)s")
                    % {"reason": error.user_message or error}
                ) from error
            if error.code == "charge_disputed":
                raise StripeRefused(
                    gettext("Stripe says this payment is disputed: it cannot be refunded.")
                ) from error
            raise
    return refund.to_dict()


# Links to Stripe's Dashboard: what it calls each kind of object in its addresses.
DASHBOARD_KINDS = ("customers", "subscriptions", "payments", "invoices")
STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")


def dashboard_url(kind, object_id):
    """The page of a Stripe object in Stripe's Dashboard, in the key's mode (test pages live
    under /test/), or None when there is no valid id. Ids come from Stripe, but they are checked
    all the same before they become part of an address."""
    if kind not in DASHBOARD_KINDS:
        raise ValueError(f"Unknown Dashboard page {kind!r}.")
    if not object_id or not STRIPE_ID.fullmatch(object_id):
        return None
    mode = "" if settings.STRIPE_LIVEMODE else "/test"
    return f"https://dashboard.stripe.com{mode}/{kind}/{object_id}"


# The webhook's signature ------------------------------------------------------------------------


def verified_event(body, signature, secrets):
    """The event as plain data if `signature` is valid for the exact `body` bytes with one of
    `secrets` and was made within SIGNATURE_TOLERANCE seconds of now, before or after (Stripe's
    library only refuses old ones), else None (and a log line saying why)."""
    for secret in secrets:
        try:
            stripe.Webhook.construct_event(
                payload=body, sig_header=signature, secret=secret, tolerance=SIGNATURE_TOLERANCE
            )
        except stripe.SignatureVerificationError:
            continue
        except Exception:
            # Validly signed but not an event (not UTF-8, not JSON, not an object).
            logger.warning("Stripe webhook: signed body is not a valid event.")
            return None
        # Verified, so the header is well formed; `t` is read as Stripe's library reads it.
        fields = [item.split("=", 2) for item in signature.split(",")]
        signed_at = int(next(field[1] for field in fields if field[0] == "t"))
        if signed_at > time.time() + SIGNATURE_TOLERANCE:
            logger.warning("Stripe webhook: signature dated ahead of this server's clock; refused.")
            return None
        data = json.loads(body)
        if not isinstance(data, dict) or not data.get("id") or not data.get("type"):
            logger.warning("Stripe webhook: signed body lacks an event id or type.")
            return None
        if not isinstance(data.get("data"), dict) or not isinstance(
            data["data"].get("object"), dict
        ):
            logger.warning("Stripe webhook: event %s has no data object.", data["id"])
            return None
        return data
    logger.warning("Stripe webhook: signature missing, malformed, stale or wrong; refused.")
    return None


# The catalogue (stripe_setup) -------------------------------------------------------------------

# Stripe accepts at most 10 lookup keys per price listing.
LOOKUP_KEYS_PER_REQUEST = 10


def _missing_is_none(retrieve, object_id):
    try:
        return retrieve(object_id).to_dict()
    except stripe.InvalidRequestError as error:
        if error.code == "resource_missing":
            return None
        raise


@_speaks_to_stripe
def retrieve_product(product_id):
    """The product, or None when Stripe has none with that id."""
    return _missing_is_none(client().v1.products.retrieve, product_id)


@_speaks_to_stripe
def create_product(params, *, idempotency_key):
    options = {"idempotency_key": idempotency_key}
    return client().v1.products.create(params=params, options=options).to_dict()


@_speaks_to_stripe
def update_product(product_id, changes):
    # No fixed idempotency key: the same change may be needed again later (archive, restore,
    # archive), and a replayed key would skip it.
    return client().v1.products.update(product_id, params=changes).to_dict()


@_speaks_to_stripe
def prices_by_lookup_key(lookup_keys):
    """{lookup key: price} of the Stripe prices that carry these lookup keys."""
    stripe_client = client()
    found = {}
    for start in range(0, len(lookup_keys), LOOKUP_KEYS_PER_REQUEST):
        chunk = lookup_keys[start : start + LOOKUP_KEYS_PER_REQUEST]
        listing = stripe_client.v1.prices.list(params={"lookup_keys": chunk, "limit": 100})
        for price in listing.auto_paging_iter():
            found[price["lookup_key"]] = price.to_dict()
    return found


@_speaks_to_stripe
def retrieve_price(price_id):
    """The price, or None when Stripe has none with that id."""
    return _missing_is_none(client().v1.prices.retrieve, price_id)


@_speaks_to_stripe
def create_price(params, *, idempotency_key):
    options = {"idempotency_key": idempotency_key}
    return client().v1.prices.create(params=params, options=options).to_dict()


@_speaks_to_stripe
def set_price_active(price_id, active):
    return client().v1.prices.update(price_id, params={"active": active}).to_dict()


# Listings (stripe_reconcile) --------------------------------------------------------------------

# Objects per list request: Stripe's maximum, so a large account needs few requests.
PAGE_SIZE = 100


def _every(list_method, params):
    """Every object of a listing as plain data, page after page."""
    with _stripe_errors():
        for obj in list_method(params={**params, "limit": PAGE_SIZE}).auto_paging_iter():
            yield obj.to_dict()


def completed_checkout_sessions(since):
    """Complete Checkout sessions created since `since` (an aware datetime)."""
    created = {"gte": int(since.timestamp())}
    return _every(client().v1.checkout.sessions.list, {"status": "complete", "created": created})


def all_subscriptions():
    """Every subscription of the account, whatever its status."""
    return _every(client().v1.subscriptions.list, {"status": "all"})


def paid_invoices(since):
    """Paid invoices created since `since` (an aware datetime)."""
    created = {"gte": int(since.timestamp())}
    return _every(client().v1.invoices.list, {"status": "paid", "created": created})
