"""The webhook when things break: a handler fails after queueing an email, the database is
unreachable, the mail server refuses. Stripe gets a 5xx exactly when it must retry, and the retry
applies the event once, with one email.

These tests use the database task queue, as production does (TASKS in tests/settings.py runs tasks
at once, which cannot show that a rolled-back email is never sent), and commit for real.
"""

from contextlib import ExitStack, contextmanager
from unittest import mock

import pytest
from django.db import OperationalError, connections
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from members import webhooks
from members.models import Membership, Payment, StripeEvent
from tests.members.stripe_events import (  # noqa: F401
    a_member_subscription,
    invoice,
    make_event,
    post,
    stripe_settings,
    subscription,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stripe_settings")]

WELCOME = "Welcome to The Highland Courier: you are a member"


@contextmanager
def database_unreachable():
    """Every use of the database fails as when its server is down.

    The connection is closed first (PostgreSQL must then connect again; the in-memory SQLite test
    database ignores a close) and every (re)connection refused.
    """

    def refuse():
        raise OperationalError("connection refused: is the database server running?")

    database = connections["default"]
    database.close()
    with mock.patch.object(database, "ensure_connection", refuse):
        yield


def test_an_exception_after_an_email_was_queued_leaves_no_rows_no_email_and_the_retry_mails_once(
    client, monkeypatch, mailoutbox, database_tasks
):
    membership = a_member_subscription(status="incomplete")
    real_handler = webhooks.HANDLERS["customer.subscription.updated"]
    queued_before_failing = []

    def half_done(subscription_data, as_of):
        real_handler(subscription_data, as_of)  # activates and queues the welcome email
        queued_before_failing.append(DBTaskResult.objects.count())
        Payment.objects.create(
            stripe_id="in_partial",
            amount=500,
            currency="eur",
            kind="membership",
            paid_at=as_of,
        )
        raise RuntimeError("the disk filled up mid-handler")

    monkeypatch.setitem(webhooks.HANDLERS, "customer.subscription.updated", half_done)
    event = make_event("customer.subscription.updated", subscription(status="active"))

    assert post(client, event).status_code == 500
    assert queued_before_failing == [1]
    assert not DBTaskResult.objects.exists()
    assert not Payment.objects.exists()
    membership.refresh_from_db()
    assert membership.status == "incomplete"
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.processed_at is None
    assert "the disk filled up" in stored.last_error
    database_tasks()
    assert mailoutbox == []

    # Stripe's retry, with the handler healthy again: applied once, one email.
    monkeypatch.setitem(webhooks.HANDLERS, "customer.subscription.updated", real_handler)
    for _ in range(3):
        assert post(client, event).status_code == 200
        database_tasks()
    membership.refresh_from_db()
    assert membership.status == "active"
    assert [email.subject for email in mailoutbox] == [WELCOME]
    stored.refresh_from_db()
    assert stored.processed_at is not None and stored.attempts == 2
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL


def test_an_email_is_queued_with_the_change_and_sent_by_the_worker(
    client, mailoutbox, database_tasks
):
    a_member_subscription(status="incomplete")
    event = make_event("customer.subscription.updated", subscription(status="active"))
    assert post(client, event).status_code == 200
    # Nothing is sent while answering Stripe: the worker sends it.
    assert mailoutbox == []
    assert DBTaskResult.objects.get().task_path == "members.tasks.send_welcome_email"
    database_tasks()
    assert [email.subject for email in mailoutbox] == [WELCOME]


def test_while_the_database_is_unreachable_stripe_gets_a_503_then_the_retry_applies_once(
    client, mailoutbox
):
    membership = a_member_subscription(status="incomplete")
    event = make_event("customer.subscription.updated", subscription(status="active"))

    with database_unreachable():
        response = post(client, event)

    assert response.status_code == 503
    assert not StripeEvent.objects.exists()
    membership.refresh_from_db()
    assert membership.status == "incomplete"
    assert mailoutbox == []

    for _ in range(3):
        assert post(client, event).status_code == 200
    membership.refresh_from_db()
    assert membership.status == "active"
    stored = StripeEvent.objects.get()
    assert stored.processed_at is not None and stored.attempts == 1
    assert [email.subject for email in mailoutbox] == [WELCOME]


def test_when_the_database_goes_away_after_storing_the_event_the_retry_applies_it_once(
    client, monkeypatch, mailoutbox
):
    a_member_subscription(status="active")
    event = make_event("invoice.paid", invoice())
    outage = ExitStack()
    real_store = webhooks.store_event

    def store_then_lose_the_database(data):
        stored = real_store(data)
        outage.enter_context(database_unreachable())
        return stored

    monkeypatch.setattr(webhooks, "store_event", store_then_lose_the_database)
    with outage:
        response = post(client, event)
    monkeypatch.setattr(webhooks, "store_event", real_store)

    assert response.status_code == 500
    stored = StripeEvent.objects.get()
    assert stored.processed_at is None
    assert not Payment.objects.exists()

    for _ in range(3):
        assert post(client, event).status_code == 200
    assert Payment.objects.count() == 1
    stored.refresh_from_db()
    assert stored.processed_at is not None


def test_a_mail_server_that_refuses_does_not_make_stripe_retry(
    client, settings, mailoutbox, database_tasks
):
    # Production before EMAIL_URL is set: sending fails with an explanation.
    settings.MAILERS = {"default": {"BACKEND": "newsroom.mail.UnconfiguredEmailBackend"}}
    membership = a_member_subscription(status="incomplete")
    event = make_event("customer.subscription.updated", subscription(status="active"))

    assert post(client, event).status_code == 200
    database_tasks()

    membership.refresh_from_db()
    assert membership.status == "active"
    assert StripeEvent.objects.get().processed_at is not None
    task = DBTaskResult.objects.get()
    assert task.status == TaskResultStatus.FAILED
    assert "EMAIL_URL" in task.traceback
    assert Membership.objects.count() == 1
