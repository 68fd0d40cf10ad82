"""`manage.py membership_summary`: the week's figures printed, and mailed to staff with
--email (in the site's language, whatever language is active)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from members.models import Membership, Payment
from members.reporting import month_starts
from tests.factories import MembershipFactory, PriceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def members_now():
    """Members around the present: paying, in grace, trialing, complimentary; one ended last
    month and one in the last two days."""
    now = timezone.now()
    this_month, last_month = month_starts(now)[-1], month_starts(now)[-2]
    eur = PriceFactory(amount=500, currency="eur")
    usd = PriceFactory(amount=700, currency="usd")

    def subscription(price, started, status="active", **kw):
        membership = MembershipFactory(price=price, status=status, started_at=started, **kw)
        if status != "trialing":
            Payment.objects.create(
                stripe_id=f"in_{membership.pk}",
                membership=membership,
                kind="membership",
                amount=price.amount,
                currency=price.currency,
                paid_at=started,
            )

    subscription(eur, last_month - timedelta(days=40))  # paying at last month's start
    subscription(usd, now - timedelta(days=3))  # new this week
    subscription(usd, now - timedelta(days=1), "trialing")  # new this week
    subscription(  # in the grace period; paying at last month's start
        eur, last_month - timedelta(days=30), "past_due", current_period_end=now - timedelta(2)
    )
    ended = last_month + timedelta(days=1)
    subscription(  # ended last month
        eur, last_month - timedelta(days=60), "canceled", ended_at=ended, canceled_at=ended
    )
    ended = max(now - timedelta(days=2), this_month)
    subscription(  # ended this week; paying at last month's start
        eur, last_month - timedelta(days=90), "canceled", ended_at=ended, canceled_at=ended
    )
    Membership.objects.create(
        user=UserFactory(),
        kind="complimentary",
        status="complimentary",
        complimentary_until=now + timedelta(days=30),
    )
    return last_month


def test_the_summary_prints_members_mrr_the_week_and_last_month_s_churn(members_now):
    out = StringIO()
    call_command("membership_summary", stdout=out)
    text = out.getvalue()
    assert "- paying: 3 (1 in the grace period after a failed payment)" in text
    assert "- trialing: 1" in text
    assert "- complimentary: 1" in text
    assert "- €10\n" in text and "- $7\n" in text
    assert "- new subscriptions: 2" in text
    assert "- ended subscriptions: 1" in text
    month = members_now.strftime("%B %Y")
    assert f"Churn in {month}: 25.0% (1 ended of 4 paying at the start of the month)" in text
    assert "/admin/members/membership/dashboard/" in text
    assert mail.outbox == []


def test_with_email_the_summary_goes_to_the_alert_addresses_in_the_site_language(
    members_now, staff_alerts
):
    out = StringIO()
    with translation.override("ru"):
        call_command("membership_summary", "--email", stdout=out)
    (message,) = mail.outbox
    assert message.to == staff_alerts
    assert message.subject.startswith("[") and "Membership summary" in message.subject
    assert "- paying: 3" in message.body
    assert "- new subscriptions: 2" in message.body
    assert message.body.strip() in out.getvalue()
    assert "Mailed to" in out.getvalue()


def test_email_without_alert_addresses_is_refused_and_nothing_is_sent(settings):
    settings.MEMBERSHIP_ALERTS_EMAIL = []
    with pytest.raises(CommandError, match="MEMBERSHIP_ALERTS_EMAIL"):
        call_command("membership_summary", "--email", stdout=StringIO())
    assert mail.outbox == []
