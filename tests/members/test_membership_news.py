"""What a subscription's events tell about a membership beyond its status: when it started, why
it was cancelled, and the news staff receive (MEMBERSHIP_ALERTS_EMAIL) about it."""

import logging
import time
from datetime import UTC, datetime

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from members.models import Membership
from tests.factories import PlanFactory, PriceFactory, UserFactory
from tests.members.stripe_events import (  # noqa: F401
    a_member_subscription,
    corpus_event,
    join_at,
    make_event,
    plan_price_at,
    post,
    redeliver_everything,
    stripe_settings,
    subscription,
)
from tests.members.test_stripe_corpus import local_rows_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]

NAME = "The Highland Courier"
STARTED = 1767225600  # 2026-01-01 00:00 UTC


def details(reason=None, feedback=None, comment=None):
    return {"cancellation_details": {"reason": reason, "feedback": feedback, "comment": comment}}


def send(client, type, obj):
    event = make_event(type, obj)
    assert post(client, event).status_code == 200
    return event


def staff_emails(mailoutbox, staff_alerts):
    return [email for email in mailoutbox if email.to == staff_alerts]


def a_member(**kwargs):
    plan = PlanFactory(name="Supporter")
    price = PriceFactory(plan=plan, amount=500, currency="eur", interval="month")
    membership = a_member_subscription(email="tamar@example.com", price=price, **kwargs)
    membership.user.first_name, membership.user.last_name = "Tamar", "Abashidze"
    membership.user.save()
    return membership


# When it started ---------------------------------------------------------------------------------


def test_the_start_comes_from_stripe_and_replaces_a_guess(client):
    membership = a_member(status="incomplete")
    Membership.objects.filter(pk=membership.pk).update(started_at=timezone.now())
    send(client, "customer.subscription.updated", subscription(start_date=STARTED))
    membership.refresh_from_db()
    assert membership.started_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_payload_without_a_start_keeps_the_stored_one(client):
    membership = a_member(status="active")
    Membership.objects.filter(pk=membership.pk).update(started_at=datetime(2025, 5, 1, tzinfo=UTC))
    send(client, "customer.subscription.updated", subscription())
    membership.refresh_from_db()
    assert membership.started_at == datetime(2025, 5, 1, tzinfo=UTC)


# Why it was cancelled -----------------------------------------------------------------------------


def test_a_scheduled_cancellation_keeps_the_members_reason_and_a_renewal_clears_it(client):
    membership = a_member(status="active")
    send(
        client,
        "customer.subscription.updated",
        subscription(
            cancel_at_period_end=True,
            **details("cancellation_requested", "too_expensive", "  Back when I have a job. "),
        ),
    )
    membership.refresh_from_db()
    assert membership.cancel_at_period_end
    assert (
        membership.cancellation_reason,
        membership.cancellation_feedback,
        membership.cancellation_comment,
    ) == ("cancellation_requested", "too_expensive", "Back when I have a job.")

    send(client, "customer.subscription.updated", subscription(**details()))
    membership.refresh_from_db()
    assert not membership.cancel_at_period_end
    assert (
        membership.cancellation_reason,
        membership.cancellation_feedback,
        membership.cancellation_comment,
    ) == ("", "", "")


def test_the_reason_of_an_end_is_stored_from_the_deleted_event(client):
    membership = a_member(status="past_due")
    ended = int(time.time())
    send(
        client,
        "customer.subscription.deleted",
        subscription(
            status="canceled", ended_at=ended, canceled_at=ended, **details("payment_failed")
        ),
    )
    membership.refresh_from_db()
    assert (membership.status, membership.cancellation_reason) == ("canceled", "payment_failed")


