"""Stripe webhooks: the view and a handler per event type (ARCHITECTURE.md §4, the recipe).

1. The signature is checked over the raw body, with each configured secret (rotation).
2. The event is stored in its own commit; a delivery of a processed event changes nothing.
3. It is processed in one transaction that locks the event row and marks it processed.
   Handlers key on Stripe's business ids (unique columns), never let an older event overwrite
   newer state (`created` against `stripe_updated`), and never bring back a canceled subscription.
4. Any exception rolls the processing back, is recorded on the event and answers 500: Stripe
   retries, and the admin's "process again" can too.
5. Unknown types are acknowledged; an event of the other mode (test vs live) is ignored.
6. Nothing here calls Stripe or sends mail before answering: emails are tasks (members.tasks)
   enqueued inside the processing transaction, so the database queue commits them with the data
   and a rolled-back attempt leaves none.

Checkout sessions created by this project carry `client_reference_id` (the user id) and metadata
`user_id`, `kind` ("membership" or "donation") and `price_id` (the Stripe price id); membership
subscriptions carry the same metadata (`subscription_data.metadata`).
"""

import json
import logging
import traceback
from datetime import UTC, datetime

import stripe
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.http import HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import tasks
from .models import Customer, Donation, Membership, Payment, Price, StripeEvent, User

logger = logging.getLogger(__name__)

# The signature check's window: a delivery signed longer ago than this is refused (a replay).
SIGNATURE_TOLERANCE = 300

KIND_MEMBERSHIP = "membership"
KIND_DONATION = "donation"


class UnknownSubscription(Exception):
    """An event about one of our payments arrived before what it refers to; Stripe will retry."""


@csrf_exempt
@require_POST
def stripe_webhook(request):
    secrets = settings.STRIPE_WEBHOOK_SECRETS
    if not secrets:
        logger.error(
            "Stripe webhook received but no signing secret is configured: set STRIPE_WEBHOOK_SECRET "
            "(the endpoint's whsec_… secret; comma-separated while rotating)."
        )
        return HttpResponse("Webhook not configured.", status=503, content_type="text/plain")

    data = verified_event(request.body, request.headers.get("Stripe-Signature"), secrets)
    if data is None:
        return HttpResponseBadRequest("Invalid signature or payload.", content_type="text/plain")

    try:
        event = store_event(data)
    except DatabaseError:
        # Nothing is stored: Stripe keeps the event and retries it (for up to three days).
        logger.exception("Stripe event %s could not be stored; Stripe will retry.", data["id"])
        return HttpResponse("Database unavailable.", status=503, content_type="text/plain")
    if event.processed_at is not None:
        return HttpResponse("Already processed.", content_type="text/plain")
    try:
        process_event(event.pk)
    except Exception:
        try:
            record_failure(event.pk)
        except DatabaseError:
            logger.exception("Stripe event %s: the failure could not be recorded.", event.stripe_id)
        logger.exception(
            "Stripe event %s (%s) failed; Stripe will retry.", event.stripe_id, event.type
        )
        return HttpResponse("Processing failed.", status=500, content_type="text/plain")
    return HttpResponse("OK", content_type="text/plain")


def verified_event(body, signature, secrets):
    """The event as plain data if `signature` is valid for the exact `body` bytes, else None."""
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
    logger.info("Stripe webhook: signature missing, malformed, stale or wrong; refused.")
    return None


def timestamp(value):
    """A Stripe Unix timestamp as an aware datetime (None stays None)."""
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


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


def store_event(data):
    """Store the delivery in its own commit (recipe step 2) and return the row."""
    data = without_nul(data)
    with transaction.atomic():
        event, _ = StripeEvent.objects.get_or_create(
            stripe_id=str(data["id"])[:255],
            defaults={
                "type": str(data["type"])[:100],
                "livemode": bool(data.get("livemode", False)),
                "api_version": str(data.get("api_version") or "")[:50],
                "created": timestamp(data.get("created")) or timezone.now(),
                "payload": data,
            },
        )
    return event


