"""The membership dashboard's figures, computed from local rows (docs/membership-desk.md).

Every figure is one aggregate query (GROUP BY, conditional counts and sums, correlated
subqueries on indexed columns), so the number of queries and the Python work stay the same
whether there are ten members or a hundred thousand: Python only arranges the grouped results
into the twelve months.

Months are calendar months in settings.TIME_ZONE: the month of `now` (up to `now`) and the 11
before it. Amounts are in minor units (cents), per currency; currencies are never added up.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from newsroom.models import CallToActionCount

from .models import CancellationFeedback, CancellationReason, Membership, Payment, Plan, Price

MONTHS = 12

# Subscriptions that never started: Checkout was left unpaid. They count nowhere.
NEVER_STARTED = [Membership.Status.INCOMPLETE, Membership.Status.INCOMPLETE_EXPIRED]


@dataclass
class ActiveRow:
    """Subscriptions giving access now, for one plan price."""

    plan: str
    interval: str
    currency: str
    paid: int = 0
    trialing: int = 0
    in_grace: int = 0

    @property
    def total(self):
        return self.paid + self.trialing + self.in_grace

    def get_interval_display(self):
        return Price.Interval(self.interval).label


@dataclass
class ComplimentaryRow:
    """Complimentary memberships giving access now, for one plan (or none)."""

    plan: str
    count: int


@dataclass
class Donations:
    """Donation payments of one month in one currency: count and gross amount."""

    one_off_count: int = 0
    one_off_amount: int = 0
    recurring_count: int = 0
    recurring_amount: int = 0


@dataclass
class Revenue:
    """What one month's payments brought in one currency, net of refunds, disputes excluded."""

    membership: int = 0
    donation: int = 0

    @property
    def total(self):
        return self.membership + self.donation


@dataclass
class Month:
    """One calendar month's movements."""

    start: date
    new: int = 0
    complimentary: int = 0
    cancelled_voluntary: int = 0
    cancelled_failed_payment: int = 0
    cancelled_other: int = 0
    paying_at_start: int = 0
    donations: dict = field(default_factory=dict)  # {currency: Donations}
    revenue: dict = field(default_factory=dict)  # {currency: Revenue}

    @property
    def cancelled(self):
        return self.cancelled_voluntary + self.cancelled_failed_payment + self.cancelled_other

    @property
    def net(self):
        return self.new - self.cancelled

    @property
    def churn_rate(self):
        """Cancelled in the month ÷ paying at its start; None when nobody was paying."""
        if not self.paying_at_start:
            return None
        return self.cancelled / self.paying_at_start


@dataclass
class Conversion:
    """Views, clicks and conversions of a fundraiser block or a campaign over the months."""

    name: str
    views: int = 0
    clicks: int = 0
    conversions: int = 0

    @property
    def click_rate(self):
        """Clicks ÷ views; None without views."""
        return self.clicks / self.views if self.views else None

    @property
    def conversion_rate(self):
        """Conversions ÷ clicks; None without clicks."""
        return self.conversions / self.clicks if self.clicks else None


@dataclass
class ReasonCount:
    """How many cancelled subscriptions gave one reason (or one piece of feedback)."""

    code: str
    label: str
    count: int


@dataclass
class Dashboard:
    now: datetime
    active_now: list  # [ActiveRow]
    complimentary_now: list  # [ComplimentaryRow]
    mrr: dict  # {currency: Decimal minor units}
    months: list  # [Month], oldest first
    blocks: list  # [Conversion]
    campaigns: list  # [Conversion]
    cancellation_reasons: list  # [ReasonCount]
    cancellation_feedback: list  # [ReasonCount]

    @property
    def currencies(self):
        """Every currency a figure is given in, sorted."""
        found = set(self.mrr)
        found.update(row.currency for row in self.active_now)
        for month in self.months:
            found.update(month.donations, month.revenue)
        return sorted(found)

    @property
    def mrr_rounded(self):
        """MRR per currency rounded to the minor unit, for display."""
        return {
            currency: int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
            for currency, amount in self.mrr.items()
        }

    @property
    def paying_now(self):
        return sum(row.paid + row.in_grace for row in self.active_now)

    @property
    def trialing_now(self):
        return sum(row.trialing for row in self.active_now)

    @property
    def in_grace_now(self):
        return sum(row.in_grace for row in self.active_now)

    @property
    def complimentary_total(self):
        return sum(row.count for row in self.complimentary_now)


