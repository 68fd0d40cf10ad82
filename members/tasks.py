"""Background tasks of the members app (Django's task framework, the database queue in production).

Webhook handlers enqueue these inside the transaction that records what happened, so with the
database queue an email exists exactly when its cause was committed. Arguments are ids and
strings only; each task re-reads what it needs, and skips quietly when that is gone (a user
deleted their account before the worker ran).
"""

from datetime import UTC, datetime

from django.tasks import task

from . import emails
from .models import Donation, Membership


@task()
def send_welcome_email(membership_id):
    """Welcome the holder of a membership that has just started giving access."""
    membership = Membership.objects.select_related("user", "plan").filter(pk=membership_id).first()
    if membership is None:
        return 0
    return emails.send_welcome(membership)


@task()
def send_membership_ended_email(membership_id):
    """Tell a former member their membership has ended."""
    membership = Membership.objects.select_related("user", "plan").filter(pk=membership_id).first()
    if membership is None:
        return 0
    return emails.send_membership_ended(membership)


@task()
def send_payment_problem_email(
    problem, subscription_id, invoice_url="", amount=0, currency="", next_attempt=None
):
    """Tell the member or donor behind `subscription_id` that a payment failed or needs them.

    `problem` is "failed" or "action_required"; `next_attempt` a Unix time or None.
    """
    membership = (
        Membership.objects.select_related("user", "plan")
        .filter(stripe_subscription_id=subscription_id)
        .first()
    )
    if membership is not None:
        to, what, user, plan = membership.user.email, "membership", membership.user, membership.plan
    else:
        donation = (
            Donation.objects.select_related("user")
            .filter(stripe_subscription_id=subscription_id)
            .first()
        )
        if donation is None:
            return 0
        to = donation.user.email if donation.user else donation.email
        what, user, plan = "donation", donation.user, None
    return emails.send_payment_problem(
        problem,
        to=to,
        what=what,
        user=user,
        plan=plan,
        invoice_url=invoice_url,
        amount=amount,
        currency=currency,
        next_attempt=datetime.fromtimestamp(next_attempt, tz=UTC) if next_attempt else None,
    )


@task()
def send_staff_alert(kind, text):
    """Mail staff (MEMBERSHIP_ALERTS_EMAIL) an alert: `kind` picks the subject, `text` says what."""
    return emails.send_staff_alert(kind, text)


@task()
def send_membership_news(kind, membership_id, reason="", feedback="", comment=""):
    """Mail staff (MEMBERSHIP_ALERTS_EMAIL) what happened to a membership: `kind` is one of
    members.emails.MEMBERSHIP_NEWS; `reason`, `feedback` and `comment` are Stripe's cancellation
    details as they were when it happened."""
    membership = (
        Membership.objects.select_related("user", "plan", "price").filter(pk=membership_id).first()
    )
    if membership is None:
        return 0
    return emails.send_membership_news(
        kind, membership, reason=reason, feedback=feedback, comment=comment
    )