def process_event(event_pk):
    """Apply a stored event exactly once (recipe step 3). Returns True if it was applied now.

    Used by the webhook view and by the admin's "process again". Exceptions propagate after
    the transaction rolls back; the caller records them.
    """
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=event_pk)
        if event.processed_at is not None:
            return False
        if event.livemode != settings.STRIPE_LIVEMODE:
            mode = "live" if event.livemode else "test"
            logger.warning(
                "Stripe event %s (%s) is a %s-mode event and this site runs in the other mode; "
                "ignored.",
                event.stripe_id,
                event.type,
                mode,
            )
            event.note = f"Ignored: {mode}-mode event."
        else:
            handler = HANDLERS.get(event.type)
            if handler is None:
                event.note = "No handler for this type."
            else:
                handler(event.payload["data"]["object"], event)
        event.processed_at = timezone.now()
        event.attempts = F("attempts") + 1
        event.save(update_fields=["processed_at", "attempts", "note"])
        return True


def record_failure(event_pk):
    """Record the current exception on the event, in its own small transaction (step 4)."""
    with transaction.atomic():
        StripeEvent.objects.filter(pk=event_pk, processed_at__isnull=True).update(
            attempts=F("attempts") + 1, last_error=traceback.format_exc()[-4000:]
        )


# Reading both API layouts ---------------------------------------------------------------------


def stripe_id(value):
    """An id whether Stripe sent it as a string or as an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def metadata(obj):
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def subscription_price_id(subscription):
    items = (subscription.get("items") or {}).get("data") or []
    if not items:
        return None
    item = items[0]
    # Current API: items[].price; very old payloads only have items[].plan.
    return stripe_id(item.get("price")) or stripe_id(item.get("plan"))


def subscription_plan_price(subscription):
    """The plan `Price` a subscription pays, or None when it is not one of ours.

    Stripe prices are immutable, so `stripe_setup` replaces a changed one and existing
    subscriptions stay on the old price; its metadata still names the row it was made for.
    """
    price_id = subscription_price_id(subscription)
    price = Price.objects.select_related("plan").filter(stripe_price_id=price_id).first()
    if price is None:
        items = (subscription.get("items") or {}).get("data") or []
        stripe_price = items[0].get("price") if items else None
        key = (
            metadata(stripe_price).get("newsroom_lookup_key")
            if isinstance(stripe_price, dict)
            else None
        )
        if key:
            price = Price.objects.select_related("plan").filter(lookup_key=key).first()
    return price


def subscription_period_end(subscription):
    # Since the 2025 API versions the period lives on the items; older events have it on top.
    items = (subscription.get("items") or {}).get("data") or []
    if items and items[0].get("current_period_end"):
        return timestamp(items[0]["current_period_end"])
    return timestamp(subscription.get("current_period_end"))


def invoice_subscription_id(invoice):
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return stripe_id(details.get("subscription")) or stripe_id(invoice.get("subscription"))


def user_for(customer_id=None, user_id=None):
    """The local user behind a Stripe customer id, or named by our metadata."""
    if customer_id:
        customer = (
            Customer.objects.select_related("user").filter(stripe_customer_id=customer_id).first()
        )
        if customer:
            return customer.user
    if user_id is not None and str(user_id).strip().isdigit():
        return User.objects.filter(pk=int(user_id)).first()
    return None


def alert_staff(kind, message, *args):
    """Log an "ALERT" line and, when MEMBERSHIP_ALERTS_EMAIL lists anyone, mail it to staff.

    `kind` ("dispute", "unmatched" or "customer") picks the email's subject. The email is a task
    enqueued with the processing, so an attempt that rolls back alerts nobody.
    """
    text = message % args
    logger.warning("ALERT %s", text)
    if settings.MEMBERSHIP_ALERTS_EMAIL:
        tasks.send_staff_alert.enqueue(kind, text)


def link_customer(user, customer_id):
    """Record the user's Stripe customer: one per user, ever; conflicts are logged, not fixed."""
    if not (user and customer_id):
        return
    existing = Customer.objects.filter(Q(user=user) | Q(stripe_customer_id=customer_id)).first()
    if existing is None:
        Customer.objects.create(user=user, stripe_customer_id=customer_id)
    elif existing.user_id != user.pk or existing.stripe_customer_id != customer_id:
        alert_staff(
            "customer",
            "Stripe customer %s and user %s disagree with the stored mapping (%s → user %s); "
            "left as it was.",
            customer_id,
            user.pk,
            existing.stripe_customer_id,
            existing.user_id,
        )


