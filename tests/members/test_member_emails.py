"""Emails that follow Stripe's events: welcome, payment failed, payment needs the member's bank,
membership ended, and staff alerts. Each is sent once, in the site's language, with working
links, and no data from Stripe can break a header."""

import time

import pytest
from django.conf import settings
from django.utils import timezone

from members.models import Donation, Membership, Payment, StripeEvent, User
from tests.factories import PlanFactory, PriceFactory, UserFactory
from tests.members.stripe_events import (  # noqa: F401
    a_member_subscription,
    checkout_session,
    invoice,
    join_at,
    make_event,
    plan_price_at,
    post,
    redeliver_everything,
    stripe_settings,
    subscription,
    unpaid_invoice,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]

ACCOUNT_URL = "https://testserver/membership/account/"
NAME = settings.NEWSROOM_NAME


def deliver(client, event, times=1):
    for _ in range(times):
        assert post(client, event).status_code == 200


# Welcome -----------------------------------------------------------------------------------------


def test_a_new_member_is_welcomed_once_with_plan_renewal_date_and_account_link(client, mailoutbox):
    membership = a_member_subscription(status="incomplete", email="nino@example.com")
    period_end = int(time.time()) + 30 * 86400
    activated = make_event(
        "customer.subscription.updated", subscription(status="active", period_end=period_end)
    )

    deliver(client, activated, times=5)

    [email] = mailoutbox
    assert email.to == ["nino@example.com"]
    assert email.subject == f"Welcome to {NAME}: you are a member"
    assert "Your plan: Supporter" in email.body
    membership.refresh_from_db()
    # Dates are given in the newsroom's time zone (TIME_ZONE).
    renews = timezone.localtime(membership.current_period_end)
    assert f"It renews on {renews:%-d %B %Y}." in email.body
    assert ACCOUNT_URL in email.body


def test_the_welcome_follows_the_first_activation_not_later_updates(client, mailoutbox):
    a_member_subscription(status="incomplete")
    deliver(client, make_event("customer.subscription.created", subscription(status="incomplete")))
    assert mailoutbox == []
    deliver(client, make_event("customer.subscription.updated", subscription(status="active")))
    deliver(
        client,
        make_event(
            "customer.subscription.updated",
            subscription(status="active", cancel_at_period_end=True),
        ),
    )
    assert [email.subject for email in mailoutbox] == [f"Welcome to {NAME}: you are a member"]


def test_a_trial_is_welcomed_with_its_end_date(client, mailoutbox):
    a_member_subscription(status="incomplete")
    deliver(client, make_event("customer.subscription.created", subscription(status="trialing")))
    [email] = mailoutbox
    assert "Your free trial runs until" in email.body


@pytest.mark.parametrize("earlier", ["past_due", "paused", "unpaid", "trialing"])
def test_coming_back_to_active_is_not_a_new_welcome(client, mailoutbox, earlier):
    a_member_subscription(status=earlier)
    deliver(client, make_event("customer.subscription.updated", subscription(status="active")))
    assert Membership.objects.get().status == "active"
    assert mailoutbox == []


def test_a_subscription_to_a_price_that_is_no_plan_welcomes_nobody(client, mailoutbox):
    a_member_subscription(status="incomplete")
    deliver(
        client,
        make_event("customer.subscription.updated", subscription(price_id="price_not_ours")),
    )
    assert mailoutbox == []


def test_emails_are_in_the_sites_language_whatever_the_delivery_asks_for(client, mailoutbox):
    a_member_subscription(status="incomplete")
    event = make_event("customer.subscription.updated", subscription(status="active"))
    assert post(client, event, HTTP_ACCEPT_LANGUAGE="ru").status_code == 200
    [email] = mailoutbox
    assert email.subject.startswith("Welcome to")
    assert ACCOUNT_URL in email.body
    assert "/ru/" not in email.body


