"""The Stripe webhook: verify, store, then process each event exactly once.

The recipe (ARCHITECTURE.md §4):

1. The signature is checked over the raw body, with each configured secret (rotation).
2. The event is stored in its own commit; a delivery of a processed event changes nothing.
3. It is processed in one transaction that locks the event row, applies the handler below and
   marks it processed. Handlers (members.sync) key on Stripe's business ids, never let an older
   state overwrite a newer one, and never bring back a canceled subscription.
4. Any exception rolls the processing back, is recorded on the event and answers 500: Stripe
   retries, and the admin's "process again" can too.
5. Unknown types are acknowledged; an event of the other mode (test vs live) is ignored.
6. Nothing here calls Stripe or sends mail before answering: emails are tasks enqueued inside the
   processing transaction, so the database queue commits them with the data and a rolled-back
   attempt leaves none.
"""

import logging
import traceback

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F
from django.http import HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import billing, sync
from .models import StripeEvent
from .payloads import timestamp, without_nul

logger = logging.getLogger(__name__)

# Event type → the function applying its data object, called with the object and the event's
# creation time; it returns a note for the event log, or None.
HANDLERS = {
    "checkout.session.completed": sync.checkout_session_completed,
    "checkout.session.async_payment_succeeded": sync.checkout_session_completed,
    "checkout.session.async_payment_failed": sync.checkout_session_async_payment_failed,
    "customer.subscription.created": sync.subscription_created,
    "customer.subscription.updated": sync.subscription_changed,
    "customer.subscription.deleted": sync.subscription_changed,
    "customer.subscription.paused": sync.subscription_changed,
    "customer.subscription.resumed": sync.subscription_changed,
    "invoice.paid": sync.invoice_paid,
    "invoice.payment_succeeded": sync.invoice_paid,
    "invoice.payment_failed": sync.invoice_payment_failed,
    "invoice.payment_action_required": sync.invoice_payment_action_required,
    "invoice_payment.paid": sync.invoice_payment_paid,
    "charge.refunded": sync.charge_refunded,
    "charge.dispute.created": sync.charge_dispute_created,
}


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

    data = billing.verified_event(request.body, request.headers.get("Stripe-Signature"), secrets)
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
        elif (handler := HANDLERS.get(event.type)) is None:
            logger.info(
                "Stripe event %s is of type %s, which this site does not handle; acknowledged.",
                event.stripe_id,
                event.type,
            )
            event.note = "No handler for this type."
        else:
            event.note = handler(event.payload["data"]["object"], event.created) or ""
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
