"""`manage.py stripe_reconcile`: repair what missed webhooks left out, from Stripe's own records.

Webhooks keep memberships, donations and payments up to date; when some never arrived (the site
was down longer than Stripe retries, the endpoint was misconfigured, a secret was rotated badly)
this command reads Stripe's state and applies it with the functions the webhook uses
(members.sync). The
deployment guide runs it daily from cron; it is safe to run at any time and as often as wanted.
"""

import logging
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from tqdm import tqdm

from members import billing, sync
from members.models import Customer, Donation, Membership, Payment
from members.money import format_money
from members.payloads import (
    OUR_KINDS,
    invoice_subscription_id,
    metadata,
    session_user_id,
    stripe_id,
    subscription_price_id,
    timestamp,
)

logger = logging.getLogger(__name__)


def shown(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).date().isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value in (None, ""):
        return "none"
    value = " ".join(str(value).split())  # a member's comment: one line, and not all of it
    return value if len(value) <= 60 else value[:59] + "…"


# What the report compares before and after a handler runs, with the words it uses.
MEMBERSHIP_FIELDS = {
    "status": "status",
    "plan": "plan",
    "current_period_end": "current period end",
    "cancel_at_period_end": "cancels at period end",
    "canceled_at": "canceled at",
    "ended_at": "ended at",
    "started_at": "started",
    "cancellation_reason": "cancellation reason",
    "cancellation_feedback": "feedback",
    "cancellation_comment": "comment",
    "user": "user",
    "stripe_customer_id": "customer",
}
DONATION_FIELDS = {
    "status": "status",
    "amount": "amount",
    "currency": "currency",
    "email": "email",
    "user": "user",
    "stripe_subscription_id": "subscription",
    "stripe_payment_intent_id": "payment intent",
}


@dataclass
class Scope:
    """The local rows a Stripe object can touch, found by their Stripe ids."""

    subscription_id: str | None = None
    session_id: str | None = None
    customer_id: str | None = None
    user_id: str | None = None
    payment_ids: list = field(default_factory=list)

    def snapshot(self):
        """{(kind, key): {field: value}} of every row in scope, for comparing."""
        rows = {}
        if self.subscription_id:
            for membership in Membership.objects.filter(
                stripe_subscription_id=self.subscription_id
            ).select_related("user", "plan"):
                state = {name: getattr(membership, name) for name in MEMBERSHIP_FIELDS}
                rows[("membership", membership.stripe_subscription_id)] = state
        donations = Q(pk__in=[])
        if self.session_id:
            donations |= Q(stripe_checkout_session_id=self.session_id)
        if self.subscription_id:
            donations |= Q(stripe_subscription_id=self.subscription_id)
        for donation in Donation.objects.filter(donations).select_related("user"):
            state = {name: getattr(donation, name) for name in DONATION_FIELDS}
            state["reference"] = (
                donation.stripe_checkout_session_id or donation.stripe_subscription_id
            )
            state["recurring"] = donation.recurring
            rows[("donation", donation.pk)] = state
        for payment in Payment.objects.filter(stripe_id__in=self.payment_ids).select_related(
            "user", "donation"
        ):
            rows[("payment", payment.stripe_id)] = {
                "amount": payment.amount,
                "currency": payment.currency,
                "status": payment.status,
                "who": payment.user or (payment.donation.email if payment.donation else None),
            }
        customers = Q(pk__in=[])
        if self.customer_id:
            customers |= Q(stripe_customer_id=self.customer_id)
        if self.user_id and str(self.user_id).isdigit():
            customers |= Q(user_id=int(self.user_id))
        for customer in Customer.objects.filter(customers).select_related("user"):
            rows[("customer", customer.stripe_customer_id)] = {"user": customer.user}
        return rows


def describe(before, after):
    """Lines saying what changed between two snapshots, as the report prints them."""
    lines = []
    for (kind, key), new in after.items():
        old = before.get((kind, key))
        if old == new:
            continue
        if kind == "membership":
            lines.append(describe_membership(key, old, new))
        elif kind == "donation":
            lines.append(describe_donation(old, new))
        elif kind == "payment" and old is None:
            lines.append(
                f"payment {key} recorded ({format_money(new['amount'], new['currency'])}, "
                f"{shown(new['who'])})"
            )
        elif kind == "payment":
            lines.append(f"payment {key}: {old['status']} → {new['status']}")
        elif kind == "customer":
            lines.append(f"customer {key} linked to {shown(new['user'])}")
    return lines


