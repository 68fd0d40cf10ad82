"""The member's account page: membership, renewal or end, history, data download, deletion."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from members.models import Customer, Donation, Membership, Payment, User
from tests.conftest import PASSWORD
from tests.factories import PriceFactory
from tests.html import visible_text

pytestmark = pytest.mark.django_db

ACCOUNT = "/membership/account/"


def account_page(client):
    response = client.get(ACCOUNT)
    assert response.status_code == 200
    return visible_text(response.content)


def test_account_page_needs_a_login(client):
    response = client.get(ACCOUNT)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/membership/account/")


def test_member_sees_plan_price_status_and_renewal_date(client, member):
    membership = member.memberships.get()
    membership.current_period_end = timezone.localtime().replace(
        year=2027, month=3, day=14, hour=12, minute=0
    )
    membership.save()
    client.force_login(member)
    page = account_page(client)
    assert "Supporter · €5 per month" in page
    assert "Status Active" in page
    assert "Renews on 14 March 2027" in page
    assert "Cancels on" not in page


def test_a_membership_set_to_cancel_says_when_it_ends(client, member):
    membership = member.memberships.get()
    membership.cancel_at_period_end = True
    membership.current_period_end = timezone.localtime().replace(
        year=2027, month=1, day=5, hour=12, minute=0
    )
    membership.save()
    client.force_login(member)
    page = account_page(client)
    assert "Cancels on 5 January 2027" in page
    assert "Renews on" not in page


def test_past_due_member_is_asked_to_update_the_card(client, member):
    Membership.objects.filter(user=member).update(status=Membership.Status.PAST_DUE)
    client.force_login(member)
    assert "Your last payment failed" in account_page(client)


def test_complimentary_member_sees_the_end_date(client, reader):
    until = timezone.localtime().replace(year=2027, month=6, day=30, hour=12, minute=0)
    Membership.objects.create(
        user=reader,
        kind=Membership.Kind.COMPLIMENTARY,
        status=Membership.Status.COMPLIMENTARY,
        complimentary_until=until,
    )
    client.force_login(reader)
    assert "Until 30 June 2027" in account_page(client)


def test_lapsed_member_is_invited_back(client, lapsed_member):
    client.force_login(lapsed_member)
    page = account_page(client)
    assert "You are not a member at the moment." in page
    assert "Your last membership ended on" in page


def test_payment_and_donation_history_comes_from_local_records(client, member):
    membership = member.memberships.get()
    Payment.objects.create(
        stripe_id="in_1",
        user=member,
        membership=membership,
        amount=500,
        currency="eur",
        kind=Payment.Kind.MEMBERSHIP,
        paid_at=timezone.localtime().replace(year=2026, month=11, day=2, hour=12, minute=0),
    )
    Donation.objects.create(user=member, amount=2500, currency="usd", status=Donation.Status.PAID)
    client.force_login(member)
    page = account_page(client)
    assert "2 November 2026 Supporter €5 Paid" in page
    assert "$25 once" in page


def test_unverified_address_is_reminded_until_confirmed(client, reader):
    reader.emailaddress_set.update(verified=False)
    client.force_login(reader)
    assert "Please confirm your email address, reader@example.com" in account_page(client)
    reader.emailaddress_set.update(verified=True)
    assert "Please confirm your email address" not in account_page(client)


def test_portal_button_appears_once_there_is_a_stripe_customer(client, reader):
    client.force_login(reader)
    assert "Manage payments and plan" not in account_page(client)
    Customer.objects.create(user=reader, stripe_customer_id="cus_1")
    assert "Manage payments and plan" in account_page(client)


def test_account_page_query_count_is_small(client, member, django_assert_max_num_queries):
    for n in range(5):
        Payment.objects.create(
            stripe_id=f"in_{n}",
            user=member,
            membership=member.memberships.get(),
            amount=500,
            currency="eur",
            kind=Payment.Kind.MEMBERSHIP,
            paid_at=timezone.now() - timedelta(days=30 * n),
        )
    client.force_login(member)
    with django_assert_max_num_queries(12):
        client.get(ACCOUNT)


# Download my data -----------------------------------------------------------------------------


def test_data_download_is_a_json_file_of_the_users_own_records(client, member, reader):
    Payment.objects.create(
        stripe_id="in_mine",
        user=member,
        amount=500,
        currency="eur",
        kind=Payment.Kind.MEMBERSHIP,
        paid_at=timezone.now(),
    )
    Payment.objects.create(
        stripe_id="in_theirs",
        user=reader,
        amount=900,
        currency="eur",
        kind=Payment.Kind.MEMBERSHIP,
        paid_at=timezone.now(),
    )
    reauthenticate(client, member)
    response = client.get("/membership/account/data/")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="newsroom-account-')
    data = json.loads(response.content)
    assert data["account"]["email"] == member.email
    assert [p["stripe_id"] for p in data["payments"]] == ["in_mine"]
    assert data["memberships"][0]["status"] == "active"


def test_data_download_needs_a_login(client):
    assert client.get("/membership/account/data/").status_code == 302


# Delete my account ----------------------------------------------------------------------------


DELETE = "/membership/account/delete/"


def reauthenticate(client, user):
    """Log in, then confirm the password as allauth asks before deleting (no change yet)."""
    client.force_login(user)
    response = client.post(DELETE, {})
    assert response["Location"].startswith("/accounts/reauthenticate/")
    client.post("/accounts/reauthenticate/", {"password": PASSWORD, "next": DELETE})
    assert User.objects.filter(pk=user.pk).exists()


@pytest.fixture
def paying_member(stripe_api, member):
    """A member with a real (fake) Stripe subscription, a payment and a monthly gift."""
    stripe = stripe_api.client()
    price = stripe.v1.prices.create(
        params={
            "currency": "eur",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Supporter"},
        }
    )
    customer = stripe.v1.customers.create(params={"email": member.email})
    subscription = stripe_api.create_subscription(customer.id, price.id)
    gift = stripe_api.create_subscription(customer.id, price.id, metadata={"kind": "donation"})
    Customer.objects.create(user=member, stripe_customer_id=customer.id)
    Membership.objects.filter(user=member).update(stripe_subscription_id=subscription["id"])
    Payment.objects.create(
        stripe_id="in_kept",
        user=member,
        membership=member.memberships.get(),
        amount=500,
        currency="eur",
        kind=Payment.Kind.MEMBERSHIP,
        paid_at=timezone.now(),
    )
    Donation.objects.create(
        user=member,
        email=member.email,
        amount=500,
        currency="eur",
        recurring=True,
        stripe_subscription_id=gift["id"],
        status=Donation.Status.ACTIVE,
    )
    return member, subscription["id"], gift["id"]


def test_deleting_asks_for_the_password_again_then_goes_ahead(client, paying_member, stripe_api):
    member, subscription_id, _ = paying_member
    client.force_login(member)
    response = client.post(DELETE, {"confirm": "yes"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert User.objects.filter(pk=member.pk).exists()
    assert stripe_api.get(subscription_id)["status"] == "active"
    response = client.post("/accounts/reauthenticate/", {"password": "wrong", "next": DELETE})
    assert User.objects.filter(pk=member.pk).exists()
    client.post("/accounts/reauthenticate/", {"password": PASSWORD, "next": DELETE})
    assert not User.objects.filter(pk=member.pk).exists()
    assert stripe_api.get(subscription_id)["status"] == "canceled"


def test_deleting_cancels_stripe_first_and_keeps_payments_anonymised(
    client, paying_member, stripe_api
):
    member, subscription_id, gift_id = paying_member
    reauthenticate(client, member)
    page = visible_text(client.get("/membership/account/delete/").content)
    assert "canceled at once" in page
    response = client.post(DELETE, {"confirm": "yes"}, follow=True)
    assert "Your account has been deleted." in visible_text(response.content)
    assert stripe_api.get(subscription_id)["status"] == "canceled"
    assert stripe_api.get(gift_id)["status"] == "canceled"
    assert not User.objects.filter(email=member.email).exists()
    payment = Payment.objects.get(stripe_id="in_kept")
    assert payment.user is None and payment.amount == 500
    donation = Donation.objects.get(stripe_subscription_id=gift_id)
    assert donation.user is None and donation.email == ""
    assert "_auth_user_id" not in client.session


def test_deleting_without_ticking_the_box_changes_nothing(client, paying_member, stripe_api):
    member, subscription_id, _ = paying_member
    reauthenticate(client, member)
    response = client.post("/membership/account/delete/", {}, follow=True)
    assert "Tick the box" in visible_text(response.content)
    assert User.objects.filter(pk=member.pk).exists()
    assert stripe_api.get(subscription_id)["status"] == "active"


def test_when_stripe_cannot_cancel_the_account_is_kept(client, paying_member, settings):
    member, *_ = paying_member
    reauthenticate(client, member)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    response = client.post("/membership/account/delete/", {"confirm": "yes"})
    assert response.status_code == 503
    assert User.objects.filter(pk=member.pk).exists()


def test_a_reader_without_subscriptions_deletes_without_calling_stripe(client, reader, stripe_api):
    PriceFactory()
    reauthenticate(client, reader)
    client.post("/membership/account/delete/", {"confirm": "yes"})
    assert not User.objects.filter(pk=reader.pk).exists()
    assert not stripe_api.api_requests()


def test_deletion_cancels_with_an_idempotency_key_and_the_address_may_sign_up_again(
    client, paying_member, stripe_api
):
    """Security check 63: each subscription is cancelled at Stripe with an idempotency key
    (a retried deletion never cancels twice), and the deleted reader's address is free to sign
    up again."""
    member, subscription_id, gift_id = paying_member
    reauthenticate(client, member)
    client.post(DELETE, {"confirm": "yes"})

    cancels = stripe_api.api_requests("DELETE", "/v1/subscriptions/*")
    assert sorted(request.path.rsplit("/", 1)[1] for request in cancels) == sorted(
        [subscription_id, gift_id]
    )
    keys = [request.idempotency_key for request in cancels]
    assert all(keys) and len(set(keys)) == 2

    again = type(client)()
    response = again.post(
        "/accounts/signup/",
        {"email": member.email, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.filter(email__iexact=member.email).count() == 1
