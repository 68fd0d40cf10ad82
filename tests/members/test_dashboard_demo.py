"""The dashboard over the demo's invented year: every figure equals what the definitions give
when worked out here, row by row in Python, from the raw memberships, payments and counts."""

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from members import reporting
from members.models import CancellationReason, Membership, Payment
from newsroom.demo.fundraising import create_demo_blocks
from newsroom.demo.membership import create_demo_plans
from newsroom.demo.membership_history import build_membership_history
from newsroom.models import CallToActionCount

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
NEVER_STARTED = {"incomplete", "incomplete_expired"}


def local(moment):
    return timezone.localtime(moment, timezone.get_default_timezone())


def month_key(moment):
    moment = local(moment)
    return moment.year, moment.month


def twelve_months():
    """The (year, month) of NOW's local month and the eleven before it, oldest first."""
    year, month = month_key(NOW)
    keys = []
    for _ in range(12):
        keys.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


def month_start(key):
    return datetime(key[0], key[1], 1, tzinfo=timezone.get_default_timezone())


@pytest.fixture(scope="module")
def figures(django_db_setup, django_db_blocker):
    """The demo's history and the dashboard over it, built once for the module."""
    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            create_demo_plans()
            create_demo_blocks()
            build_membership_history(NOW, seed=11)
            rows = {
                "memberships": list(Membership.objects.select_related("price")),
                "payments": list(Payment.objects.select_related("donation")),
                "counts": list(CallToActionCount.objects.select_related("block__campaign")),
            }
            board = reporting.dashboard(NOW)
            transaction.set_rollback(True)
    return board, rows


@pytest.fixture
def board(figures):
    return figures[0]


@pytest.fixture
def rows(figures):
    return figures[1]


def in_window(moment):
    return moment is not None and month_start(twelve_months()[0]) <= moment <= NOW


def test_the_history_is_rich_enough_to_test_anything(rows):
    subscriptions = [m for m in rows["memberships"] if m.kind == "subscription"]
    assert len(subscriptions) > 100
    assert {m.cancellation_reason for m in subscriptions} >= {
        CancellationReason.REQUESTED,
        CancellationReason.PAYMENT_FAILED,
    }
    assert any(p.amount_refunded for p in rows["payments"])
    assert {p.currency for p in rows["payments"]} == {"eur", "usd"}


def test_months_are_the_twelve_ending_now(board):
    assert [(m.start.year, m.start.month) for m in board.months] == twelve_months()


def test_new_complimentary_and_cancelled_per_month(board, rows):
    new, complimentary = Counter(), Counter()
    cancelled = defaultdict(Counter)
    for m in rows["memberships"]:
        if m.status in NEVER_STARTED:
            continue
        if in_window(m.started_at):
            (new if m.kind == "subscription" else complimentary)[month_key(m.started_at)] += 1
        if m.kind == "subscription" and in_window(m.ended_at):
            reason = {
                CancellationReason.REQUESTED: "voluntary",
                CancellationReason.PAYMENT_FAILED: "failed_payment",
            }.get(m.cancellation_reason, "other")
            cancelled[month_key(m.ended_at)][reason] += 1
    for month in board.months:
        key = (month.start.year, month.start.month)
        assert month.new == new[key], key
        assert month.complimentary == complimentary[key], key
        assert month.cancelled_voluntary == cancelled[key]["voluntary"], key
        assert month.cancelled_failed_payment == cancelled[key]["failed_payment"], key
        assert month.cancelled_other == cancelled[key]["other"], key
        assert month.net == new[key] - sum(cancelled[key].values()), key
    assert sum(new.values()) > 50 and sum(sum(c.values()) for c in cancelled.values()) > 10


def test_paying_at_each_month_start_and_churn(board, rows):
    first_paid = {}
    for p in rows["payments"]:
        if p.kind == "membership" and p.membership_id:
            first_paid[p.membership_id] = min(p.paid_at, first_paid.get(p.membership_id, p.paid_at))
    for month in board.months:
        start = month_start((month.start.year, month.start.month))
        paying = sum(
            1
            for m in rows["memberships"]
            if m.kind == "subscription"
            and m.status not in NEVER_STARTED
            and m.started_at < start
            and (m.ended_at is None or m.ended_at >= start)
            and m.pk in first_paid
            and first_paid[m.pk] < start
        )
        assert month.paying_at_start == paying, month.start
        if paying:
            assert month.churn_rate == month.cancelled / paying
    assert any(month.churn_rate for month in board.months)


