"""Stripe's objects applied to the local rows: customers, memberships, donations and payments.

The webhook (members.webhooks) calls these with an event's object and the event's creation
time; `stripe_reconcile` calls the same ones with what it lists from Stripe and the time it read
it. Each takes the Stripe object as plain data and `as_of`, the moment the object's state is
from, and returns a note for the event log or None. They run inside the caller's transaction:

- they key on Stripe's business ids (unique columns), so applying the same object twice changes
  nothing the second time;
- a subscription's state goes through the model's rules (`Membership.apply_stripe_state`): an
  older state never overwrites a newer one, and a canceled subscription never comes back;
- emails are tasks enqueued here, so they commit (or roll back) with the change that causes them.

Checkout sessions created by this site carry `client_reference_id` (the user id) and metadata
`user_id`, `kind` and `price_id`; subscriptions carry the same metadata (members.billing).
"""

import logging

from django.conf import settings
from django.db.models import Q

from . import signals, tasks
from .models import (
    CancellationReason,
    Customer,
    Donation,
    Membership,
    Payment,
    Price,
    StateChange,
    StripeEvent,
    User,
)
from .payloads import (
    KIND_DONATION,
    OUR_KINDS,
    cancellation_details,
    currency,
    invoice_kind,
    invoice_paid_at,
    invoice_price_ids,
    invoice_subscription_id,
    metadata,
    session_email,
    session_user_id,
    session_user_ids_disagree,
    stripe_id,
    subscription_amount,
    subscription_lookup_key,
    subscription_period_end,
    subscription_price_id,
    subscription_start,
    timestamp,
)

logger = logging.getLogger(__name__)


class UnknownSubscription(Exception):
    """An object about one of our payments arrived before what it refers to; Stripe will retry
    the event (and reconcile notes it), so nothing is acknowledged that cannot be placed."""


# Checkout sessions -----------------------------------------------------------------------------


def checkout_session_completed(session, as_of):
    """A finished Checkout: map the customer; record a gift, or the membership that the
    subscription's own events will fill (the session does not list its line items).

    Also checkout.session.async_payment_succeeded: the same session, now paid.
    """
    customer_id = stripe_id(session.get("customer"))
    if session_user_ids_disagree(session):
        # Nobody is credited: no membership (its branch alerts again), a gift kept anonymous.
        alert_staff(
            "unmatched",
            "Checkout session %s names user %r as its client_reference_id but user %r in its "
            "metadata; nobody is credited and customer %s is not linked.",
            session.get("id"),
            session.get("client_reference_id"),
            metadata(session).get("user_id"),
            customer_id,
        )
        user = None
    else:
        user = user_for(user_id=session_user_id(session))
        link_customer(user, customer_id)
        if user is None:
            user = user_for(customer_id=customer_id)
    mode = session.get("mode")
    if mode == "payment":
        _one_off_donation(session, user, as_of)
    elif mode == "subscription" and metadata(session).get("kind") == KIND_DONATION:
        _recurring_donation(session, user)
    elif mode == "subscription":
        _membership_from_checkout(session, user, customer_id)


def checkout_session_async_payment_failed(session, as_of):
    """A delayed payment (a bank debit) of a one-off gift failed: the gift stays unpaid."""
    logger.info(
        "Delayed payment of checkout session %s (payment intent %s) failed.",
        session.get("id"),
        stripe_id(session.get("payment_intent")),
    )
    checkout_session_completed({**session, "payment_status": "unpaid"}, as_of)


def _one_off_donation(session, user, as_of):
    payment_intent = stripe_id(session.get("payment_intent"))
    paid = session.get("payment_status") == "paid"
    donation = Donation.objects.select_for_update().filter(
        stripe_checkout_session_id=session["id"]
    ).first() or Donation(stripe_checkout_session_id=session["id"])
    # A late checkout.session.completed (payment still pending) never undoes the async success.
    already_paid = donation.status == Donation.Status.PAID
    donation.user = user
    donation.email = session_email(session)
    donation.amount = int(session.get("amount_total") or 0)
    donation.currency = currency(session)
    donation.recurring = False
    donation.stripe_payment_intent_id = payment_intent
    donation.status = Donation.Status.PAID if paid or already_paid else Donation.Status.UNPAID
    is_new = donation.pk is None
    donation.save()
    if is_new:
        _support_started(metadata(session))
    if paid:
        # The session names the payment intent, not the charge: it is the one-off's business key.
        Payment.objects.get_or_create(
            stripe_id=payment_intent or session["id"],
            defaults={
                "stripe_payment_intent_id": payment_intent,
                "user": user,
                "donation": donation,
                "amount": donation.amount,
                "currency": donation.currency,
                "kind": Payment.Kind.DONATION,
                "paid_at": as_of,
            },
        )