@pytest.mark.parametrize(
    "sent, stored",
    [
        (
            details("cancellation_requested", "unused", "ok"),
            ("cancellation_requested", "unused", "ok"),
        ),
        (details("changed_their_mind", "bored", "x"), ("", "", "x")),  # unknown values: blank
        (details(["a"], {"b": 1}, 42), ("", "", "")),  # not even strings
        ({"cancellation_details": "nonsense"}, ("", "", "")),
        (details("cancellation_requested", "other", "a\x00b" + "é" * 6000), None),
    ],
)
def test_cancellation_details_never_crash_and_keep_only_what_is_known(client, sent, stored):
    membership = a_member(status="active")
    send(client, "customer.subscription.updated", subscription(cancel_at_period_end=True, **sent))
    membership.refresh_from_db()
    got = (
        membership.cancellation_reason,
        membership.cancellation_feedback,
        membership.cancellation_comment,
    )
    if stored is None:  # the long comment with a NUL (stored as U+FFFD by the webhook)
        assert got[:2] == ("cancellation_requested", "other")
        assert len(got[2]) == 5000 and "\x00" not in got[2]
        assert got[2].startswith("a\ufffdbé")
    else:
        assert got == stored


def test_a_recorded_deletion_with_todays_cancellation_details_stores_them(client):
    # A recorded customer.subscription.deleted, as current API versions send it.
    event = corpus_event("customer.subscription.deleted.json")
    obj = event["data"]["object"]
    obj["cancellation_details"] = {
        "comment": "Moving abroad",
        "feedback": "switched_service",
        "reason": "cancellation_requested",
    }
    local_rows_for(event)
    assert post(client, event).status_code == 200
    membership = Membership.objects.get()
    assert (membership.status, membership.cancellation_reason) == (
        "canceled",
        "cancellation_requested",
    )
    assert membership.cancellation_feedback == "switched_service"
    assert membership.cancellation_comment == "Moving abroad"
    assert membership.started_at == datetime.fromtimestamp(obj["start_date"], tz=UTC)


# News for staff -----------------------------------------------------------------------------------


def test_a_new_member_is_news_once_and_logged_as_news_not_an_alert(
    client, mailoutbox, staff_alerts, caplog
):
    a_member(status="incomplete")
    with caplog.at_level(logging.INFO, logger="members.sync"):
        for _ in range(3):
            send(client, "customer.subscription.updated", subscription(status="active"))
    [email] = staff_emails(mailoutbox, staff_alerts)
    assert email.subject == f"[{NAME}] A new member"
    assert "Tamar Abashidze <tamar@example.com> joined: Supporter, €5 monthly." in email.body
    assert "/admin/members/membership/" in email.body
    news = [r for r in caplog.records if "sub_test_1 started" in r.getMessage()]
    assert [r.levelno for r in news] == [logging.INFO]
    assert not any("ALERT" in r.getMessage() for r in caplog.records)


def test_a_trial_is_news_as_a_trial(client, mailoutbox, staff_alerts):
    a_member(status="incomplete")
    send(client, "customer.subscription.updated", subscription(status="trialing"))
    [email] = staff_emails(mailoutbox, staff_alerts)
    assert "Tamar Abashidze <tamar@example.com> started a trial of Supporter (€5 monthly)" in (
        email.body
    )


def test_a_scheduled_cancellation_and_its_end_are_news_once_each_with_the_reason(
    client, mailoutbox, staff_alerts
):
    a_member(status="active")
    cancelling = subscription(
        cancel_at_period_end=True,
        **details("cancellation_requested", "too_expensive", "Back when I have a job."),
    )
    for _ in range(2):
        send(client, "customer.subscription.updated", cancelling)
    ended = int(time.time()) + 1
    deleted = {**cancelling, "status": "canceled", "ended_at": ended, "canceled_at": ended}
    for _ in range(2):
        send(client, "customer.subscription.deleted", deleted)

    scheduled, gone = staff_emails(mailoutbox, staff_alerts)
    assert scheduled.subject == f"[{NAME}] A member has cancelled"
    assert "Tamar Abashidze <tamar@example.com> cancelled their membership (Supporter" in (
        scheduled.body
    )
    for email in (scheduled, gone):
        assert "Reason: the member cancelled" in email.body
        assert "Their feedback: it is too expensive" in email.body
        assert "Their comment: Back when I have a job." in email.body
    assert gone.subject == f"[{NAME}] A cancelled membership has ended"
    assert "has ended: they cancelled it." in gone.body