def test_a_member_who_signed_up_in_russian_is_written_to_in_russian(client, mailoutbox):
    membership = a_member_subscription(status="incomplete")
    User.objects.filter(pk=membership.user_id).update(language="ru")
    plan = membership.plan
    plan.name_ru = "Сторонник"
    plan.save()
    deliver(client, make_event("customer.subscription.updated", subscription(status="active")))
    [email] = mailoutbox
    assert "Сторонник" in email.body
    assert "https://testserver/ru/membership/account/" in email.body
    assert not email.subject.startswith("Welcome")


def test_links_in_emails_use_the_first_named_host_of_the_site(client, mailoutbox, settings):
    settings.ALLOWED_HOSTS = [".example.org", "*", "news.example.org", "testserver"]
    a_member_subscription(status="incomplete")
    deliver(client, make_event("customer.subscription.updated", subscription(status="active")))
    [email] = mailoutbox
    assert "https://news.example.org/membership/account/" in email.body


def test_links_in_emails_use_site_url_when_it_is_set(client, mailoutbox, settings):
    settings.ALLOWED_HOSTS = ["internal.example", "news.example.org", "testserver"]
    settings.SITE_URL = "https://www.news.example.org"
    a_member_subscription(status="incomplete")
    deliver(client, make_event("customer.subscription.updated", subscription(status="active")))
    [email] = mailoutbox
    assert "https://www.news.example.org/membership/account/" in email.body
    assert "internal.example" not in email.body


# Payment failed and payment needs the member -------------------------------------------------


def test_a_failed_renewal_is_mailed_once_with_the_invoice_and_account_links(client, mailoutbox):
    a_member_subscription(status="past_due", email="member@example.com")
    failed = unpaid_invoice()

    deliver(client, make_event("invoice.payment_failed", failed), times=5)

    [email] = mailoutbox
    assert email.to == ["member@example.com"]
    assert email.subject == f"{NAME}: your payment did not go through"
    assert "your membership of The Highland Courier (Supporter).\nAmount: €5\n" in email.body
    assert failed["hosted_invoice_url"] in email.body
    assert ACCOUNT_URL in email.body
    assert "We will try again on" in email.body
    assert not Payment.objects.exists()


def test_each_new_attempt_is_mailed_but_one_attempt_reported_twice_is_mailed_once(
    client, mailoutbox
):
    a_member_subscription(status="past_due")
    deliver(client, make_event("invoice.payment_failed", unpaid_invoice(attempt_count=1)))
    # Stripe may report a renewal waiting for 3-D Secure as failed and as action required.
    deliver(client, make_event("invoice.payment_action_required", unpaid_invoice(attempt_count=1)))
    assert len(mailoutbox) == 1
    deliver(client, make_event("invoice.payment_failed", unpaid_invoice(attempt_count=2)))
    assert len(mailoutbox) == 2


def test_a_renewal_needing_the_members_bank_is_mailed_once_with_the_link_to_confirm(
    client, mailoutbox
):
    a_member_subscription(status="past_due", email="member@example.com")
    pending = unpaid_invoice(next_payment_attempt=None)

    deliver(client, make_event("invoice.payment_action_required", pending), times=5)

    [email] = mailoutbox
    assert email.to == ["member@example.com"]
    assert email.subject == f"{NAME}: please confirm your payment"
    assert "Confirm it on Stripe's secure page:\n" + pending["hosted_invoice_url"] in email.body
    assert ACCOUNT_URL in email.body


def test_a_failed_monthly_donation_is_mailed_to_the_donor(client, mailoutbox):
    Donation.objects.create(
        email="giver@example.com",
        amount=1000,
        currency="eur",
        recurring=True,
        stripe_subscription_id="sub_gift_1",
        status="active",
    )
    failed = unpaid_invoice("in_gift_2", subscription_id="sub_gift_1", amount=1000)
    deliver(client, make_event("invoice.payment_failed", failed))
    [email] = mailoutbox
    assert email.to == ["giver@example.com"]
    assert "monthly donation to The Highland Courier.\nAmount: €10\n" in email.body