def month_starts(now, months=MONTHS):
    """The first instants of the `months` calendar months ending with `now`'s, oldest first,
    in settings.TIME_ZONE."""
    zone = timezone.get_default_timezone()
    local = timezone.localtime(now, zone)
    index = local.year * 12 + local.month - 1
    starts = []
    for n in range(index - months + 1, index + 1):
        year, month = divmod(n, 12)
        starts.append(datetime(year, month + 1, 1, tzinfo=zone))
    return starts


def paying(now):
    """Subscriptions paying at `now`: giving access and not trialing (so active, or past due
    within the grace period)."""
    return (
        Membership.objects.active(now)
        .filter(kind=Membership.Kind.SUBSCRIPTION)
        .exclude(status=Membership.Status.TRIALING)
    )


def dashboard(now=None):
    """Every figure of the membership dashboard as of `now` (default: the present)."""
    now = now or timezone.now()
    starts = month_starts(now)
    months = [Month(start=start.date()) for start in starts]
    by_month = {(start.year, start.month): month for start, month in zip(starts, months)}
    window = {"gte": starts[0], "lte": now}

    def month_of(moment):
        local = timezone.localtime(moment, timezone.get_default_timezone())
        return by_month.get((local.year, local.month))

    _new_by_month(window, month_of)
    reasons, feedback = _cancelled_by_month(window, month_of)
    _paying_at_starts(starts, months)
    _payments_by_month(window, month_of)
    active_now, complimentary_now = _active_now(now)
    blocks, campaigns = _conversions(starts[0], now)
    return Dashboard(
        now=now,
        active_now=active_now,
        complimentary_now=complimentary_now,
        mrr=mrr(now),
        months=months,
        blocks=blocks,
        campaigns=campaigns,
        cancellation_reasons=reasons,
        cancellation_feedback=feedback,
    )


def _range(name, window):
    return {f"{name}__{op}": value for op, value in window.items()}


def _active_now(now):
    """Memberships giving access now by plan, interval and currency (two queries)."""
    Status = Membership.Status
    subscription = Q(kind=Membership.Kind.SUBSCRIPTION)
    rows = (
        Membership.objects.active(now)
        .order_by()
        .values("plan_id", "price__interval", "price__currency")
        .annotate(
            paid=Count("pk", filter=subscription & Q(status=Status.ACTIVE)),
            trialing=Count("pk", filter=subscription & Q(status=Status.TRIALING)),
            in_grace=Count("pk", filter=subscription & Q(status=Status.PAST_DUE)),
            complimentary=Count("pk", filter=Q(kind=Membership.Kind.COMPLIMENTARY)),
        )
    )
    rows = list(rows)
    plans = Plan.objects.in_bulk({row["plan_id"] for row in rows if row["plan_id"]})
    active, complimentary = [], {}
    for row in rows:
        plan = plans.get(row["plan_id"])
        name = plan.name if plan else ""
        if row["paid"] or row["trialing"] or row["in_grace"]:
            active.append(
                ActiveRow(
                    plan=name,
                    interval=row["price__interval"],
                    currency=row["price__currency"],
                    paid=row["paid"],
                    trialing=row["trialing"],
                    in_grace=row["in_grace"],
                )
            )
        if row["complimentary"]:
            complimentary[name] = complimentary.get(name, 0) + row["complimentary"]
    active.sort(key=lambda row: (row.plan, row.currency, row.interval))
    return active, [ComplimentaryRow(plan, count) for plan, count in sorted(complimentary.items())]


