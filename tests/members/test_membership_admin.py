"""The membership side of the admin: who sees it, granting complimentary memberships,
processing a failed Stripe event again, and the user list's membership columns, filters and
search."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members import webhooks
from members.access import is_member
from members.models import Customer, Donation, Membership, Payment, StripeEvent
from tests.factories import MembershipFactory, UserFactory
from tests.html import changelist_rows
from tests.members.stripe_events import invoice, make_event, post, stripe_settings  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]

PAGES = ["plan", "membership", "donation", "payment", "stripeevent"]


@pytest.mark.parametrize("model", PAGES)
def test_membership_managers_and_superusers_see_member_data_and_editors_do_not(
    client, membership_manager, superuser, editor, model
):
    url = f"/admin/members/{model}/"
    for allowed in (membership_manager, superuser):
        client.force_login(allowed)
        assert client.get(url).status_code == 200
    client.force_login(editor)
    assert client.get(url).status_code == 403


def test_a_manager_grants_a_complimentary_membership_with_an_end_date(client, membership_manager):
    reader = UserFactory(email="press.friend@example.com")
    client.force_login(membership_manager)
    until = timezone.localtime() + timedelta(days=90)
    form = {
        "user": reader.pk,
        "plan": "",
        "complimentary_until_0": until.strftime("%Y-%m-%d"),
        "complimentary_until_1": "12:00:00",
    }
    missing_end = client.post(
        "/admin/members/membership/add/",
        {**form, "complimentary_until_0": "", "complimentary_until_1": ""},
    )
    assert missing_end.status_code == 200
    assert not Membership.objects.exists()

    granted_from = timezone.now()
    response = client.post("/admin/members/membership/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    membership = Membership.objects.get()
    assert (membership.kind, membership.status) == ("complimentary", "complimentary")
    # It started when it was granted (the dashboard counts it in that month).
    assert granted_from <= membership.started_at <= timezone.now()
    assert is_member(reader)


def test_stripe_ids_of_a_subscription_are_read_only(client, membership_manager):
    membership = MembershipFactory(stripe_subscription_id="sub_read_only")
    client.force_login(membership_manager)
    page = client.get(f"/admin/members/membership/{membership.pk}/change/").content.decode()
    assert "sub_read_only" in page
    assert 'name="stripe_subscription_id"' not in page


def test_process_again_reruns_a_failed_event_exactly_once(client, membership_manager, monkeypatch):
    MembershipFactory(stripe_subscription_id="sub_test_1")
    real_handler = webhooks.HANDLERS["invoice.paid"]

    def broken(*args):
        raise RuntimeError("temporary fault")

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", broken)
    event = make_event("invoice.paid", invoice())
    assert post(client, event).status_code == 500
    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", real_handler)

    client.force_login(membership_manager)
    stored = StripeEvent.objects.get()
    for _ in range(2):
        response = client.post(
            "/admin/members/stripeevent/",
            {"action": "process_again", "_selected_action": [stored.pk]},
        )
        assert response.status_code == 302
    stored.refresh_from_db()
    assert stored.processed_at is not None
    assert Payment.objects.count() == 1


# The user list: membership columns, audience filters, search by Stripe ids --------------------

USERS = "/admin/members/user/"


def user_rows(response):
    """The user list's rows by email: {email: {column: text}}; a boolean icon reads "True" or
    "False"."""
    assert response.status_code == 200
    return {row["email"]: row for row in changelist_rows(response) if "email" in row}


def test_the_user_list_shows_whether_each_reader_is_a_member_and_of_which_plan(
    client, membership_manager, member, lapsed_member, reader
):
    comped = UserFactory(email="press.friend@example.com")
    MembershipFactory(
        user=comped,
        kind="complimentary",
        status="complimentary",
        price=None,
        plan=None,
        stripe_subscription_id=None,
        complimentary_until=timezone.now() + timedelta(days=30),
    )
    # A member who lapsed once and joined again: the current membership is the one shown.
    MembershipFactory(user=member, status="canceled", ended_at=timezone.now() - timedelta(days=400))
    client.force_login(membership_manager)

    rows = user_rows(client.get(USERS))

    shown = {
        email: (row["member_now"], row["membership_status"], row["membership_plan"])
        for email, row in rows.items()
    }
    assert shown["member@example.com"] == ("True", "active", "Supporter")
    assert shown["lapsed@example.com"] == ("False", "canceled", "Supporter")
    assert shown["press.friend@example.com"] == ("True", "complimentary", "-")
    assert shown["reader@example.com"] == ("False", "-", "-")


def test_the_user_list_costs_the_same_queries_for_a_page_of_many_members(
    client, membership_manager, django_assert_max_num_queries
):
    client.force_login(membership_manager)
    MembershipFactory()
    with CaptureQueriesContext(connection) as one_member:
        client.get(USERS)
    for _ in range(15):
        MembershipFactory(user=MembershipFactory(status="canceled").user)

    with django_assert_max_num_queries(len(one_member)):
        rows = user_rows(client.get(USERS))

    assert len(rows) == 17


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        ("member", {"member@example.com", "comped@example.com", "grace@example.com"}),
        ("lapsed", {"lapsed@example.com"}),
        ("donor", {"giver@example.com", "monthly@example.com"}),
        ("disputed", {"chargeback@example.com", "flagged@example.com"}),
    ],
)
def test_the_membership_filter_finds_members_lapsed_members_donors_and_disputes(
    client, membership_manager, member, lapsed_member, reader, audience, expected
):
    now = timezone.now()
    MembershipFactory(
        user=UserFactory(email="comped@example.com"),
        kind="complimentary",
        status="complimentary",
        price=None,
        plan=None,
        stripe_subscription_id=None,
        complimentary_until=now + timedelta(days=5),
    )
    MembershipFactory(
        user=UserFactory(email="grace@example.com"),
        status="past_due",
        current_period_end=now - timedelta(days=2),
    )
    # Lapsed once, member again: a member, not a lapsed member.
    MembershipFactory(user=member, status="canceled", ended_at=now - timedelta(days=90))
    # Ended too long ago to count as lapsed.
    MembershipFactory(
        user=UserFactory(email="long.gone@example.com"),
        status="canceled",
        ended_at=now - timedelta(days=800),
        current_period_end=now - timedelta(days=800),
    )
    giver = UserFactory(email="giver@example.com")
    Donation.objects.create(
        user=giver, email=giver.email, amount=2000, currency="eur", status="paid"
    )
    monthly = UserFactory(email="monthly@example.com")
    Donation.objects.create(
        user=monthly, amount=500, currency="eur", recurring=True, status="active"
    )
    chargeback = UserFactory(email="chargeback@example.com")
    Payment.objects.create(
        stripe_id="in_disputed",
        user=chargeback,
        amount=500,
        currency="eur",
        kind="membership",
        status="disputed",
        paid_at=now,
    )
    UserFactory(email="flagged@example.com", payment_disputed_at=now)
    client.force_login(membership_manager)

    rows = user_rows(client.get(USERS, {"audience": audience}))

    assert set(rows) == expected


@pytest.mark.parametrize(
    "term",
    ["sub_find_me", "cus_find_me", "cus_on_membership", "sub_monthly_gift", "ASKED@example"],
)
def test_the_user_list_finds_a_reader_by_email_or_stripe_id(client, membership_manager, term):
    asked = UserFactory(email="asked@example.com")
    Customer.objects.create(user=asked, stripe_customer_id="cus_find_me")
    MembershipFactory(
        user=asked, stripe_subscription_id="sub_find_me", stripe_customer_id="cus_on_membership"
    )
    Donation.objects.create(
        user=asked,
        amount=500,
        currency="eur",
        recurring=True,
        status="active",
        stripe_subscription_id="sub_monthly_gift",
    )
    MembershipFactory(user=UserFactory(email="someone.else@example.com"))
    client.force_login(membership_manager)

    assert set(user_rows(client.get(USERS, {"q": term}))) == {"asked@example.com"}


def test_editors_cannot_see_the_user_list(client, editor):
    client.force_login(editor)
    assert client.get(USERS).status_code == 403