def field_changes(old, new, labels):
    return [
        f"{label} {shown(old[name])} → {shown(new[name])}"
        for name, label in labels.items()
        if name != "status" and old[name] != new[name]
    ]


def describe_membership(subscription_id, old, new):
    prefix = f"membership {subscription_id} of {new['user']}"
    if old is None:
        return f"{prefix} recorded ({new['status']})"
    parts = []
    if old["status"] != new["status"]:
        parts.append(f"{old['status']} → {new['status']}")
    parts += field_changes(old, new, MEMBERSHIP_FIELDS)
    return f"{prefix}: " + ", ".join(parts)


def describe_donation(old, new):
    who = new["email"] or shown(new["user"])
    prefix = f"donation {new['reference']} of {who}"
    if old is None:
        kind = "monthly" if new["recurring"] else "one-off"
        amount = format_money(new["amount"], new["currency"])
        return f"donation {new['reference']} recorded ({amount} {kind} from {who}, {new['status']})"
    parts = []
    if old["status"] != new["status"]:
        parts.append(f"{old['status']} → {new['status']}")
    parts += field_changes(old, new, DONATION_FIELDS)
    return f"{prefix}: " + ", ".join(parts)


class Command(BaseCommand):
    """Read complete checkout sessions, every subscription and paid invoices from Stripe, and
    apply them as the webhook does (members.sync): checkout sessions first (they tie customers
    to users), then subscriptions, then invoices.

    Each object is applied in its own transaction and kept only if it changed a membership,
    donation, payment or customer link, so a run over a healthy site writes nothing. Newer local
    state is never overwritten (the models' own rule), and a canceled subscription never comes
    back. Subscriptions that are neither a plan nor a donation are skipped with a note.
    """

    help = (
        "Repair memberships, donations and payments whose Stripe webhooks were missed, "
        "from Stripe's own records."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=30,
            help="How far back to read checkout sessions and paid invoices (default 30). "
            "Subscriptions are always read in full.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show what would be repaired; save nothing.",
        )

    def handle(self, *args, days, dry_run, verbosity, **options):
        if days < 1:
            raise CommandError(f"--days must be 1 or more, got {days}.")
        try:
            billing.check_configured()
        except billing.StripeNotConfigured as error:
            raise CommandError(str(error)) from None
        self.verbosity = verbosity
        self.since = timezone.now() - timedelta(days=days)
        self.changes = []
        self.checked = {"checkout session": 0, "subscription": 0, "invoice": 0}
        self.skipped = self.unplaced = self.failed = 0

        if dry_run:
            self.say("Dry run: what would be repaired is shown; nothing is saved.")
        try:
            with billing.quiet_sdk_logs(verbosity):
                if dry_run:
                    # The changes are made for real, then everything written is rolled back.
                    with transaction.atomic():
                        self.reconcile()
                        transaction.set_rollback(True)
                else:
                    self.reconcile()
        except billing.StripeKeyRefused as error:
            raise CommandError(str(error)) from None
        except billing.StripeUnavailable as error:
            kept = "" if dry_run else f" The {len(self.changes)} repair(s) made so far are kept."
            raise CommandError(
                f"Stripe could not be read. {error}{kept} Run the command again later."
            ) from None
        self.summarise(dry_run)
        if self.failed:
            raise CommandError(
                f"{self.failed} Stripe object(s) could not be applied (see the notes above and "
                "the log). Everything else was repaired; run the command again once the cause "
                "is fixed."
            )

    def reconcile(self):
        self.read(
            "checkout session", billing.completed_checkout_sessions(self.since), self.apply_session
        )
        self.read("subscription", billing.all_subscriptions(), self.apply_subscription)
        self.read("invoice", billing.paid_invoices(self.since), self.apply_invoice)

    def read(self, kind, listing, apply):
        # The state read is at least as new as this moment: the models keep anything newer.
        read_at = timezone.now()
        for obj in tqdm(
            listing,
            desc=f"{kind.capitalize()}s",
            unit=kind.split()[-1],
            file=sys.stderr,
            # Only on a terminal: run from cron, a bar would fill the mailed output with noise.
            disable=self.verbosity == 0 or not sys.stderr.isatty(),
        ):
            self.checked[kind] += 1
            apply(obj, read_at)

    # One object each ----------------------------------------------------------------------------

    def apply_session(self, session, read_at):
        created = timestamp(session.get("created"))
        if created and created < self.since:
            return  # Stripe filters on `created`; this guards against a listing that did not.
        if metadata(session).get("kind") not in OUR_KINDS:
            self.skip(f"checkout session {session['id']} was not started by this site")
            return
        scope = Scope(
            subscription_id=stripe_id(session.get("subscription")),
            session_id=session["id"],
            customer_id=stripe_id(session.get("customer")),
            user_id=session_user_id(session),
            payment_ids=[stripe_id(session.get("payment_intent")) or session["id"]],
        )
        # A one-off gift's payment is dated by the state's time: the session's creation (it
        # lives at most a day) is nearer the truth than today.
        self.apply(sync.checkout_session_completed, session, created or read_at, scope)

    def apply_subscription(self, subscription, read_at):
        if not sync.is_ours(subscription):
            self.skip(
                f"subscription {subscription['id']} (price {subscription_price_id(subscription)}) "
                "is not a plan of this site or a donation"
            )
            return
        scope = Scope(subscription_id=subscription["id"])
        self.apply(sync.subscription_changed, subscription, read_at, scope)

    def apply_invoice(self, invoice, read_at):
        created = timestamp(invoice.get("created"))
        if created and created < self.since:
            return
        subscription_id = invoice_subscription_id(invoice)
        if not sync.is_known_subscription(subscription_id):
            # Not ours, or a subscription noted above: nothing to place the money on.
            return
        scope = Scope(subscription_id=subscription_id, payment_ids=[invoice["id"]])
        self.apply(sync.invoice_paid, invoice, read_at, scope)

    def apply(self, change, obj, as_of, scope):
        """Apply `obj` with `change` (a members.sync function); keep and report what it
        changed, or note why not."""
        try:
            with transaction.atomic():
                before = scope.snapshot()
                change(obj, as_of)
                changes = describe(before, scope.snapshot())
                if not changes:
                    # Only bookkeeping moved (timestamps): leave the rows as they were.
                    transaction.set_rollback(True)
        except sync.UnknownSubscription as error:
            self.unplaced += 1
            self.note(
                f"{obj['id']} cannot be placed: {error} Check that a checkout session names "
                "its customer (try a larger --days), or look the customer up in Stripe."
            )
            return
        except Exception as error:
            self.failed += 1
            logger.exception("stripe_reconcile could not apply %s.", obj.get("id"))
            self.note(f"{obj['id']} could not be applied: {error!r}")
            return
        for line in changes:
            self.changes.append(line)
            self.say(line)

    # Output -------------------------------------------------------------------------------------

    def skip(self, reason):
        self.skipped += 1
        self.note(f"{reason}; skipped.")

    def note(self, message):
        self.say(self.style.WARNING(f"Note: {message}"))

    def say(self, message):
        if self.verbosity >= 1:
            # Lift the progress bar (stderr) out of the way of the line, then redraw it.
            with tqdm.external_write_mode(file=sys.stderr):
                self.stdout.write(message)

    def summarise(self, dry_run):
        checked = ", ".join(f"{n} {kind}(s)" for kind, n in self.checked.items())
        if self.changes:
            # A record can change twice (recorded by its checkout, then made active): count it once.
            records = dict.fromkeys(tuple(line.split()[:2]) for line in self.changes)
            counts = {}
            for kind, _id in records:
                counts[kind] = counts.get(kind, 0) + 1
            repaired = ", ".join(
                f"{n} {kind}" + ("s" if n > 1 else "") for kind, n in counts.items()
            )
            verb = "Would repair" if dry_run else "Repaired"
            summary = f"{verb} {len(records)}: {repaired}. Checked {checked}."
        else:
            summary = f"Checked {checked}: nothing to repair."
        if self.skipped:
            summary += f" Skipped {self.skipped} that are not this site's."
        if self.unplaced:
            summary += f" {self.unplaced} could not be placed (see the notes)."
        if dry_run:
            summary += " Dry run: nothing was saved."
        self.say(self.style.SUCCESS(summary))