def test_renewing_and_cancelling_again_is_news_again(client, mailoutbox, staff_alerts):
    a_member(status="active")
    cancelling = subscription(cancel_at_period_end=True, **details("cancellation_requested"))
    send(client, "customer.subscription.updated", cancelling)
    send(client, "customer.subscription.updated", subscription(**details()))
    send(client, "customer.subscription.updated", cancelling)
    emails = staff_emails(mailoutbox, staff_alerts)
    assert [email.subject for email in emails] == [f"[{NAME}] A member has cancelled"] * 2
    assert "Their feedback: none given" in emails[0].body
    assert "Their comment: none" in emails[0].body


def test_unpaid_is_an_alert_once_and_the_end_that_follows_says_nothing_more(
    client, mailoutbox, staff_alerts, caplog
):
    a_member(status="past_due")
    with caplog.at_level(logging.WARNING, logger="members.sync"):
        for _ in range(2):
            send(client, "customer.subscription.updated", subscription(status="unpaid"))
    ended = int(time.time()) + 1
    send(
        client,
        "customer.subscription.deleted",
        subscription(status="canceled", ended_at=ended, **details("payment_failed")),
    )
    [email] = staff_emails(mailoutbox, staff_alerts)
    assert email.subject == f"[{NAME}] A membership is unpaid"
    assert "could not be collected: Stripe marked the membership unpaid" in email.body
    assert any("ALERT Subscription sub_test_1 is unpaid" in r.getMessage() for r in caplog.records)


def test_an_end_after_failed_payments_is_an_alert_once(client, mailoutbox, staff_alerts):
    a_member(status="past_due")
    ended = int(time.time())
    deleted = subscription(status="canceled", ended_at=ended, **details("payment_failed"))
    for _ in range(2):
        send(client, "customer.subscription.deleted", deleted)
    [email] = staff_emails(mailoutbox, staff_alerts)
    assert email.subject == f"[{NAME}] A membership ended after failed payments"
    assert "Stripe cancelled it after its payments failed" in email.body
    assert "Reason:" not in email.body


def test_an_end_for_a_dispute_is_not_news_here(client, mailoutbox, staff_alerts):
    # The dispute itself was the alert (charge.dispute.created).
    a_member(status="active")
    ended = int(time.time())
    send(
        client,
        "customer.subscription.deleted",
        subscription(status="canceled", ended_at=ended, **details("payment_disputed")),
    )
    assert staff_emails(mailoutbox, staff_alerts) == []


def test_without_alert_addresses_nothing_is_queued_for_staff(client, mailoutbox, database_tasks):
    a_member(status="incomplete")
    send(client, "customer.subscription.updated", subscription(status="active"))
    send(client, "customer.subscription.updated", subscription(status="unpaid"))
    assert not DBTaskResult.objects.filter(task_path__endswith="send_membership_news").exists()
    assert list(DBTaskResult.objects.values_list("task_path", flat=True)) == [
        "members.tasks.send_welcome_email"
    ]


def test_each_piece_of_news_is_queued_once_however_often_stripe_sends_it(
    client, staff_alerts, database_tasks, mailoutbox
):
    a_member(status="incomplete")
    events = [
        make_event("customer.subscription.updated", subscription(status="active")),
        make_event(
            "customer.subscription.updated",
            subscription(cancel_at_period_end=True, **details("cancellation_requested")),
            created=time.time() + 1,
        ),
    ]
    for _ in range(3):
        for event in events:
            assert post(client, event).status_code == 200
            # The same state under another event id (Stripe sends .updated and .resumed alike).
            assert post(client, dict(event, id=event["id"] + "_again")).status_code == 200
    queued = DBTaskResult.objects.filter(task_path="members.tasks.send_membership_news")
    arguments = sorted(call["args"] for call in queued.values_list("args_kwargs", flat=True))
    membership = Membership.objects.get()
    assert arguments == [
        ["cancelling", membership.pk, "cancellation_requested", "", ""],
        ["joined", membership.pk, "", "", ""],
    ]