def is_older(event, stripe_updated):
    # Stripe's `created` has one-second resolution: an event of the same second is applied, and
    # the terminal-status rule keeps a same-second "updated" from undoing a cancellation.
    return stripe_updated is not None and event.created < stripe_updated


def newest(stripe_updated, created):
    return created if stripe_updated is None else max(stripe_updated, created)


# Handlers ----------------------------------------------------------------------------------------
#
# `event` is the stored StripeEvent, or (from `stripe_reconcile`) a stand-in with only `created`
# and `stripe_id`: checkout_session_completed, subscription_changed and invoice_paid read nothing
# else from it.


def checkout_session_completed(session, event):
    """A finished Checkout: map the customer; a donation or the membership row to be filled by
    the subscription's own events (the session's line items are not in the event).

    Also handles checkout.session.async_payment_succeeded: the same session, now paid.
    """
    meta = metadata(session)
    user = user_for(user_id=session.get("client_reference_id") or meta.get("user_id"))
    customer_id = stripe_id(session.get("customer"))
    link_customer(user, customer_id)
    if user is None:
        user = user_for(customer_id=customer_id)
    details = session.get("customer_details") or {}
    email = (details.get("email") or session.get("customer_email") or "")[:254]
    mode = session.get("mode")

    if mode == "payment":
        one_off_donation(session, event, user, email)
    elif mode == "subscription":
        subscription_id = stripe_id(session.get("subscription"))
        if meta.get("kind") == KIND_DONATION:
            recurring_donation_from_checkout(session, event, user, email, subscription_id)
        else:
            membership_from_checkout(session, user, customer_id, subscription_id)


def checkout_session_async_payment_failed(session, event):
    """A delayed payment (a bank debit) of a one-off gift failed: the donation stays unpaid."""
    logger.info(
        "Delayed payment of checkout session %s (payment intent %s) failed.",
        session.get("id"),
        stripe_id(session.get("payment_intent")),
    )
    checkout_session_completed({**session, "payment_status": "unpaid"}, event)


def one_off_donation(session, event, user, email):
    payment_intent = stripe_id(session.get("payment_intent"))
    paid = session.get("payment_status") == "paid"
    donation = Donation.objects.select_for_update().filter(
        stripe_checkout_session_id=session["id"]
    ).first() or Donation(stripe_checkout_session_id=session["id"])
    # A late checkout.session.completed (payment still pending) never undoes the async success.
    already_paid = donation.status == Donation.Status.PAID
    donation.user = user
    donation.email = email
    donation.amount = int(session.get("amount_total") or 0)
    donation.currency = (session.get("currency") or "")[:3]
    donation.recurring = False
    donation.stripe_payment_intent_id = payment_intent
    donation.status = Donation.Status.PAID if paid or already_paid else Donation.Status.UNPAID
    donation.save()
    if paid:
        # The session names the payment intent, not the charge: it is the one-off's business key.
        key = payment_intent or session["id"]
        Payment.objects.get_or_create(
            stripe_id=key,
            defaults={
                "stripe_payment_intent_id": payment_intent,
                "user": user,
                "donation": donation,
                "amount": donation.amount,
                "currency": donation.currency,
                "kind": Payment.Kind.DONATION,
                "paid_at": event.created,
            },
        )


def recurring_donation_from_checkout(session, event, user, email, subscription_id):
    existing = Donation.objects.filter(
        Q(stripe_checkout_session_id=session["id"])
        | Q(stripe_subscription_id=subscription_id, stripe_subscription_id__isnull=False)
    ).first()
    fields = {
        "user": user,
        "email": email,
        "amount": int(session.get("amount_total") or 0),
        "currency": (session.get("currency") or "")[:3],
        "recurring": True,
        "stripe_checkout_session_id": session["id"],
        "stripe_subscription_id": subscription_id,
    }
    if existing is None:
        Donation.objects.create(status=Donation.Status.INCOMPLETE, **fields)
    else:
        # The subscription's events own the status; the session adds who gave and how much.
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()