def _recurring_donation(session, user):
    subscription_id = stripe_id(session.get("subscription"))
    existing = Donation.objects.filter(
        Q(stripe_checkout_session_id=session["id"])
        | Q(stripe_subscription_id=subscription_id, stripe_subscription_id__isnull=False)
    ).first()
    fields = {
        "user": user,
        "email": session_email(session),
        "amount": int(session.get("amount_total") or 0),
        "currency": currency(session),
        "recurring": True,
        "stripe_checkout_session_id": session["id"],
        "stripe_subscription_id": subscription_id,
    }
    if existing is None:
        Donation.objects.create(status=Donation.Status.INCOMPLETE, **fields)
        _support_started(metadata(session))
    else:
        # The subscription's events own the status; the session adds who gave and how much.
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()


def _membership_from_checkout(session, user, customer_id):
    subscription_id = stripe_id(session.get("subscription"))
    price_id = metadata(session).get("price_id")
    price = Price.objects.select_related("plan").filter(stripe_price_id=price_id).first()
    if price is None:
        alert_staff(
            "unmatched",
            "Checkout session %s (subscription %s, customer %s) is not for a known plan price "
            "(%r); no membership granted.",
            session.get("id"),
            subscription_id,
            customer_id,
            price_id,
        )
        return
    subtotal = session.get("amount_subtotal")
    if currency(session) != price.currency or (
        session.get("payment_status") == "paid"
        and subtotal is not None
        and subtotal != price.amount
    ):
        alert_staff(
            "unmatched",
            "Checkout session %s charged %s %s but price %s is %s %s; no membership granted.",
            session.get("id"),
            subtotal,
            currency(session),
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
    _membership, created = Membership.objects.get_or_create(
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
    if created:
        _support_started(metadata(session))


# Subscriptions ---------------------------------------------------------------------------------


def subscription_created(subscription, as_of):
    """customer.subscription.created: as any change, and staff hear about a new subscription
    to a price that is not a plan price."""
    return _apply_subscription(subscription, as_of, is_new_at_stripe=True)


def subscription_changed(subscription, as_of):
    """customer.subscription.updated/deleted/paused/resumed, and what reconcile reads: copy
    Stripe's state onto the membership or monthly gift; welcome a new member, tell a former
    one their membership has ended."""
    return _apply_subscription(subscription, as_of, is_new_at_stripe=False)


def _apply_subscription(subscription, as_of, *, is_new_at_stripe):
    subscription_id = subscription["id"]
    status = subscription.get("status")
    is_donation = (
        metadata(subscription).get("kind") == KIND_DONATION
        or Donation.objects.filter(stripe_subscription_id=subscription_id).exists()
    )
    if is_donation:
        _donation_subscription(subscription, as_of)
        return None

    membership = (
        Membership.objects.select_for_update()
        .filter(stripe_subscription_id=subscription_id)
        .first()
    )
    price = plan_price(subscription)
    customer_id = stripe_id(subscription.get("customer"))
    if price is None:
        message = (
            "Subscription %s (customer %s) is for price %r, which is not a plan price; "
            "no access given."
        )
        args = (subscription_id, customer_id, subscription_price_id(subscription))
        # Mail staff once: when a membership loses its plan price, or when such a subscription
        # is created; its later updates are only logged.
        if (membership is not None and membership.price_id is not None) or (
            membership is None and is_new_at_stripe
        ):
            alert_staff("unmatched", message, *args)
        else:
            logger.warning("ALERT " + message, *args)
        if membership is None:
            return None
    if membership is None:
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
            return None
        if user is None:
            # Ours (a plan price) but the checkout that ties it to a user has not arrived yet.
            raise UnknownSubscription(
                f"Subscription {subscription_id} of customer {customer_id} has no local user yet."
            )
        membership = Membership(
            user=user, stripe_subscription_id=subscription_id, kind=Membership.Kind.SUBSCRIPTION
        )
    is_new = membership.pk is None
    # What the row said before, so that each alert below goes out once per cause: a replayed
    # or duplicated event finds the row already in the state it brings.
    was_status = None if is_new else membership.status
    was_cancelling = not is_new and membership.cancel_at_period_end
    change = membership.apply_stripe_state(
        status=status,
        price=price,
        customer_id=customer_id,
        current_period_end=subscription_period_end(subscription),
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end")),
        canceled_at=timestamp(subscription.get("canceled_at")),
        ended_at=timestamp(subscription.get("ended_at")),
        as_of=as_of,
        started_at=subscription_start(subscription),
        cancellation=cancellation_details(subscription),
    )
    if is_new:
        _support_started(metadata(subscription))
    if change == StateChange.SKIPPED:
        logger.info(
            "Subscription %s: the %s state as of %s is older than the stored %s state, or would "
            "revive an ended subscription; skipped.",
            subscription_id,
            status,
            as_of.isoformat(),
            membership.status,
        )
    elif change == StateChange.STARTED:
        tasks.send_welcome_email.enqueue(membership.pk)
    elif change == StateChange.ENDED:
        tasks.send_membership_ended_email.enqueue(membership.pk)
    if change != StateChange.SKIPPED:
        _membership_news(membership, change, was_status, was_cancelling)
    return None


def _membership_news(membership, change, was_status, was_cancelling):
    """Tell staff (MEMBERSHIP_ALERTS_EMAIL) what a subscription's new state means: a new
    member, a cancellation (scheduled, then done) with its reason, or a membership lost to
    failed payments. Each from a change of the row, so once per cause."""
    subscription_id = membership.stripe_subscription_id
    if change == StateChange.STARTED:
        notify_staff("joined", membership, "Subscription %s started.", subscription_id)
    elif change == StateChange.ENDED:
        if membership.cancellation_reason == CancellationReason.REQUESTED:
            notify_staff(
                "cancelled", membership, "Subscription %s ended: cancelled.", subscription_id
            )
        elif (
            membership.cancellation_reason == CancellationReason.PAYMENT_FAILED
            and was_status != Membership.Status.UNPAID  # said when it became unpaid
        ):
            alert_membership(
                "lapsed",
                membership,
                "Subscription %s ended after failed payments.",
                subscription_id,
            )
    elif was_status is None:
        return  # A row first written now (by reconcile, say): no change to report.
    elif membership.status == Membership.Status.UNPAID and was_status != Membership.Status.UNPAID:
        alert_membership(
            "unpaid",
            membership,
            "Subscription %s is unpaid after failed payments.",
            subscription_id,
        )
    elif (
        membership.cancel_at_period_end
        and not was_cancelling
        and membership.status not in Membership.TERMINAL_STATUSES
    ):
        notify_staff(
            "cancelling",
            membership,
            "Subscription %s will be cancelled at the end of its period.",
            subscription_id,
        )


def _donation_subscription(subscription, as_of):
    subscription_id = subscription["id"]
    donation = (
        Donation.objects.select_for_update().filter(stripe_subscription_id=subscription_id).first()
    )
    is_new = donation is None
    if is_new:
        amount, gift_currency = subscription_amount(subscription)
        donation = Donation(
            stripe_subscription_id=subscription_id,
            recurring=True,
            amount=amount,
            currency=gift_currency,
            user=user_for(
                customer_id=stripe_id(subscription.get("customer")),
                user_id=metadata(subscription).get("user_id"),
            ),
        )
    donation.apply_stripe_status(subscription.get("status"), as_of)
    if is_new:
        _support_started(metadata(subscription))


def plan_price(subscription):
    """The plan `Price` a subscription pays, or None when it is not one of ours.

    Stripe prices are immutable, so `stripe_setup` replaces a changed one and existing
    subscriptions stay on the old price; its metadata still names the row it was made for.
    """
    prices = Price.objects.select_related("plan")
    price = prices.filter(stripe_price_id=subscription_price_id(subscription)).first()
    if price is None and (key := subscription_lookup_key(subscription)):
        price = prices.filter(lookup_key=key).first()
    return price


def is_ours(subscription):
    """Whether a subscription was started here: our metadata, a plan price, or a local row."""
    subscription_id = subscription["id"]
    price_id = subscription_price_id(subscription)
    return (
        metadata(subscription).get("kind") in OUR_KINDS
        or (price_id and Price.objects.filter(stripe_price_id=price_id).exists())
        or is_known_subscription(subscription_id)
    )


def is_known_subscription(subscription_id):
    return bool(subscription_id) and (
        Membership.objects.filter(stripe_subscription_id=subscription_id).exists()
        or Donation.objects.filter(stripe_subscription_id=subscription_id).exists()
    )


# Invoices --------------------------------------------------------------------------------------


def invoice_paid(invoice, as_of):
    """invoice.paid (and invoice.payment_succeeded, the same money): one Payment per invoice."""
    subscription_id = invoice_subscription_id(invoice)
    if not subscription_id:
        logger.info(
            "Invoice %s belongs to no subscription; not a membership or donation.",
            invoice.get("id"),
        )
        return None
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
        logger.warning(
            "Invoice %s is for subscription %s, which has neither this site's metadata nor a "
            "plan price; parked (stripe_reconcile records it if it turns out to be ours).",
            invoice.get("id"),
            subscription_id,
        )
        return f"Parked: {subscription_id} is not a membership or donation of this site."
    amount = int(invoice.get("amount_paid") or 0)
    if amount == 0:
        return None  # A trial or fully discounted invoice: no money moved.
    Payment.objects.get_or_create(
        stripe_id=invoice["id"],
        defaults={
            "stripe_charge_id": stripe_id(invoice.get("charge")),
            "stripe_payment_intent_id": stripe_id(invoice.get("payment_intent")),
            "user": membership.user if membership else donation.user,
            "membership": membership,
            "donation": donation,
            "amount": amount,
            "currency": currency(invoice),
            "kind": Payment.Kind.MEMBERSHIP if membership else Payment.Kind.DONATION,
            "paid_at": invoice_paid_at(invoice) or as_of,
        },
    )
    return None


def invoice_is_for_this_site(invoice):
    """Whether an invoice's subscription was started here: our metadata (Checkout sets `kind`
    on every subscription it creates) or a line priced at a plan price."""
    if invoice_kind(invoice) in OUR_KINDS:
        return True
    price_ids = invoice_price_ids(invoice)
    return bool(price_ids) and Price.objects.filter(stripe_price_id__in=price_ids).exists()


def invoice_payment_paid(invoice_payment, as_of):
    """invoice_payment.paid: since the 2025 API versions an invoice no longer names its payment
    intent; this event does. Stored on the invoice's Payment so refunds and disputes (which
    name the intent or charge) find it."""
    invoice_id = stripe_id(invoice_payment.get("invoice"))
    payment_intent = stripe_id((invoice_payment.get("payment") or {}).get("payment_intent"))
    if not (invoice_id and payment_intent):
        return None
    updated = Payment.objects.filter(
        stripe_id=invoice_id, stripe_payment_intent_id__isnull=True
    ).update(stripe_payment_intent_id=payment_intent)
    if not updated:
        logger.info(
            "Invoice payment %s: invoice %s has no payment here (yet), or it is linked already.",
            invoice_payment.get("id"),
            invoice_id,
        )
    return None


# One failed attempt may be reported as both payment_failed and payment_action_required.
PAYMENT_PROBLEM_EVENTS = {
    "invoice.payment_failed": "failed",
    "invoice.payment_action_required": "action_required",
}


def invoice_payment_failed(invoice, as_of):
    """invoice.payment_failed: tell the member or donor, with the link to pay."""
    return _payment_problem(invoice, "failed")


def invoice_payment_action_required(invoice, as_of):
    """invoice.payment_action_required: the bank wants the member to confirm the payment."""
    return _payment_problem(invoice, "action_required")


def _payment_problem(invoice, problem):
    """Access follows the subscription's own status (past_due, then unpaid or canceled), which
    Stripe sends as customer.subscription.updated; this only tells the payer. One email per
    invoice and attempt: a second event about the same attempt (the other type, under another
    id) sends nothing."""
    subscription_id = invoice_subscription_id(invoice)
    logger.info(
        "Payment of invoice %s (subscription %s) %s.",
        invoice.get("id"),
        subscription_id,
        "needs the customer's action" if problem == "action_required" else "failed",
    )
    if not subscription_id:
        return None
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
        return None
    if owner.status in Membership.TERMINAL_STATUSES:
        return None
    earlier = StripeEvent.objects.filter(
        type__in=PAYMENT_PROBLEM_EVENTS,
        processed_at__isnull=False,
        payload__data__object__id=invoice.get("id"),
    )
    if invoice.get("attempt_count") is not None:
        earlier = earlier.filter(payload__data__object__attempt_count=invoice["attempt_count"])
    if earlier.exists():
        return None
    tasks.send_payment_problem_email.enqueue(
        problem,
        subscription_id,
        invoice.get("hosted_invoice_url") or "",
        int(invoice.get("amount_due") or 0),
        currency(invoice),
        invoice.get("next_payment_attempt") if problem == "failed" else None,
    )
    return None


# Refunds and disputes --------------------------------------------------------------------------


def _payment_for_charge(charge_id, payment_intent_id, invoice_id=None):
    conditions = Q(stripe_charge_id=charge_id) if charge_id else Q(pk__in=[])
    if payment_intent_id:
        conditions |= Q(stripe_payment_intent_id=payment_intent_id) | Q(stripe_id=payment_intent_id)
    if invoice_id:
        conditions |= Q(stripe_id=invoice_id)
    return Payment.objects.select_for_update().filter(conditions).first()


def charge_refunded(charge, as_of):
    """Mark the payment refunded; access is not cut (staff decide, and Stripe's cancellation
    would arrive as its own event)."""
    payment = _payment_for_charge(
        charge.get("id"), stripe_id(charge.get("payment_intent")), stripe_id(charge.get("invoice"))
    )
    if payment is None:
        logger.warning("Refund of charge %s, which matches no payment here.", charge.get("id"))
        return None
    refunded = max(payment.amount_refunded, int(charge.get("amount_refunded") or 0))
    payment.amount_refunded = refunded
    if not payment.stripe_charge_id:
        payment.stripe_charge_id = charge.get("id")
    if payment.status != Payment.Status.DISPUTED:
        fully = charge.get("refunded") or refunded >= payment.amount
        payment.status = Payment.Status.REFUNDED if fully else Payment.Status.PARTIALLY_REFUNDED
    payment.save()
    return None


def charge_dispute_created(dispute, as_of):
    """A chargeback: the payment is marked disputed, its payer flagged, staff alerted.

    Access is left alone: staff decide once they have seen the dispute.
    """
    charge_id = stripe_id(dispute.get("charge"))
    payment = _payment_for_charge(charge_id, stripe_id(dispute.get("payment_intent")))
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
        return None
    if not payment.stripe_charge_id:
        payment.stripe_charge_id = charge_id
    payment.status = Payment.Status.DISPUTED
    payment.save()
    if payment.user_id:
        disputed_at = timestamp(dispute.get("created")) or as_of
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
    return None


# People ----------------------------------------------------------------------------------------


def _support_started(meta):
    """A membership or gift was first recorded: if its Checkout started from a fundraiser
    block's button (metadata `source_block`), say so once (members.signals)."""
    source = str(meta.get("source_block") or "")
    if not (source.isdecimal() and len(source) < 10):
        return
    language = str(meta.get("source_language") or "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    signals.support_started.send(sender=Membership, source_block=int(source), language=language)


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
        alert_staff(
            "customer",
            "Stripe customer %s and user %s disagree with the stored mapping (%s → user %s); "
            "left as it was.",
            customer_id,
            user.pk,
            existing.stripe_customer_id,
            existing.user_id,
        )


def alert_staff(kind, message, *args):
    """Log an "ALERT" line and, when MEMBERSHIP_ALERTS_EMAIL lists anyone, mail it to staff.

    `kind` ("dispute", "unmatched" or "customer") picks the email's subject. The email is a task
    enqueued with the change, so an attempt that rolls back alerts nobody.
    """
    text = message % args
    logger.warning("ALERT %s", text)
    if settings.MEMBERSHIP_ALERTS_EMAIL:
        tasks.send_staff_alert.enqueue(kind, text)


def notify_staff(kind, membership, message, *args, level=logging.INFO):
    """Log `message` and, when MEMBERSHIP_ALERTS_EMAIL lists anyone, mail staff the news of
    `membership` (members.emails.MEMBERSHIP_NEWS names the kinds).

    The task gets the cancellation details as they are now: they may have changed by the time
    it runs. Enqueued with the change, so an attempt that rolls back tells nobody.
    """
    logger.log(level, message, *args)
    if settings.MEMBERSHIP_ALERTS_EMAIL:
        tasks.send_membership_news.enqueue(
            kind,
            membership.pk,
            membership.cancellation_reason,
            membership.cancellation_feedback,
            membership.cancellation_comment,
        )


def alert_membership(kind, membership, message, *args):
    """`notify_staff` for news that needs looking at: logged as an "ALERT" warning."""
    notify_staff(kind, membership, "ALERT " + message, *args, level=logging.WARNING)
