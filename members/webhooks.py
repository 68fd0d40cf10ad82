"""Stripe webhooks: the view and a handler per event type (ARCHITECTURE.md §4, the recipe).

1. The signature is checked over the raw body, with each configured secret (rotation).
2. The event is stored in its own commit; a delivery of a processed event changes nothing.
3. It is processed in one transaction that locks the event row and marks it processed.
   Handlers key on Stripe's business ids (unique columns), never let an older event overwrite
   newer state (`created` against `stripe_updated`), and never bring back a canceled subscription.
4. Any exception rolls the processing back, is recorded on the event and answers 500: Stripe
   retries, and the admin's "process again" can too.
5. Unknown types are acknowledged; an event of the other mode (test vs live) is ignored.
6. Nothing here calls Stripe or sends mail before answering.

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
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

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

    event = store_event(data)
    if event.processed_at is not None:
        return HttpResponse("Already processed.", content_type="text/plain")
    try:
        process_event(event.pk)
    except Exception:
        record_failure(event.pk)
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


def link_customer(user, customer_id):
    """Record the user's Stripe customer: one per user, ever; conflicts are logged, not fixed."""
    if not (user and customer_id):
        return
    existing = Customer.objects.filter(Q(user=user) | Q(stripe_customer_id=customer_id)).first()
    if existing is None:
        Customer.objects.create(user=user, stripe_customer_id=customer_id)
    elif existing.user_id != user.pk or existing.stripe_customer_id != customer_id:
        logger.warning(
            "ALERT Stripe customer %s and user %s disagree with the stored mapping (%s → user %s); "
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


def checkout_session_completed(session, event):
    """A finished Checkout: map the customer; a donation or the membership row to be filled by
    the subscription's own events (the session's line items are not in the event)."""
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


def one_off_donation(session, event, user, email):
    payment_intent = stripe_id(session.get("payment_intent"))
    paid = session.get("payment_status") == "paid"
    donation, _ = Donation.objects.update_or_create(
        stripe_checkout_session_id=session["id"],
        defaults={
            "user": user,
            "email": email,
            "amount": int(session.get("amount_total") or 0),
            "currency": (session.get("currency") or "")[:3],
            "recurring": False,
            "stripe_payment_intent_id": payment_intent,
            "status": Donation.Status.PAID if paid else Donation.Status.UNPAID,
        },
    )
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
        logger.warning(
            "ALERT checkout session %s (subscription %s) is not for a known plan price (%r); "
            "no membership granted.",
            session.get("id"),
            subscription_id,
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
        logger.warning(
            "ALERT checkout session %s charged %s %s but price %s is %s %s; no membership granted.",
            session.get("id"),
            subtotal,
            currency,
            price.stripe_price_id,
            price.amount,
            price.currency,
        )
        return
    if user is None or not subscription_id:
        logger.warning(
            "ALERT checkout session %s names no known user or no subscription; no membership.",
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


def subscription_changed(subscription, event):
    """customer.subscription.*: copy Stripe's state onto the membership or recurring donation."""
    subscription_id = subscription["id"]
    price_id = subscription_price_id(subscription)
    price = Price.objects.select_related("plan").filter(stripe_price_id=price_id).first()
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
    if price is None:
        logger.warning(
            "ALERT subscription %s is for price %r, which is not a plan price; no access given.",
            subscription_id,
            price_id,
        )
        if membership is None:
            return
    if membership is None:
        customer_id = stripe_id(subscription.get("customer"))
        user = user_for(customer_id=customer_id, user_id=metadata(subscription).get("user_id"))
        if user is None:
            # Ours (a plan price) but the checkout that ties it to a user has not arrived yet.
            raise UnknownSubscription(
                f"Subscription {subscription_id} of customer {customer_id} has no local user yet."
            )
        membership = Membership(
            user=user, stripe_subscription_id=subscription_id, kind=Membership.Kind.SUBSCRIPTION
        )
    status = subscription.get("status")
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
        # Never acknowledge money we cannot place: fail so Stripe retries once the
        # subscription (or its checkout) has arrived, or reconcile repairs it.
        raise UnknownSubscription(f"Invoice {invoice.get('id')} is for unknown {subscription_id}.")
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


def invoice_payment_failed(invoice, event):
    # Access follows the subscription's own status (past_due, then unpaid or canceled), which
    # Stripe sends as customer.subscription.updated; the dunning email comes with a later step.
    logger.info(
        "Payment failed for invoice %s (subscription %s).",
        invoice.get("id"),
        invoice_subscription_id(invoice),
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
    charge_id = stripe_id(dispute.get("charge"))
    payment = payment_for_charge(charge_id, stripe_id(dispute.get("payment_intent")))
    if payment is None:
        logger.warning(
            "ALERT dispute %s on charge %s (%s %s), which matches no payment here.",
            dispute.get("id"),
            charge_id,
            dispute.get("amount"),
            dispute.get("currency"),
        )
        return
    if not payment.stripe_charge_id:
        payment.stripe_charge_id = charge_id
    payment.status = Payment.Status.DISPUTED
    payment.save()
    logger.warning(
        "ALERT dispute %s (%s) on payment %s of %s: respond in the Stripe dashboard.",
        dispute.get("id"),
        dispute.get("reason"),
        payment.stripe_id,
        payment.user or "an anonymous donor",
    )


HANDLERS = {
    "checkout.session.completed": checkout_session_completed,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_changed,
    "customer.subscription.paused": subscription_changed,
    "customer.subscription.resumed": subscription_changed,
    "invoice.paid": invoice_paid,
    "invoice.payment_succeeded": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": charge_dispute_created,
}
