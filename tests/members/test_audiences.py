"""Who is a member, a lapsed member or a donor, computed at query time from `now`."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from members.access import (
    audiences_of,
    can_read_full,
    is_donor,
    is_lapsed_member,
    is_member,
)
from members.models import Donation, Membership, Payment
from newsroom.models import Article
from tests.factories import ArticleFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def with_membership(**kwargs):
    user = UserFactory()
    MembershipFactory(user=user, **kwargs)
    return user


@pytest.mark.parametrize(
    ("status", "period_end", "expected"),
    [
        ("active", timedelta(days=20), True),
        ("trialing", timedelta(days=5), True),
        ("past_due", -timedelta(days=3), True),  # within the 7-day grace
        ("past_due", -timedelta(days=8), False),  # beyond it
        ("canceled", -timedelta(days=1), False),
        ("unpaid", timedelta(days=1), False),
        ("incomplete", timedelta(days=1), False),
        ("incomplete_expired", timedelta(days=1), False),
        ("paused", timedelta(days=1), False),
    ],
)
def test_subscription_status_decides_membership(status, period_end, expected):
    user = with_membership(status=status, current_period_end=NOW + period_end)
    assert is_member(user, now=NOW) is expected


def test_grace_period_is_a_setting_and_time_is_computed_at_query_time(settings):
    user = with_membership(status="past_due", current_period_end=NOW - timedelta(days=3))
    settings.MEMBERSHIP_GRACE_DAYS = 2
    assert not is_member(user, now=NOW)
    settings.MEMBERSHIP_GRACE_DAYS = 7
    assert is_member(user, now=NOW)
    assert not is_member(user, now=NOW + timedelta(days=5))


def test_complimentary_membership_lasts_until_its_end_date():
    user = UserFactory()
    Membership.objects.create(
        user=user,
        kind="complimentary",
        status="complimentary",
        complimentary_until=NOW + timedelta(days=10),
    )
    assert is_member(user, now=NOW)
    assert not is_member(user, now=NOW + timedelta(days=11))
    assert is_lapsed_member(user, now=NOW + timedelta(days=11))


def test_a_subscription_without_a_plan_price_is_not_a_membership():
    assert not is_member(with_membership(price=None, plan=None), now=NOW)


def test_lapsed_members_ended_within_the_window(settings):
    ended = NOW - timedelta(days=60)
    user = with_membership(status="canceled", ended_at=ended, current_period_end=ended)
    assert not is_member(user, now=NOW)
    assert is_lapsed_member(user, now=NOW)
    assert not is_lapsed_member(user, now=NOW + timedelta(days=800))
    settings.MEMBERSHIP_LAPSED_MONTHS = 1
    assert not is_lapsed_member(user, now=NOW)


def test_a_member_again_is_not_lapsed_and_a_never_member_is_neither(reader):
    ended = NOW - timedelta(days=60)
    user = with_membership(status="canceled", ended_at=ended)
    MembershipFactory(user=user, status="active")
    assert is_member(user, now=NOW) and not is_lapsed_member(user, now=NOW)
    assert not is_member(reader) and not is_lapsed_member(reader) and not is_donor(reader)
    never_paid = with_membership(status="incomplete_expired", ended_at=ended)
    assert not is_lapsed_member(never_paid, now=NOW)


def test_donors_gave_within_the_window_or_give_monthly(settings):
    one_off = UserFactory()
    Donation.objects.create(user=one_off, amount=2500, currency="eur", status="paid")
    assert is_donor(one_off, now=NOW)
    assert not is_donor(one_off, now=NOW + timedelta(days=400))

    monthly = UserFactory()
    Donation.objects.create(
        user=monthly,
        amount=500,
        currency="eur",
        recurring=True,
        status="active",
        stripe_subscription_id="sub_gift",
    )
    assert is_donor(monthly, now=NOW + timedelta(days=900))


def test_a_recurring_donation_is_not_a_membership():
    user = UserFactory()
    donation = Donation.objects.create(
        user=user,
        amount=500,
        currency="eur",
        recurring=True,
        status="active",
        stripe_subscription_id="sub_gift",
    )
    Payment.objects.create(
        stripe_id="in_gift",
        user=user,
        donation=donation,
        amount=500,
        currency="eur",
        kind="donation",
        paid_at=NOW,
    )
    assert is_donor(user, now=NOW)
    assert not is_member(user, now=NOW) and not is_lapsed_member(user, now=NOW)


def test_members_read_members_only_and_early_access_stories(member, lapsed_member, reader):
    members_only = ArticleFactory(visibility=Article.Visibility.MEMBERS)
    early = ArticleFactory(
        visibility=Article.Visibility.EARLY_ACCESS, public_from=timezone.now() + timedelta(days=2)
    )
    assert can_read_full(member, members_only) and can_read_full(member, early)
    for outsider in (lapsed_member, reader, AnonymousUser()):
        assert not can_read_full(outsider, members_only)
        assert not can_read_full(outsider, early)
    assert can_read_full(reader, early, now=timezone.now() + timedelta(days=3))


def test_what_a_reader_is_takes_one_query_cached_per_request(member, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert is_member(member)
        assert not is_lapsed_member(member)
        assert is_member(member)
        assert not is_donor(member)
        assert audiences_of(member) == {"everyone", "member", "non_donor"}


def test_the_membership_desk_filters_readers_by_the_same_audience_rules(
    client, membership_manager, member, lapsed_member
):
    back_again = with_membership(status="canceled", ended_at=NOW - timedelta(days=30))
    MembershipFactory(user=back_again)  # lapsed once, a member again now
    giver = UserFactory(email="giver@example.com")
    Donation.objects.create(user=giver, amount=500, currency="eur", status="paid")
    everyone = [member, lapsed_member, back_again, giver, membership_manager]

    client.force_login(membership_manager)
    for audience, rule in [
        ("member", is_member),
        ("lapsed", is_lapsed_member),
        ("donor", is_donor),
    ]:
        page = client.get("/admin/members/user/", {"audience": audience}).content.decode()
        listed = {user.email for user in everyone if f"/members/user/{user.pk}/change/" in page}
        assert listed == {user.email for user in everyone if rule(user)}, audience
    assert is_member(back_again) and not is_lapsed_member(back_again)


def test_a_reader_belongs_to_every_audience_whose_rule_they_meet(lapsed_member, member):
    Donation.objects.create(user=lapsed_member, amount=500, currency="eur", status="paid")
    Donation.objects.create(user=member, amount=900, currency="usd", status="paid")

    assert audiences_of(lapsed_member) == {"everyone", "registered", "lapsed", "donor"}
    assert audiences_of(member) == {"everyone", "member", "donor"}
    assert audiences_of(UserFactory()) == {"everyone", "registered", "non_donor"}
    assert audiences_of(AnonymousUser()) == {"everyone", "anonymous", "non_donor"}