def test_an_invoice_link_that_is_not_a_web_address_is_left_out_of_the_email(client, mailoutbox):
    a_member_subscription(status="past_due")
    failed = unpaid_invoice(hosted_invoice_url="javascript:alert(1)")
    deliver(client, make_event("invoice.payment_failed", failed))
    [email] = mailoutbox
    assert "javascript:" not in email.body
    assert ACCOUNT_URL in email.body


def test_payment_problems_of_unknown_or_ended_subscriptions_mail_nobody(client, mailoutbox):
    deliver(client, make_event("invoice.payment_failed", unpaid_invoice(subscription_id="sub_x")))
    a_member_subscription(status="canceled")
    deliver(client, make_event("invoice.payment_failed", unpaid_invoice()))
    assert mailoutbox == []


# Membership ended --------------------------------------------------------------------------------


def test_an_ended_membership_is_mailed_once(client, mailoutbox):
    a_member_subscription(status="active", email="member@example.com")
    now = int(time.time())
    ended = subscription(status="canceled", canceled_at=now, ended_at=now)

    deliver(client, make_event("customer.subscription.deleted", ended), times=5)
    # The same end reported again under another id changes nothing.
    deliver(client, make_event("customer.subscription.updated", ended))

    [email] = mailoutbox
    assert email.to == ["member@example.com"]
    assert email.subject == f"Your membership of {NAME} has ended"
    assert "https://testserver/membership/" in email.body
    assert ACCOUNT_URL in email.body


def test_a_checkout_that_never_paid_expires_without_an_ended_email(client, mailoutbox):
    a_member_subscription(status="incomplete")
    deliver(
        client,
        make_event("customer.subscription.deleted", subscription(status="incomplete_expired")),
    )
    assert Membership.objects.get().status == "incomplete_expired"
    assert mailoutbox == []


def test_a_membership_that_was_paid_for_gets_the_ended_email_even_if_activation_was_missed(
    client, mailoutbox
):
    a_member_subscription(status="incomplete")
    deliver(client, make_event("invoice.paid", invoice()))
    deliver(client, make_event("customer.subscription.deleted", subscription(status="canceled")))
    assert [email.subject for email in mailoutbox] == [f"Your membership of {NAME} has ended"]


# Staff alerts ------------------------------------------------------------------------------------


def test_a_checkout_for_an_unknown_price_alerts_staff_by_email(client, mailoutbox, staff_alerts):
    user = UserFactory()
    session = checkout_session(
        client_reference_id=str(user.pk), metadata={"price_id": "price_someone_else"}
    )
    deliver(client, make_event("checkout.session.completed", session), times=5)
    [email] = mailoutbox
    assert email.to == staff_alerts
    assert email.subject == f"[{NAME}] A payment does not match a plan"
    assert "cs_test_1" in email.body and "price_someone_else" in email.body
    assert "https://testserver/admin/" in email.body
    assert not Membership.objects.exists()


def test_a_checkout_charging_another_amount_alerts_staff(client, mailoutbox, staff_alerts):
    price = PriceFactory()
    user = UserFactory()
    session = checkout_session(
        client_reference_id=str(user.pk),
        metadata={"price_id": price.stripe_price_id},
        amount_subtotal=1,
    )
    deliver(client, make_event("checkout.session.completed", session))
    [email] = mailoutbox
    assert "charged 1 eur but price price_test_month_eur is 500 eur" in email.body


def test_a_member_switched_to_a_price_that_is_no_plan_alerts_staff_once(
    client, mailoutbox, staff_alerts
):
    a_member_subscription(status="active")
    for _ in range(3):
        deliver(
            client,
            make_event("customer.subscription.updated", subscription(price_id="price_not_ours")),
        )
    [email] = mailoutbox
    assert "price_not_ours" in email.body


def test_without_alert_addresses_staff_alerts_are_only_logged(client, mailoutbox, caplog):
    user = UserFactory()
    session = checkout_session(client_reference_id=str(user.pk), metadata={})
    deliver(client, make_event("checkout.session.completed", session))
    assert mailoutbox == []
    assert "ALERT Checkout session cs_test_1" in caplog.text


