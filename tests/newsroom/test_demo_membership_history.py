"""The demo's invented year of membership history (newsroom.demo.membership_history)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Min, Q, Sum
from django.test import override_settings

from members.models import (
    Customer,
    Donation,
    Membership,
    Payment,
    Plan,
    Price,
    User,
    months_before,
)
from newsroom.demo.fundraising import create_demo_blocks
from newsroom.demo.membership import create_demo_plans
from newsroom.demo.membership_history import (
    HistoryError,
    build_membership_history,
    remove_membership_history,
)
from newsroom.models import Article, CallToActionCount
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
START = months_before(NOW, 12)


@pytest.fixture
def demo_site():
    create_demo_plans()
    create_demo_blocks()


@pytest.fixture
def history(demo_site, django_assert_max_num_queries):
    # Written in bulk: the number of queries does not grow with the rows.
    with django_assert_max_num_queries(30):
        return build_membership_history(NOW, seed=7)


def subscriptions():
    return Membership.objects.filter(kind="subscription")


def test_it_writes_every_kind_of_row_the_dashboard_shows(history):
    readers = User.objects.filter(email__endswith="+demo@example.org")
    assert 150 <= readers.count() <= 300
    assert readers.count() == User.objects.count()
    assert any(not user.get_full_name().isascii() for user in readers)
    assert Customer.objects.filter(stripe_customer_id__startswith="cus_demo_").exists()

    # Each demo plan price has members: monthly and yearly, in euros and dollars.
    combos = set(subscriptions().values_list("price__interval", "price__currency"))
    assert combos == {("month", "eur"), ("month", "usd"), ("year", "eur"), ("year", "usd")}
    assert set(subscriptions().values_list("plan__slug", flat=True)) == {
        "supporter",
        "sustainer",
        "patron",
    }

    statuses = set(subscriptions().values_list("status", flat=True))
    assert {
        "active",
        "trialing",
        "past_due",
        "canceled",
        "unpaid",
        "incomplete_expired",
    } <= statuses
    past_due = subscriptions().filter(status="past_due")
    assert Membership.objects.active(NOW).filter(pk__in=past_due).count() == past_due.count()
    assert subscriptions().filter(status="active", cancel_at_period_end=True).exists()
    ended = subscriptions().filter(status="canceled")
    assert ended.filter(cancellation_reason="cancellation_requested").exists()
    assert ended.filter(cancellation_reason="payment_failed").exists()
    assert ended.exclude(cancellation_feedback="").exists()
    assert ended.exclude(cancellation_comment="").exists()
    assert ended.filter(ended_at=F("canceled_at"), cancellation_reason="cancellation_requested")
    assert not subscriptions().filter(status="trialing").filter(payments__isnull=False).exists()

    # Monthly renewals, yearly payments, and upgrades (a dearer price paid later).
    renewals = subscriptions().annotate(n=Count("payments")).filter(price__interval="month")
    assert renewals.filter(n__gte=6).exists()
    assert Payment.objects.filter(membership__price__interval="year").exists()
    assert not Payment.objects.exclude(
        Q(stripe_id__startswith="in_demo_") | Q(stripe_id__startswith="pi_demo_")
    ).exists()
    upgraded = subscriptions().annotate(low=Min("payments__amount"), high=Max("payments__amount"))
    assert upgraded.filter(high__gt=F("low")).exists()

    refunds = Payment.objects.exclude(amount_refunded=0)
    assert refunds.filter(status="refunded", amount_refunded=F("amount")).exists()
    assert refunds.filter(status="partially_refunded", amount_refunded__lt=F("amount")).exists()
    assert Payment.objects.filter(status="disputed").count() == 1
    assert User.objects.filter(payment_disputed_at__isnull=False).count() == 1

    complimentary = Membership.objects.filter(kind="complimentary")
    assert complimentary.count() >= 5
    assert complimentary.filter(complimentary_until__gt=NOW).exists()

    one_off = Donation.objects.filter(recurring=False)
    monthly = Donation.objects.filter(recurring=True)
    assert one_off.filter(user__isnull=True).exists() and one_off.filter(user__isnull=False)
    assert Payment.objects.filter(kind="donation", donation__recurring=False).count() == (
        one_off.count()
    )
    assert Payment.objects.filter(kind="donation", donation__recurring=True).count() > (
        monthly.count()
    )

    counts = CallToActionCount.objects.aggregate(
        views=Sum("views"), clicks=Sum("clicks"), conversions=Sum("conversions")
    )
    assert counts["views"] > counts["clicks"] > counts["conversions"] > 0
    # In scale with what started: some sign-ups and gifts came from a block, never more.
    started = subscriptions().count() + Donation.objects.count()
    assert started // 10 <= counts["conversions"] <= started
    assert set(CallToActionCount.objects.values_list("language", flat=True)) == {"en", "ru"}


def test_dates_fall_in_the_year_and_agree_with_each_other(history):
    assert not Membership.objects.exclude(started_at__range=(START, NOW)).exists()
    assert not Membership.objects.filter(ended_at__lt=F("started_at")).exists()
    assert not Membership.objects.filter(ended_at__gt=NOW).exists()
    assert not Membership.objects.filter(canceled_at__gt=NOW).exists()
    assert not subscriptions().filter(status="canceled", ended_at__isnull=True).exists()
    assert not subscriptions().exclude(status="canceled").filter(ended_at__isnull=False).exists()
    assert not Payment.objects.exclude(paid_at__range=(START, NOW)).exists()
    # A membership's payments fall while it ran.
    assert not Payment.objects.filter(paid_at__lt=F("membership__started_at")).exists()
    assert not Payment.objects.filter(paid_at__gt=F("membership__ended_at")).exists()
    assert not Payment.objects.filter(amount_refunded__gt=F("amount")).exists()
    assert not Payment.objects.filter(paid_at__lt=F("user__date_joined")).exists()
    days = CallToActionCount.objects.aggregate(first=Min("day"), last=Max("day"))
    assert days["first"] >= START.date() and days["last"] <= NOW.date()
    assert not CallToActionCount.objects.filter(clicks__lt=F("conversions")).exists()
    assert not CallToActionCount.objects.filter(views__lt=F("clicks")).exists()


def snapshot():
    return (
        list(
            Membership.objects.order_by("user__email").values_list(
                "user__email",
                "user__first_name",
                "status",
                "price__lookup_key",
                "started_at",
                "ended_at",
                "cancellation_feedback",
            )
        ),
        list(Payment.objects.order_by("stripe_id").values_list("stripe_id", "amount", "paid_at")),
        list(CallToActionCount.objects.order_by("block", "language", "day").values_list()),
    )


def test_the_same_seed_and_moment_write_the_same_history(demo_site):
    build_membership_history(NOW, seed=7)
    first = snapshot()
    remove_membership_history()
    assert not Membership.objects.exists() and not Payment.objects.exists()
    build_membership_history(NOW, seed=7)
    assert snapshot()[0] == first[0]
    assert snapshot()[1] == first[1]
    assert [row[2:] for row in snapshot()[2]] == [row[2:] for row in first[2]]
    remove_membership_history()
    build_membership_history(NOW, seed=8)
    assert snapshot()[0] != first[0]


def test_a_second_history_is_refused_and_removing_it_leaves_the_sites_own_rows(history):
    own = MembershipFactory(
        user__email="real.member@example.com",
        price=Price.objects.get(lookup_key="newsroom-supporter-month-eur"),
    )
    with pytest.raises(HistoryError, match="there already"):
        build_membership_history(NOW, seed=7)
    with pytest.raises(CommandError, match="use --reset"):
        call_command("demo_membership_history", verbosity=0)

    call_command("demo_membership_history", reset=True, months=3, seed=1, verbosity=0)

    assert (
        not Membership.objects.filter(started_at__lt=months_before(NOW, 4))
        .exclude(pk=own.pk)
        .exists()
    )
    remove_membership_history()
    assert list(Membership.objects.all()) == [own]
    assert list(User.objects.all()) == [own.user]
    assert not Payment.objects.exists() and not Donation.objects.exists()
    assert not CallToActionCount.objects.exists()
    assert Plan.objects.count() == 3  # the demo plans stay


def test_without_the_demo_plans_it_says_what_to_run(settings):
    with pytest.raises(CommandError, match="run `python manage.py demo`"):
        call_command("demo_membership_history", verbosity=0)
    assert not User.objects.exists()


@pytest.mark.parametrize("months", [0, -1, 37])
def test_a_month_count_out_of_range_is_refused(demo_site, months):
    with pytest.raises(CommandError, match="--months must be between 1 and 36"):
        call_command("demo_membership_history", months=months, verbosity=0)
    assert not User.objects.exists()


def test_the_command_reports_what_it_wrote(demo_site, capsys):
    call_command("demo_membership_history", months=2, seed=3)
    out = capsys.readouterr().out
    assert "Membership history over 2 months:" in out and " readers, " in out
    assert Membership.objects.aggregate(first=Min("started_at"))["first"] >= months_before(
        datetime.now(UTC), 2
    ) - timedelta(seconds=5)


def test_the_demo_writes_the_history_once_and_its_reset_removes_it(monkeypatch):
    # Without the pictures and stories, which other tests cover.
    from newsroom.management.commands import demo

    monkeypatch.setattr(demo.Command, "build_pictures", lambda self: [])
    dummy = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    with override_settings(TASKS=dummy):
        call_command("demo", articles=0, verbosity=0)
        readers = set(User.objects.values_list("email", flat=True))
        assert len(readers) >= 150 and Payment.objects.exists()
        call_command("demo", articles=0, verbosity=0)  # a second run adds no second history
        assert set(User.objects.values_list("email", flat=True)) == readers
        Membership.objects.filter(status="trialing").update(status="active")
        call_command("demo", articles=0, reset=True, verbosity=0)
    # The history was removed, then written afresh.
    assert not Membership.objects.filter(status="active", payments__isnull=True).exists()
    assert Membership.objects.filter(status="trialing").exists()
    assert not Article.objects.exists()