def membership_from_checkout(session, user, customer_id, subscription_id):
    meta = metadata(session)
    price = (
        Price.objects.select_related("plan").filter(stripe_price_id=meta.get("price_id")).first()
    )
    if price is None:
        alert_staff(
            "unmatched",
            "Checkout session %s (subscription %s, customer %s) is not for a known plan price "
            "(%r); no membership granted.",
            session.get("id"),
            subscription_id,
            customer_id,
            meta.get("price_id"),
        )
        return
    currency = (session.get("currency") or "").lower()
    subtotal = session.get("amount_subtotal")
    if currency != price.currency or (
        session.get("payment_status") == "paid"
        and subtotal is not None
        and subtotal != price.amount
    ):
        alert_staff(
            "unmatched",
            "Checkout session %s charged %s %s but price %s is %s %s; no membership granted.",
            session.get("id"),
            subtotal,
            currency,
            price.stripe_price_id,
            price.amount,
            price.currency,
        )
        return
    if user is None or not subscription_id:
        alert_staff(
            "unmatched",
            "Checkout session %s names no known user or no subscription; no membership.",
            session.get("id"),
        )
        return
    # The status comes from customer.subscription.* events, which may have arrived already.
    Membership.objects.get_or_create(
        stripe_subscription_id=subscription_id,
        defaults={
            "user": user,
            "plan": price.plan,
            "price": price,
            "kind": Membership.Kind.SUBSCRIPTION,
            "stripe_customer_id": customer_id or "",
            "status": Membership.Status.INCOMPLETE,
        },
    )


# Statuses a membership can only reach after it gave access; ending from one of them is news.
HAD_ACCESS_STATUSES = [
    *Membership.GRANTING_STATUSES,
    Membership.Status.PAST_DUE,
    Membership.Status.UNPAID,
    Membership.Status.PAUSED,
]


def subscription_changed(subscription, event):
    """customer.subscription.*: copy Stripe's state onto the membership or recurring donation.

    A membership that starts giving access for the first time gets the welcome email; one that
    ends after giving access gets the "membership ended" email, once (an end is final).
    """
    subscription_id = subscription["id"]
    price_id = subscription_price_id(subscription)
    price = subscription_plan_price(subscription)
    is_donation = (
        metadata(subscription).get("kind") == KIND_DONATION
        or Donation.objects.filter(stripe_subscription_id=subscription_id).exists()
    )
    if is_donation:
        donation_subscription_changed(subscription, event, price_id)
        return

    membership = (
        Membership.objects.select_for_update()
        .filter(stripe_subscription_id=subscription_id)
        .first()
    )
    status = subscription.get("status")
    if price is None:
        message = (
            "Subscription %s (customer %s) is for price %r, which is not a plan price; "
            "no access given."
        )
        args = (subscription_id, stripe_id(subscription.get("customer")), price_id)
        # Mail staff once: when a membership loses its plan price, or when such a subscription
        # is created; its later updates are only logged.
        first_time = (membership is not None and membership.price_id is not None) or (
            membership is None and getattr(event, "type", "") == "customer.subscription.created"
        )
        if first_time:
            alert_staff("unmatched", message, *args)
        else:
            logger.warning("ALERT " + message, *args)
        if membership is None:
            return
    if membership is None:
        customer_id = stripe_id(subscription.get("customer"))
        user = user_for(customer_id=customer_id, user_id=metadata(subscription).get("user_id"))
        if user is None and status in Membership.TERMINAL_STATUSES:
            # Typically the member deleted their account (which cancels the subscription and
            # deletes their membership and customer rows): nothing is left to update.
            logger.info(
                "Subscription %s of customer %s is %s and belongs to no user here; acknowledged.",
                subscription_id,
                customer_id,
                status,
            )
            return
        if user is None:
            # Ours (a plan price) but the checkout that ties it to a user has not arrived yet.
            raise UnknownSubscription(
                f"Subscription {subscription_id} of customer {customer_id} has no local user yet."
            )
        membership = Membership(
            user=user, stripe_subscription_id=subscription_id, kind=Membership.Kind.SUBSCRIPTION
        )
    # An end is final whatever its timestamp (Stripe never revives a subscription); any other
    # older event is skipped.
    if (
        membership.pk
        and status not in Membership.TERMINAL_STATUSES
        and is_older(event, membership.stripe_updated)
    ):
        logger.info(
            "Stripe event %s is older than subscription %s's state; skipped.",
            event.stripe_id,
            subscription_id,
        )
        return
    if membership.status in Membership.TERMINAL_STATUSES and status != membership.status:
        logger.warning(
            "Subscription %s is %s; a %s event cannot bring it back; skipped.",
            subscription_id,
            membership.status,
            status,
        )
        return
    if status not in Membership.Status.values or status == Membership.Status.COMPLIMENTARY:
        raise ValueError(f"Unknown subscription status {status!r}.")
    previous = membership.status if membership.pk else None
    membership.plan = price.plan if price else None
    membership.price = price
    membership.status = status
    membership.stripe_customer_id = stripe_id(subscription.get("customer")) or ""
    membership.current_period_end = subscription_period_end(subscription)
    membership.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    membership.canceled_at = timestamp(subscription.get("canceled_at"))
    membership.ended_at = timestamp(subscription.get("ended_at"))
    membership.stripe_updated = newest(membership.stripe_updated, event.created)
    membership.save()

    # Coming back from past_due or paused is not a new start: only a first grant is welcomed.
    if (
        price is not None
        and status in Membership.GRANTING_STATUSES
        and previous in (None, Membership.Status.INCOMPLETE)
    ):
        tasks.send_welcome_email.enqueue(membership.pk)
    elif (
        status in Membership.TERMINAL_STATUSES
        and previous not in Membership.TERMINAL_STATUSES
        and (previous in HAD_ACCESS_STATUSES or membership.payments.exists())
    ):
        tasks.send_membership_ended_email.enqueue(membership.pk)