def test_news_is_written_in_the_sites_language(mailoutbox, staff_alerts, settings):
    from members import tasks

    membership = a_member(status="active")
    settings.LANGUAGE_CODE = "ru"
    tasks.send_membership_news.enqueue("joined", membership.pk)
    [email] = mailoutbox
    assert email.to == staff_alerts
    # Amounts as Russian writes them.
    assert "5\xa0€" in email.body


def test_news_of_a_membership_deleted_meanwhile_is_dropped(mailoutbox, staff_alerts):
    from members import tasks

    membership = a_member(status="active")
    membership_id = membership.pk
    membership.delete()
    assert tasks.send_membership_news.enqueue("joined", membership_id).return_value == 0
    assert mailoutbox == []


# Through the fake Stripe ---------------------------------------------------------------------------


def portal_session(fake, membership):
    return (
        fake.client()
        .v1.billing_portal.sessions.create(params={"customer": membership.stripe_customer_id})
        .id
    )


@pytest.mark.django_db(transaction=True)
def test_a_member_who_leaves_through_the_portal_at_stripe(fake_stripe, mailoutbox, staff_alerts):
    user = UserFactory(email="nino@example.com")
    membership = join_at(fake_stripe, user, plan_price_at(fake_stripe))
    subscription_id = membership.stripe_subscription_id
    start = fake_stripe.get(subscription_id)["start_date"]
    portal = portal_session(fake_stripe, membership)

    fake_stripe.portal_action(
        portal, "cancel_at_period_end", subscription_id, feedback="unused", comment="No time."
    )
    fake_stripe.portal_action(portal, "renew", subscription_id)
    membership.refresh_from_db()
    assert (membership.cancellation_reason, membership.cancellation_comment) == ("", "")
    fake_stripe.portal_action(
        portal, "cancel_at_period_end", subscription_id, feedback="too_expensive", comment="Sorry"
    )
    membership.refresh_from_db()
    assert membership.cancel_at_period_end and membership.status == "active"
    assert (
        membership.cancellation_reason,
        membership.cancellation_feedback,
        membership.cancellation_comment,
    ) == ("cancellation_requested", "too_expensive", "Sorry")
    fake_stripe.advance_subscription(subscription_id)  # the period ends: so does the membership
    redeliver_everything(fake_stripe)

    assert {delivery.status for delivery in fake_stripe.deliveries} == {200}
    membership.refresh_from_db()
    assert membership.status == "canceled"
    assert membership.started_at == datetime.fromtimestamp(start, tz=UTC)
    assert membership.ended_at >= membership.started_at
    assert (membership.cancellation_reason, membership.cancellation_feedback) == (
        "cancellation_requested",
        "too_expensive",
    )
    assert [email.subject for email in staff_emails(mailoutbox, staff_alerts)] == [
        f"[{NAME}] A new member",
        f"[{NAME}] A member has cancelled",
        f"[{NAME}] A member has cancelled",
        f"[{NAME}] A cancelled membership has ended",
    ]
    last = staff_emails(mailoutbox, staff_alerts)[-1]
    assert "Their feedback: it is too expensive" in last.body
    assert "Their comment: Sorry" in last.body


@pytest.mark.django_db(transaction=True)
def test_a_member_whose_payments_fail_at_stripe(fake_stripe, mailoutbox, staff_alerts):
    user = UserFactory(email="giorgi@example.com")
    membership = join_at(fake_stripe, user, plan_price_at(fake_stripe))
    subscription_id = membership.stripe_subscription_id
    fake_stripe.fail_renewal(subscription_id)
    fake_stripe.fail_final_retry(subscription_id)
    redeliver_everything(fake_stripe)

    membership.refresh_from_db()
    assert (membership.status, membership.cancellation_reason) == ("canceled", "payment_failed")
    assert [email.subject for email in staff_emails(mailoutbox, staff_alerts)] == [
        f"[{NAME}] A new member",
        f"[{NAME}] A membership ended after failed payments",
    ]