def mrr(now):
    """Monthly recurring revenue per currency at `now`, in minor units (a Decimal: a yearly
    price counts a twelfth): over subscriptions paying now, the amount of each one's latest
    membership payment, or its price's amount when it has none yet (one query, grouped by
    currency and interval; each subscription's latest payment is one index lookup)."""
    latest = Payment.objects.filter(
        membership=OuterRef("pk"), kind=Payment.Kind.MEMBERSHIP
    ).order_by("-paid_at", "-pk")
    rows = (
        paying(now)
        .annotate(
            last_amount=Subquery(latest.values("amount")[:1]),
            last_currency=Subquery(latest.values("currency")[:1]),
        )
        .order_by()
        .values("last_currency", "price__currency", "price__interval")
        .annotate(paid=Sum("last_amount"), listed=Sum("price__amount"))
    )
    totals = {}
    for row in rows:
        # Without a payment (no currency of its own), a subscription counts its price.
        if row["last_currency"] is None:
            currency, amount = row["price__currency"], row["listed"]
        else:
            currency, amount = row["last_currency"], row["paid"]
        amount = Decimal(amount)
        if row["price__interval"] == Price.Interval.YEAR:
            amount /= 12
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    return dict(sorted(totals.items()))


def _new_by_month(window, month_of):
    """Subscriptions and complimentary grants that started in each month (one query)."""
    rows = (
        Membership.objects.filter(**_range("started_at", window))
        .exclude(status__in=NEVER_STARTED)
        .annotate(month=TruncMonth("started_at", tzinfo=timezone.get_default_timezone()))
        .order_by()
        .values("month")
        .annotate(
            new=Count("pk", filter=Q(kind=Membership.Kind.SUBSCRIPTION)),
            complimentary=Count("pk", filter=Q(kind=Membership.Kind.COMPLIMENTARY)),
        )
    )
    for row in rows:
        if month := month_of(row["month"]):
            month.new += row["new"]
            month.complimentary += row["complimentary"]


def _cancelled_by_month(window, month_of):
    """Subscriptions that ended in each month by reason, and the reasons and feedback over
    all the months (one query, grouped by month, reason and feedback)."""
    rows = (
        Membership.objects.subscriptions()
        .filter(**_range("ended_at", window))
        .exclude(status__in=NEVER_STARTED)
        .annotate(month=TruncMonth("ended_at", tzinfo=timezone.get_default_timezone()))
        .order_by()
        .values("month", "cancellation_reason", "cancellation_feedback")
        .annotate(count=Count("pk"))
    )
    reasons = dict.fromkeys([*CancellationReason.values, ""], 0)
    feedback = dict.fromkeys([*CancellationFeedback.values, ""], 0)
    for row in rows:
        month = month_of(row["month"])
        if month is None:
            continue
        reason = row["cancellation_reason"]
        if reason == CancellationReason.REQUESTED:
            month.cancelled_voluntary += row["count"]
        elif reason == CancellationReason.PAYMENT_FAILED:
            month.cancelled_failed_payment += row["count"]
        else:
            month.cancelled_other += row["count"]
        reasons[reason if reason in reasons else ""] += row["count"]
        answer = row["cancellation_feedback"]
        feedback[answer if answer in feedback else ""] += row["count"]
    return (
        _counts(reasons, {**dict(CancellationReason.choices), "": _("no reason recorded")}),
        _counts(feedback, {**dict(CancellationFeedback.choices), "": _("no feedback given")}),
    )


def _counts(counts, labels):
    # The choices in their order, then the blank one (the dicts were built in that order).
    return [ReasonCount(code, labels[code], count) for code, count in counts.items()]


def _paying_at_starts(starts, months):
    """For each month, the subscriptions paying at its first instant: started before it, not
    ended by then, and with a membership payment before it (one query: each subscription's
    first payment is found once, by a join grouped per subscription, then counted against
    every month's start)."""
    candidates = (
        Membership.objects.subscriptions()
        .filter(started_at__lt=starts[-1])
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=starts[0]))
        .exclude(status__in=NEVER_STARTED)
        .annotate(
            first_paid=Min(
                "payments__paid_at",
                filter=Q(payments__kind=Payment.Kind.MEMBERSHIP, payments__paid_at__lt=starts[-1]),
            )
        )
    )
    counts = candidates.aggregate(
        **{
            f"m{index}": Count(
                "pk",
                filter=Q(started_at__lt=start, first_paid__lt=start)
                & (Q(ended_at__isnull=True) | Q(ended_at__gte=start)),
            )
            for index, start in enumerate(starts)
        }
    )
    for index, month in enumerate(months):
        month.paying_at_start = counts[f"m{index}"]