def donation_subscription_changed(subscription, event, price_id):
    subscription_id = subscription["id"]
    donation = (
        Donation.objects.select_for_update().filter(stripe_subscription_id=subscription_id).first()
    )
    status = subscription.get("status")
    if status not in Donation.Status.values:
        raise ValueError(f"Unknown subscription status {status!r}.")
    if donation is None:
        items = (subscription.get("items") or {}).get("data") or [{}]
        price = items[0].get("price") or items[0].get("plan") or {}
        amount = price.get("unit_amount") or price.get("amount") or 0
        donation = Donation(
            stripe_subscription_id=subscription_id,
            recurring=True,
            amount=int(amount) * int(items[0].get("quantity") or 1),
            currency=(price.get("currency") or subscription.get("currency") or "")[:3],
            user=user_for(
                customer_id=stripe_id(subscription.get("customer")),
                user_id=metadata(subscription).get("user_id"),
            ),
        )
    elif status not in Membership.TERMINAL_STATUSES and is_older(event, donation.stripe_updated):
        return
    elif donation.status in Membership.TERMINAL_STATUSES and status != donation.status:
        return
    donation.status = status
    donation.stripe_updated = newest(donation.stripe_updated, event.created)
    donation.save()


def invoice_paid(invoice, event):
    """invoice.paid (and invoice.payment_succeeded, the same money): one Payment per invoice."""
    subscription_id = invoice_subscription_id(invoice)
    if not subscription_id:
        logger.info(
            "Invoice %s belongs to no subscription; not a membership or donation.",
            invoice.get("id"),
        )
        return
    membership = Membership.objects.filter(stripe_subscription_id=subscription_id).first()
    donation = Donation.objects.filter(stripe_subscription_id=subscription_id).first()
    if membership is None and donation is None:
        if invoice_is_for_this_site(invoice):
            # Never acknowledge money we cannot place: fail so Stripe retries once the
            # subscription (or its checkout) has arrived, or reconcile repairs it.
            raise UnknownSubscription(
                f"Invoice {invoice.get('id')} is for unknown {subscription_id}."
            )
        # Another product sold on the same Stripe account. Failing would make Stripe retry for
        # days and, in the end, disable the endpoint; the event stays stored, marked parked.
        event.note = f"Parked: {subscription_id} is not a membership or donation of this site."
        logger.warning(
            "Invoice %s is for subscription %s, which has neither this site's metadata nor a "
            "plan price; parked (stripe_reconcile records it if it turns out to be ours).",
            invoice.get("id"),
            subscription_id,
        )
        return
    amount = int(invoice.get("amount_paid") or 0)
    if amount == 0:
        return  # A trial or fully discounted invoice: no money moved.
    transitions = invoice.get("status_transitions") or {}
    Payment.objects.get_or_create(
        stripe_id=invoice["id"],
        defaults={
            "stripe_charge_id": stripe_id(invoice.get("charge")),
            "stripe_payment_intent_id": stripe_id(invoice.get("payment_intent")),
            "user": membership.user if membership else donation.user,
            "membership": membership,
            "donation": donation,
            "amount": amount,
            "currency": (invoice.get("currency") or "")[:3],
            "kind": Payment.Kind.MEMBERSHIP if membership else Payment.Kind.DONATION,
            "paid_at": timestamp(transitions.get("paid_at")) or event.created,
        },
    )