# Headers -----------------------------------------------------------------------------------------


def test_line_breaks_in_names_never_reach_a_header(client, mailoutbox, settings):
    settings.NEWSROOM_NAME = "The Courier\r\nBcc: everyone@example.com"
    plan = PlanFactory(name="Supporter\nBcc: everyone@example.com")
    a_member_subscription(status="incomplete", price=PriceFactory(plan=plan))
    deliver(client, make_event("customer.subscription.updated", subscription(status="active")))
    [email] = mailoutbox
    message = email.message()
    assert message["Subject"] == (
        "Welcome to The Courier Bcc: everyone@example.com: you are a member"
    )
    assert message["Bcc"] is None
    assert email.recipients() == [Membership.objects.get().user.email]


def test_a_donor_address_with_a_line_break_gets_no_email_and_the_event_is_processed(
    client, mailoutbox
):
    Donation.objects.create(
        email="giver@example.com\r\nBcc: everyone@example.com",
        amount=1000,
        currency="eur",
        recurring=True,
        stripe_subscription_id="sub_gift_1",
        status="active",
    )
    event = make_event("invoice.payment_failed", unpaid_invoice(subscription_id="sub_gift_1"))
    deliver(client, event)
    assert mailoutbox == []
    assert StripeEvent.objects.get(stripe_id=event["id"]).processed_at is not None


def test_a_dispute_reason_with_a_line_break_stays_in_the_body(client, mailoutbox, staff_alerts):
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "charge": "ch_unknown",
        "amount": 500,
        "currency": "eur",
        "reason": "fraudulent\r\nBcc: everyone@example.com",
        "livemode": False,
    }
    deliver(client, make_event("charge.dispute.created", dispute))
    [email] = mailoutbox
    assert email.to == staff_alerts
    assert email.message()["Bcc"] is None
    assert email.subject == f"[{NAME}] A payment is disputed"


def test_a_deleted_user_gets_no_email_from_a_task_that_runs_later(mailoutbox):
    from members import tasks

    membership = a_member_subscription()
    membership_id = membership.pk
    User.objects.filter(pk=membership.user_id).delete()
    result = tasks.send_welcome_email.enqueue(membership_id)
    assert result.return_value == 0
    assert mailoutbox == []


# Through the fake Stripe ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_members_year_at_stripe_brings_one_email_per_thing_that_happened(fake_stripe, mailoutbox):
    user = UserFactory(email="tamar@example.com")
    membership = join_at(fake_stripe, user, plan_price_at(fake_stripe))
    assert membership.status == "active"
    subscription_id = membership.stripe_subscription_id

    fake_stripe.advance_subscription(subscription_id)  # renewed: nothing to say
    fake_stripe.advance_subscription(subscription_id, outcome="failed")
    declined = fake_stripe.get(fake_stripe.get(subscription_id)["latest_invoice"])
    fake_stripe.pay_invoice(declined["id"])  # the member fixed the card: no new welcome
    fake_stripe.require_action_on_renewal(subscription_id)
    needs_bank = fake_stripe.get(fake_stripe.get(subscription_id)["latest_invoice"])
    fake_stripe.cancel_subscription(subscription_id)
    redeliver_everything(fake_stripe)

    assert {delivery.status for delivery in fake_stripe.deliveries} == {200}
    assert [(email.to, email.subject) for email in mailoutbox] == [
        (["tamar@example.com"], f"Welcome to {NAME}: you are a member"),
        (["tamar@example.com"], f"{NAME}: your payment did not go through"),
        (["tamar@example.com"], f"{NAME}: please confirm your payment"),
        (["tamar@example.com"], f"Your membership of {NAME} has ended"),
    ]
    assert declined["hosted_invoice_url"] in mailoutbox[1].body
    assert needs_bank["hosted_invoice_url"] in mailoutbox[2].body
    membership.refresh_from_db()
    assert membership.status == "canceled"
    # The first invoice, the renewal and the invoice paid after the decline.
    assert Payment.objects.filter(membership=membership).count() == 3