def _payments_by_month(window, month_of):
    """Donations (count and gross amount, one-off vs recurring) and revenue (net of refunds,
    disputed payments left out) per month and currency (one query)."""
    donation = Q(kind=Payment.Kind.DONATION)
    recurring = donation & Q(donation__recurring=True)
    # A donation payment whose gift row is gone counts as one-off.
    one_off = donation & ~Q(donation__recurring=True)
    counted = ~Q(status=Payment.Status.DISPUTED)
    net = F("amount") - F("amount_refunded")
    rows = (
        Payment.objects.filter(**_range("paid_at", window))
        .annotate(month=TruncMonth("paid_at", tzinfo=timezone.get_default_timezone()))
        .order_by()
        .values("month", "currency")
        .annotate(
            one_off_count=Count("pk", filter=one_off),
            one_off_amount=Sum("amount", filter=one_off),
            recurring_count=Count("pk", filter=recurring),
            recurring_amount=Sum("amount", filter=recurring),
            membership=Sum(net, filter=counted & Q(kind=Payment.Kind.MEMBERSHIP)),
            donation_net=Sum(net, filter=counted & donation),
        )
    )
    for row in rows:
        month = month_of(row["month"])
        if month is None:
            continue
        currency = row["currency"]
        if row["one_off_count"] or row["recurring_count"]:
            month.donations[currency] = Donations(
                one_off_count=row["one_off_count"],
                one_off_amount=row["one_off_amount"] or 0,
                recurring_count=row["recurring_count"],
                recurring_amount=row["recurring_amount"] or 0,
            )
        month.revenue[currency] = Revenue(
            membership=row["membership"] or 0, donation=row["donation_net"] or 0
        )


def _conversions(since, now):
    """Views, clicks and conversions per fundraiser block over the months, and per campaign
    (one query; a campaign's figures are the sum of its blocks')."""
    zone = timezone.get_default_timezone()
    rows = (
        CallToActionCount.objects.filter(
            day__gte=timezone.localtime(since, zone).date(),
            day__lte=timezone.localtime(now, zone).date(),
        )
        .order_by()
        .values("block_id", "block__name", "block__campaign_id", "block__campaign__name")
        .annotate(views=Sum("views"), clicks=Sum("clicks"), conversions=Sum("conversions"))
    )
    blocks, campaigns = [], {}
    for row in rows:
        figures = {key: row[key] or 0 for key in ("views", "clicks", "conversions")}
        blocks.append(Conversion(name=row["block__name"], **figures))
        if row["block__campaign_id"] is not None:
            campaign = campaigns.setdefault(
                row["block__campaign_id"], Conversion(name=row["block__campaign__name"])
            )
            for key, value in figures.items():
                setattr(campaign, key, getattr(campaign, key) + value)
    blocks.sort(key=lambda block: (-block.conversions, block.name))
    return blocks, sorted(campaigns.values(), key=lambda c: (-c.conversions, c.name))


def started_and_ended(since, until):
    """How many subscriptions started, and how many ended, between `since` and `until` (never
    started ones left out; one query)."""
    return (
        Membership.objects.subscriptions()
        .exclude(status__in=NEVER_STARTED)
        .filter(
            Q(started_at__gte=since, started_at__lte=until)
            | Q(ended_at__gte=since, ended_at__lte=until)
        )
        .aggregate(
            new=Count("pk", filter=Q(started_at__gte=since, started_at__lte=until)),
            cancelled=Count("pk", filter=Q(ended_at__gte=since, ended_at__lte=until)),
        )
    )