def test_donations_and_revenue_per_month_and_currency(board, rows):
    donations = defaultdict(lambda: defaultdict(Counter))
    revenue = defaultdict(lambda: defaultdict(Counter))
    for p in rows["payments"]:
        if not in_window(p.paid_at):
            continue
        key = month_key(p.paid_at)
        if p.kind == "donation":
            kind = "recurring" if p.donation and p.donation.recurring else "one_off"
            donations[key][p.currency][f"{kind}_count"] += 1
            donations[key][p.currency][f"{kind}_amount"] += p.amount
        if p.status != "disputed":
            revenue[key][p.currency][p.kind] += p.amount - p.amount_refunded
    for month in board.months:
        key = (month.start.year, month.start.month)
        shown = {
            currency: {name: value for name, value in vars(figures).items() if value}
            for currency, figures in month.donations.items()
        }
        assert shown == {c: dict(v) for c, v in donations[key].items()}, key
        for currency in {*month.revenue, *revenue[key]}:
            got = month.revenue.get(currency, reporting.Revenue())
            assert got.membership == revenue[key][currency]["membership"], (key, currency)
            assert got.donation == revenue[key][currency]["donation"], (key, currency)


def test_members_now_and_mrr(board, rows):
    grace_start = NOW - timedelta(days=settings.MEMBERSHIP_GRACE_DAYS)
    last_payment = {}
    for p in rows["payments"]:
        if p.kind == "membership" and p.membership_id:
            best = last_payment.get(p.membership_id)
            if best is None or (p.paid_at, p.pk) > (best.paid_at, best.pk):
                last_payment[p.membership_id] = p
    status = Counter()
    mrr = defaultdict(Decimal)
    for m in rows["memberships"]:
        if m.kind == "complimentary":
            status["complimentary"] += m.complimentary_until > NOW
            continue
        if m.price is None:
            continue
        in_grace = m.status == "past_due" and m.current_period_end > grace_start
        if m.status not in ("active", "trialing") and not in_grace:
            continue
        status[m.status] += 1
        if m.status == "trialing":
            continue
        paid = last_payment.get(m.pk)
        amount, currency = (
            (paid.amount, paid.currency) if paid else (m.price.amount, m.price.currency)
        )
        mrr[currency] += Decimal(amount) / (12 if m.price.interval == "year" else 1)
    assert board.paying_now == status["active"] + status["past_due"]
    assert board.in_grace_now == status["past_due"]
    assert board.trialing_now == status["trialing"]
    assert board.complimentary_total == status["complimentary"]
    cents = Decimal("0.01")
    assert {c: a.quantize(cents) for c, a in board.mrr.items()} == {
        c: a.quantize(cents) for c, a in mrr.items()
    }
    assert all(status[name] for name in ("active", "past_due", "trialing", "complimentary"))


def test_conversions_per_block_and_campaign(board, rows):
    first_day = month_start(twelve_months()[0]).date()
    blocks, campaigns = defaultdict(Counter), defaultdict(Counter)
    for count in rows["counts"]:
        if not first_day <= count.day <= local(NOW).date():
            continue
        figures = {"views": count.views, "clicks": count.clicks, "conversions": count.conversions}
        blocks[count.block.name].update(figures)
        if count.block.campaign:
            campaigns[count.block.campaign.name].update(figures)

    def shown(conversions):
        return {
            c.name: {"views": c.views, "clicks": c.clicks, "conversions": c.conversions}
            for c in conversions
        }

    assert shown(board.blocks) == {name: dict(f) for name, f in blocks.items()}
    assert shown(board.campaigns) == {name: dict(f) for name, f in campaigns.items()}
    assert sum(f["conversions"] for f in blocks.values()) > 0


def test_cancellation_reasons_and_feedback(board, rows):
    ended = [
        m
        for m in rows["memberships"]
        if m.kind == "subscription" and m.status not in NEVER_STARTED and in_window(m.ended_at)
    ]
    reasons = Counter(m.cancellation_reason for m in ended)
    feedback = Counter(m.cancellation_feedback for m in ended)
    assert {r.code: r.count for r in board.cancellation_reasons if r.count} == dict(reasons)
    assert {r.code: r.count for r in board.cancellation_feedback if r.count} == dict(feedback)