def invoice_is_for_this_site(invoice):
    """Whether an invoice's subscription was started here: our metadata (Checkout sets `kind`
    on every subscription it creates) or a line priced at a plan price."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or invoice.get("subscription_details") or {}
    if metadata(details).get("kind") in (KIND_MEMBERSHIP, KIND_DONATION):
        return True
    price_ids = set()
    for line in (invoice.get("lines") or {}).get("data") or []:
        # Current API: lines[].pricing.price_details.price; older ones: lines[].price.
        pricing = (line.get("pricing") or {}).get("price_details") or {}
        price_ids.add(stripe_id(pricing.get("price")) or stripe_id(line.get("price")))
    price_ids.discard(None)
    return bool(price_ids) and Price.objects.filter(stripe_price_id__in=price_ids).exists()


def invoice_payment_paid(invoice_payment, event):
    """invoice_payment.paid: since the 2025 API versions an invoice no longer names its payment
    intent; this event does. Stored on the invoice's Payment so refunds and disputes (which
    name the intent or charge) find it."""
    invoice_id = stripe_id(invoice_payment.get("invoice"))
    payment_intent = stripe_id((invoice_payment.get("payment") or {}).get("payment_intent"))
    if not (invoice_id and payment_intent):
        return
    updated = Payment.objects.filter(
        stripe_id=invoice_id, stripe_payment_intent_id__isnull=True
    ).update(stripe_payment_intent_id=payment_intent)
    if not updated:
        logger.info(
            "Invoice payment %s: invoice %s has no payment here (yet), or it is linked already.",
            invoice_payment.get("id"),
            invoice_id,
        )


# One failed attempt may be reported as both payment_failed and payment_action_required.
PAYMENT_PROBLEM_TYPES = {
    "invoice.payment_failed": "failed",
    "invoice.payment_action_required": "action_required",
}


def invoice_payment_problem(invoice, event):
    """invoice.payment_failed and invoice.payment_action_required: tell the member or donor.

    Access follows the subscription's own status (past_due, then unpaid or canceled), which
    Stripe sends as customer.subscription.updated. One email per invoice and attempt: a second
    event about the same attempt (the other type, under another id) sends nothing.
    """
    subscription_id = invoice_subscription_id(invoice)
    logger.info(
        "Payment of invoice %s (subscription %s) %s.",
        invoice.get("id"),
        subscription_id,
        "needs the customer's action" if event.type.endswith("action_required") else "failed",
    )
    if not subscription_id:
        return
    # Locking the membership or donation serialises the events of one subscription, so the
    # check for an earlier email below sees a concurrent event's committed result.
    owner = (
        Membership.objects.select_for_update()
        .filter(stripe_subscription_id=subscription_id)
        .first()
        or Donation.objects.select_for_update()
        .filter(stripe_subscription_id=subscription_id)
        .first()
    )
    if owner is None:
        logger.info("Subscription %s is not known here; nobody to tell.", subscription_id)
        return
    if owner.status in Membership.TERMINAL_STATUSES:
        return
    earlier = StripeEvent.objects.filter(
        type__in=PAYMENT_PROBLEM_TYPES,
        processed_at__isnull=False,
        payload__data__object__id=invoice.get("id"),
    )
    if invoice.get("attempt_count") is not None:
        earlier = earlier.filter(payload__data__object__attempt_count=invoice["attempt_count"])
    if earlier.exists():
        return
    tasks.send_payment_problem_email.enqueue(
        PAYMENT_PROBLEM_TYPES[event.type],
        subscription_id,
        invoice.get("hosted_invoice_url") or "",
        int(invoice.get("amount_due") or 0),
        (invoice.get("currency") or "")[:3],
        invoice.get("next_payment_attempt") if event.type == "invoice.payment_failed" else None,
    )


def payment_for_charge(charge_id, payment_intent_id, invoice_id=None):
    conditions = Q(stripe_charge_id=charge_id) if charge_id else Q(pk__in=[])
    if payment_intent_id:
        conditions |= Q(stripe_payment_intent_id=payment_intent_id) | Q(stripe_id=payment_intent_id)
    if invoice_id:
        conditions |= Q(stripe_id=invoice_id)
    return Payment.objects.select_for_update().filter(conditions).first()


def charge_refunded(charge, event):
    """Mark the payment refunded; access is not cut (staff decide, and Stripe's cancellation
    would arrive as its own event)."""
    payment = payment_for_charge(
        charge.get("id"), stripe_id(charge.get("payment_intent")), stripe_id(charge.get("invoice"))
    )
    if payment is None:
        logger.warning("Refund of charge %s, which matches no payment here.", charge.get("id"))
        return
    refunded = max(payment.amount_refunded, int(charge.get("amount_refunded") or 0))
    payment.amount_refunded = refunded
    if not payment.stripe_charge_id:
        payment.stripe_charge_id = charge.get("id")
    if payment.status != Payment.Status.DISPUTED:
        fully = charge.get("refunded") or refunded >= payment.amount
        payment.status = Payment.Status.REFUNDED if fully else Payment.Status.PARTIALLY_REFUNDED
    payment.save()


def charge_dispute_created(dispute, event):
    """A chargeback: the payment is marked disputed, its payer flagged, staff alerted.

    Access is left alone: staff decide once they have seen the dispute.
    """
    charge_id = stripe_id(dispute.get("charge"))
    payment = payment_for_charge(charge_id, stripe_id(dispute.get("payment_intent")))
    if payment is None:
        alert_staff(
            "dispute",
            "dispute %s (%s) on charge %s (%s %s), which matches no payment here: respond in "
            "the Stripe dashboard.",
            dispute.get("id"),
            dispute.get("reason"),
            charge_id,
            dispute.get("amount"),
            dispute.get("currency"),
        )
        return
    if not payment.stripe_charge_id:
        payment.stripe_charge_id = charge_id
    payment.status = Payment.Status.DISPUTED
    payment.save()
    if payment.user_id:
        disputed_at = timestamp(dispute.get("created")) or event.created
        User.objects.filter(pk=payment.user_id).filter(
            Q(payment_disputed_at__isnull=True) | Q(payment_disputed_at__lt=disputed_at)
        ).update(payment_disputed_at=disputed_at)
    alert_staff(
        "dispute",
        "dispute %s (%s) on payment %s of %s (%s %s): respond in the Stripe dashboard.",
        dispute.get("id"),
        dispute.get("reason"),
        payment.stripe_id,
        payment.user or "an anonymous donor",
        dispute.get("amount"),
        dispute.get("currency"),
    )


HANDLERS = {
    "checkout.session.completed": checkout_session_completed,
    "checkout.session.async_payment_succeeded": checkout_session_completed,
    "checkout.session.async_payment_failed": checkout_session_async_payment_failed,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_changed,
    "customer.subscription.paused": subscription_changed,
    "customer.subscription.resumed": subscription_changed,
    "invoice.paid": invoice_paid,
    "invoice.payment_succeeded": invoice_paid,
    "invoice.payment_failed": invoice_payment_problem,
    "invoice.payment_action_required": invoice_payment_problem,
    "invoice_payment.paid": invoice_payment_paid,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": charge_dispute_created,
}
