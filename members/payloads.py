"""Reading Stripe's objects as plain data, in the layouts of both old and current API versions.

Webhook events and what `stripe_reconcile` lists are plain dicts by the time they get here; this
module knows where each fact lives in them. It imports neither the SDK nor the models.

Since the 2025 API versions a subscription's billing period lives on its items, an invoice names
its subscription under `parent.subscription_details`, and an invoice line its price under
`pricing.price_details`; older payloads (recorded events, Stripe's retries of old events) have
them at the top level.
"""

from datetime import UTC, datetime

# Checkout sessions and subscriptions started here carry metadata `kind` (one of these),
# `user_id` and, for memberships, `price_id` (members.billing).
KIND_MEMBERSHIP = "membership"
KIND_DONATION = "donation"
OUR_KINDS = {KIND_MEMBERSHIP, KIND_DONATION}


def timestamp(value):
    """A Stripe Unix timestamp as an aware datetime (None stays None)."""
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def stripe_id(value):
    """An id whether Stripe sent it as a string or as an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def metadata(obj):
    value = (obj or {}).get("metadata")
    return value if isinstance(value, dict) else {}


def without_nul(value):
    """`value` with NUL characters in its strings replaced by U+FFFD.

    PostgreSQL text and JSON cannot hold NUL; a signed event carrying one (in free-text metadata,
    say) must still be stored and processed rather than fail with a 500 on every retry.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


def currency(obj):
    return (obj.get("currency") or "")[:3].lower()


# Checkout sessions ---------------------------------------------------------------------------


def session_user_id(session):
    """The user id this site put on a Checkout session."""
    return session.get("client_reference_id") or metadata(session).get("user_id")


def session_user_ids_disagree(session):
    """Whether the session's `client_reference_id` and its metadata's `user_id` name two
    different users. This site always writes the same id in both (members.billing), so a
    signed session where they differ was made by someone else's code: it credits nobody."""
    reference = str(session.get("client_reference_id") or "").strip()
    user_id = str(metadata(session).get("user_id") or "").strip()
    return bool(reference and user_id and reference != user_id)


def session_email(session):
    """The payer's address as they typed it on Stripe's page (anonymous donors have no account)."""
    details = session.get("customer_details") or {}
    return (details.get("email") or session.get("customer_email") or "")[:254]


# Subscriptions -------------------------------------------------------------------------------


def _first_item(subscription):
    items = (subscription.get("items") or {}).get("data") or []
    return items[0] if items else {}


def subscription_price_id(subscription):
    item = _first_item(subscription)
    # Current API: items[].price; very old payloads only have items[].plan.
    return stripe_id(item.get("price")) or stripe_id(item.get("plan"))


def subscription_lookup_key(subscription):
    """The plan price's lookup key that `stripe_setup` wrote into the Stripe price's metadata.

    It still names the row after a later replacement moved the lookup key to a new price.
    """
    price = _first_item(subscription).get("price")
    return metadata(price).get("newsroom_lookup_key") if isinstance(price, dict) else None


def subscription_amount(subscription):
    """(amount in minor units, currency) the subscription charges each period."""
    item = _first_item(subscription)
    price = item.get("price") or item.get("plan") or {}
    amount = price.get("unit_amount") or price.get("amount") or 0
    quantity = int(item.get("quantity") or 1)
    return int(amount) * quantity, currency(price) or currency(subscription)


def subscription_period_end(subscription):
    item = _first_item(subscription)
    if item.get("current_period_end"):
        return timestamp(item["current_period_end"])
    return timestamp(subscription.get("current_period_end"))


def subscription_start(subscription):
    """When the subscription began at Stripe (`start_date`; its creation in payloads without
    one). A subscription whose price changed keeps its start."""
    return timestamp(subscription.get("start_date") or subscription.get("created"))


# Longest member's comment kept from Stripe's `cancellation_details.comment`.
CANCELLATION_COMMENT_LENGTH = 5000


def cancellation_details(subscription):
    """(reason, feedback, comment) of Stripe's `cancellation_details`, each a string ("" when
    Stripe has none, as after the member renewed), or None when the payload predates the field.

    The values are Stripe's own; checking them against the known choices is the model's
    business. The comment is free text typed by the member: cut to CANCELLATION_COMMENT_LENGTH
    characters, without NUL, surrounding whitespace stripped."""
    details = subscription.get("cancellation_details")
    if details is None and "cancellation_details" not in subscription:
        return None
    if not isinstance(details, dict):
        details = {}

    def text(name):
        value = details.get(name)
        return value if isinstance(value, str) else ""

    comment = text("comment").replace("\x00", "").strip()[:CANCELLATION_COMMENT_LENGTH].strip()
    return text("reason").strip(), text("feedback").strip(), comment


# Invoices ------------------------------------------------------------------------------------


def invoice_subscription_id(invoice):
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return stripe_id(details.get("subscription")) or stripe_id(invoice.get("subscription"))


def invoice_kind(invoice):
    """The `kind` this site gave the invoice's subscription, if it was started here."""
    details = (invoice.get("parent") or {}).get("subscription_details") or invoice.get(
        "subscription_details"
    )
    return metadata(details).get("kind")


def invoice_price_ids(invoice):
    """The price ids of the invoice's lines."""
    ids = set()
    for line in (invoice.get("lines") or {}).get("data") or []:
        pricing = (line.get("pricing") or {}).get("price_details") or {}
        ids.add(stripe_id(pricing.get("price")) or stripe_id(line.get("price")))
    ids.discard(None)
    return ids


def invoice_paid_at(invoice):
    return timestamp((invoice.get("status_transitions") or {}).get("paid_at"))
