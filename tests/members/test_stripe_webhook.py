"""The Stripe webhook: signature, storage, exactly-once processing, ordering, faults."""

import json
import logging
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from members import sync, webhooks
from members.models import Customer, Donation, Membership, Payment, StripeEvent, User
from tests.factories import PriceFactory, UserFactory
from tests.members.stripe_events import (  # noqa: F401
    OLD_SECRET,
    SECRET,
    URL,
    a_member_subscription,
    checkout_session,
    donation_session,
    give_at,
    invoice,
    join_at,
    make_event,
    plan_price_at,
    post,
    redeliver_everything,
    signature,
    stripe_settings,
    subscription,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


# Signature ---------------------------------------------------------------------------------------


def bad_deliveries():
    event = make_event("invoice.paid", invoice())
    body = json.dumps(event).encode()
    reserialised = json.dumps(json.loads(body), indent=2).encode()
    tampered = body.replace(b'"amount_paid": 500', b'"amount_paid": 5')
    now = int(time.time())
    return {
        "missing": (body, False),
        "empty": (body, ""),
        "malformed": (body, "v1=nothing-here,t=yesterday"),
        "no v1": (body, f"t={now},v0=abc"),
        "wrong secret": (body, signature(body, "whsec_someone_else")),
        "tampered body": (tampered, signature(body)),
        "re-serialised body": (reserialised, signature(body)),
        "ten minutes old": (body, signature(body, timestamp=now - 600)),
    }


@pytest.mark.parametrize("case", list(bad_deliveries()))
def test_bad_signatures_are_refused_and_nothing_is_stored(client, case):
    a_member_subscription()
    body, header = bad_deliveries()[case]
    response = post(client, body, header=header)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert not Payment.objects.exists()


def test_signed_garbage_is_refused_not_a_crash(client):
    for body in (b"not json", b"[1, 2]", b'{"id": "evt_1"}', "\xff\xfe".encode("latin-1")):
        assert post(client, body).status_code == 400
    assert not StripeEvent.objects.exists()


def test_events_signed_with_the_previous_secret_are_accepted_while_rotating(client):
    response = post(client, make_event("product.created", {"id": "prod_1"}), secret=OLD_SECRET)
    assert response.status_code == 200


def test_without_a_configured_secret_the_webhook_answers_503_and_says_what_to_set(
    client, settings, caplog
):
    settings.STRIPE_WEBHOOK_SECRETS = []
    with caplog.at_level(logging.ERROR, logger="members.webhooks"):
        response = post(client, make_event("product.created", {"id": "prod_1"}))
    assert response.status_code == 503
    assert "STRIPE_WEBHOOK_SECRET" in caplog.text
    assert not StripeEvent.objects.exists()


def test_a_post_without_csrf_token_works_and_get_is_not_allowed():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post(strict, make_event("product.created", {"id": "prod_1"})).status_code == 200
    assert strict.get(URL).status_code == 405


def test_unknown_event_types_are_acknowledged_and_marked_processed(client):
    event = make_event("customer.tax_id.created", {"id": "txi_1"})
    assert post(client, event).status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.processed_at is not None
    assert stored.payload == event


def test_an_event_of_the_other_mode_is_acknowledged_ignored_and_logged(client, caplog):
    membership = a_member_subscription(status="active")
    event = make_event(
        "customer.subscription.deleted", subscription(status="canceled"), livemode=True
    )
    with caplog.at_level(logging.WARNING, logger="members.webhooks"):
        assert post(client, event).status_code == 200
    membership.refresh_from_db()
    assert membership.status == "active"
    assert "live-mode" in caplog.text
    assert StripeEvent.objects.get(stripe_id=event["id"]).note.startswith("Ignored")


# Exactly once ------------------------------------------------------------------------------------


def test_the_same_event_five_times_changes_the_membership_once_and_records_one_payment(
    client, mailoutbox
):
    membership = a_member_subscription(status="incomplete")
    updated = make_event("customer.subscription.updated", subscription(status="active"))
    paid = make_event("invoice.paid", invoice())
    for _ in range(5):
        assert post(client, updated).status_code == 200
        assert post(client, paid).status_code == 200
    membership.refresh_from_db()
    assert membership.status == "active"
    assert Payment.objects.count() == 1
    assert StripeEvent.objects.count() == 2
    assert set(StripeEvent.objects.values_list("attempts", flat=True)) == {1}
    assert [email.to for email in mailoutbox] == [[membership.user.email]]


def test_the_same_money_under_two_event_ids_is_one_payment_and_at_most_one_email(
    client, mailoutbox
):
    a_member_subscription()
    assert post(client, make_event("invoice.paid", invoice())).status_code == 200
    assert post(client, make_event("invoice.payment_succeeded", invoice())).status_code == 200
    assert post(client, make_event("invoice.paid", invoice())).status_code == 200
    payment = Payment.objects.get()
    assert (payment.stripe_id, payment.amount, payment.currency) == ("in_test_1", 500, "eur")
    assert payment.kind == "membership"
    # Stripe mails receipts; the site sends nothing for a paid renewal.
    assert len(mailoutbox) <= 1


@pytest.mark.django_db(transaction=True)
def test_the_same_events_five_times_concurrently_change_the_membership_once_and_mail_once(
    mailoutbox,
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite ignores select_for_update(); the concurrency test runs on PostgreSQL "
            "(DATABASE_URL=postgres://…, as in .ci/run)"
        )
    from django.test import Client

    membership = a_member_subscription(status="incomplete")
    activated = make_event("customer.subscription.updated", subscription(status="active"))
    paid = make_event("invoice.paid", invoice())
    statuses = []
    membership_saves = []
    barrier = threading.Barrier(10)

    def count_save(sender, instance, **kwargs):
        membership_saves.append(instance.status)

    post_save.connect(count_save, sender=Membership, dispatch_uid="count-membership-saves")

    def deliver(event):
        try:
            barrier.wait()
            statuses.append(post(Client(), event).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(event,)) for event in [activated, paid] * 5]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    post_save.disconnect(dispatch_uid="count-membership-saves", sender=Membership)
    assert statuses == [200] * 10
    assert membership_saves == ["active"]
    membership.refresh_from_db()
    assert (membership.status, membership.stripe_updated is not None) == ("active", True)
    assert Payment.objects.count() == 1
    assert StripeEvent.objects.count() == 2
    for stored in StripeEvent.objects.all():
        assert stored.processed_at is not None and stored.attempts == 1
    assert [email.subject for email in mailoutbox] == [
        "Welcome to The Highland Courier: you are a member"
    ]


# Ordering ---------------------------------------------------------------------------------------


def test_a_late_older_update_never_reactivates_a_canceled_subscription(client):
    membership = a_member_subscription(status="active")
    now = int(time.time())
    deleted = make_event(
        "customer.subscription.deleted",
        subscription(status="canceled", canceled_at=now - 5, ended_at=now - 5),
        created=now - 5,
    )
    late_update = make_event(
        "customer.subscription.updated", subscription(status="active"), created=now - 60
    )
    same_second_update = make_event(
        "customer.subscription.updated", subscription(status="active"), created=now - 5
    )
    for event in (deleted, late_update, same_second_update):
        assert post(client, event).status_code == 200
    membership.refresh_from_db()
    assert membership.status == "canceled"
    assert membership.ended_at is not None


def test_an_older_event_does_not_overwrite_newer_state(client):
    membership = a_member_subscription(status="active")
    now = int(time.time())
    newer = make_event(
        "customer.subscription.updated", subscription(status="past_due"), created=now
    )
    older = make_event(
        "customer.subscription.updated",
        subscription(status="active", cancel_at_period_end=True),
        created=now - 30,
    )
    post(client, newer)
    post(client, older)
    membership.refresh_from_db()
    assert membership.status == "past_due"
    assert membership.cancel_at_period_end is False


def test_subscription_period_end_is_read_from_the_item_and_from_older_shapes(client):
    membership = a_member_subscription(status="incomplete")
    period_end = int(time.time()) + 10 * 86400
    post(client, make_event("customer.subscription.updated", subscription(period_end=period_end)))
    membership.refresh_from_db()
    assert int(membership.current_period_end.timestamp()) == period_end

    old_shape = subscription(period_end=period_end)
    del old_shape["items"]["data"][0]["current_period_end"]
    old_shape["current_period_end"] = period_end + 86400
    post(client, make_event("customer.subscription.updated", old_shape))
    membership.refresh_from_db()
    assert int(membership.current_period_end.timestamp()) == period_end + 86400


# Faults ------------------------------------------------------------------------------------------


def our_invoice(subscription_id):
    """An invoice of a subscription our Checkout created: it carries the site's metadata."""
    paid = invoice(subscription_id=subscription_id)
    paid["parent"]["subscription_details"]["metadata"] = {"kind": "membership", "user_id": "1"}
    return paid


def test_invoice_for_an_unknown_subscription_fails_so_stripe_retries(client):
    event = make_event("invoice.paid", our_invoice("sub_nobody_knows"))
    assert post(client, event).status_code == 500
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.processed_at is None
    assert stored.attempts == 1
    assert "sub_nobody_knows" in stored.last_error
    assert not Payment.objects.exists()

    # Once the subscription is known, Stripe's retry goes through, exactly once.
    a_member_subscription(stripe_updated=None)
    Membership.objects.update(stripe_subscription_id="sub_nobody_knows")
    assert post(client, event).status_code == 200
    assert post(client, event).status_code == 200
    assert Payment.objects.count() == 1
    stored.refresh_from_db()
    assert stored.processed_at is not None


def test_invoice_of_a_plan_price_for_an_unknown_subscription_fails_so_stripe_retries(client):
    price = PriceFactory()
    paid = invoice(subscription_id="sub_not_yet")
    paid["lines"] = {
        "object": "list",
        "data": [{"pricing": {"price_details": {"price": price.stripe_price_id}}}],
    }
    assert post(client, make_event("invoice.paid", paid)).status_code == 500
    # Older layout: the line names its price directly.
    paid["lines"]["data"] = [{"price": {"id": price.stripe_price_id}}]
    assert post(client, make_event("invoice.paid", paid)).status_code == 500
    assert not Payment.objects.exists()


def test_invoice_of_another_product_on_the_account_is_parked_not_retried_forever(client, caplog):
    event = make_event("invoice.paid", invoice(subscription_id="sub_of_the_shop"))
    assert post(client, event).status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.processed_at is not None
    assert stored.note.startswith("Parked: sub_of_the_shop")
    assert not Payment.objects.exists()
    assert "parked" in caplog.text


def test_an_exception_mid_handler_rolls_back_and_the_retry_succeeds_once(client, monkeypatch):
    membership = a_member_subscription(status="incomplete")
    real_handler = webhooks.HANDLERS["invoice.paid"]

    def half_done(invoice_data, as_of):
        real_handler(invoice_data, as_of)
        Membership.objects.filter(pk=membership.pk).update(status="active")
        raise RuntimeError("database went away mid-handler")

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", half_done)
    event = make_event("invoice.paid", invoice())
    assert post(client, event).status_code == 500
    assert not Payment.objects.exists()
    membership.refresh_from_db()
    assert membership.status == "incomplete"
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.processed_at is None
    assert "database went away" in stored.last_error

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", real_handler)
    assert post(client, event).status_code == 200
    assert post(client, event).status_code == 200
    assert Payment.objects.count() == 1
    stored.refresh_from_db()
    assert stored.processed_at is not None and stored.attempts == 2


# Checkout ----------------------------------------------------------------------------------------


def test_checkout_for_a_plan_price_maps_the_customer_and_starts_the_membership(client):
    price = PriceFactory()
    user = UserFactory()
    session = checkout_session(
        client_reference_id=str(user.pk),
        metadata={"user_id": str(user.pk), "kind": "membership", "price_id": price.stripe_price_id},
    )
    assert post(client, make_event("checkout.session.completed", session)).status_code == 200
    assert Customer.objects.get(user=user).stripe_customer_id == "cus_new_1"
    membership = Membership.objects.get(stripe_subscription_id="sub_new_1")
    assert (membership.user, membership.plan, membership.status) == (user, price.plan, "incomplete")

    # The subscription's own event sets the status.
    post(
        client,
        make_event(
            "customer.subscription.created", subscription("sub_new_1", customer="cus_new_1")
        ),
    )
    membership.refresh_from_db()
    assert membership.status == "active"


def test_subscription_events_before_the_checkout_find_the_user_by_customer(client):
    price = PriceFactory()
    user = UserFactory()
    Customer.objects.create(user=user, stripe_customer_id="cus_new_1")
    post(
        client,
        make_event(
            "customer.subscription.created", subscription("sub_new_1", customer="cus_new_1")
        ),
    )
    session = checkout_session(
        client_reference_id=str(user.pk), metadata={"price_id": price.stripe_price_id}
    )
    post(client, make_event("checkout.session.completed", session))
    membership = Membership.objects.get()
    assert (membership.user, membership.status) == (user, "active")


@pytest.mark.parametrize(
    "changes",
    [
        {"metadata": {"price_id": "price_someone_else"}},
        {"metadata": {}},
        {"metadata": {"price_id": "price_test_month_eur"}, "currency": "usd"},
        {"metadata": {"price_id": "price_test_month_eur"}, "amount_subtotal": 1},
    ],
    ids=["unknown price", "no price", "other currency", "other amount"],
)
def test_checkout_that_is_not_a_known_plan_price_grants_nothing_and_alerts(client, caplog, changes):
    PriceFactory()
    user = UserFactory()
    session = checkout_session(client_reference_id=str(user.pk), **changes)
    with caplog.at_level(logging.WARNING, logger="members.webhooks"):
        assert post(client, make_event("checkout.session.completed", session)).status_code == 200
    assert not Membership.objects.exists()
    assert "ALERT" in caplog.text


def test_checkout_naming_two_different_users_credits_nobody_and_alerts(client, caplog):
    """This site writes the same user id as `client_reference_id` and in the metadata; a signed
    session where they differ grants no membership, links no customer, and keeps a gift
    anonymous (the money arrived, so it is recorded)."""
    price = PriceFactory()
    payer, other = UserFactory(), UserFactory()
    membership = checkout_session(
        client_reference_id=str(payer.pk),
        metadata={"price_id": price.stripe_price_id, "user_id": str(other.pk)},
    )
    gift = checkout_session(
        id="cs_gift_mismatch",
        mode="payment",
        subscription=None,
        payment_intent="pi_gift_mismatch",
        customer="cus_gift_mismatch",
        client_reference_id=str(other.pk),
        metadata={"kind": "donation", "user_id": str(payer.pk)},
    )
    with caplog.at_level(logging.WARNING, logger="members.sync"):
        for session in (membership, gift):
            assert (
                post(client, make_event("checkout.session.completed", session)).status_code == 200
            )
    assert "names user" in caplog.text and "nobody is credited" in caplog.text
    assert not Membership.objects.exists()
    assert not Customer.objects.exists()
    donation = Donation.objects.get()
    assert (donation.user, donation.stripe_checkout_session_id) == (None, "cs_gift_mismatch")
    # The same session with the two ids agreeing credits its user.
    agreeing = {**membership, "id": "cs_agreeing", "client_reference_id": str(other.pk)}
    post(client, make_event("checkout.session.completed", agreeing))
    assert Membership.objects.get().user == other


def test_subscription_with_an_unknown_price_gives_no_access_and_alerts(client, caplog):
    membership = a_member_subscription(status="active")
    with caplog.at_level(logging.WARNING, logger="members.webhooks"):
        post(
            client,
            make_event("customer.subscription.updated", subscription(price_id="price_not_ours")),
        )
    assert "ALERT" in caplog.text
    from members.access import is_member

    assert not is_member(membership.user)


def test_one_off_donation_checkout_records_a_donation_and_one_payment(client):
    session = checkout_session(
        id="cs_donation_1",
        mode="payment",
        subscription=None,
        customer=None,
        payment_intent="pi_donation_1",
        amount_total=2500,
        amount_subtotal=2500,
        customer_details={"email": "anonymous.donor@example.com"},
    )
    for _ in range(2):
        assert post(client, make_event("checkout.session.completed", session)).status_code == 200
    donation = Donation.objects.get()
    assert (donation.user, donation.email, donation.amount, donation.recurring) == (
        None,
        "anonymous.donor@example.com",
        2500,
        False,
    )
    payment = Payment.objects.get()
    assert (payment.kind, payment.donation, payment.amount) == ("donation", donation, 2500)


def test_a_monthly_donation_is_a_donation_not_a_membership(client):
    user = UserFactory()
    session = checkout_session(
        id="cs_monthly_gift",
        client_reference_id=str(user.pk),
        subscription="sub_gift_1",
        metadata={"kind": "donation", "user_id": str(user.pk)},
        amount_total=1000,
    )
    post(client, make_event("checkout.session.completed", session))
    post(
        client,
        make_event(
            "customer.subscription.created",
            subscription(
                "sub_gift_1",
                customer="cus_new_1",
                price_id="price_gift_custom",
                metadata={"kind": "donation"},
            ),
        ),
    )
    post(
        client,
        make_event("invoice.paid", invoice("in_gift_1", subscription_id="sub_gift_1", amount=1000)),
    )
    assert not Membership.objects.exists()
    donation = Donation.objects.get()
    assert (donation.recurring, donation.status, donation.user) == (True, "active", user)
    assert Payment.objects.get().kind == "donation"


# Refunds and disputes ---------------------------------------------------------------------------


def test_refunds_mark_the_payment_and_leave_access_alone(client):
    membership = a_member_subscription(status="active")
    post(client, make_event("invoice.paid", {**invoice(), "charge": "ch_test_1"}))
    charge = {
        "id": "ch_test_1",
        "object": "charge",
        "amount": 500,
        "amount_refunded": 200,
        "refunded": False,
        "payment_intent": None,
        "livemode": False,
    }
    post(client, make_event("charge.refunded", charge))
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_refunded) == ("partially_refunded", 200)
    post(
        client, make_event("charge.refunded", {**charge, "amount_refunded": 500, "refunded": True})
    )
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == ("refunded", 500)
    membership.refresh_from_db()
    assert membership.status == "active"


def a_dispute(**changes):
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "charge": "ch_test_1",
        "payment_intent": None,
        "amount": 500,
        "currency": "eur",
        "created": int(time.time()),
        "reason": "fraudulent",
        "livemode": False,
    }
    return dispute | changes


def test_a_dispute_flags_the_payment_and_the_member_and_alerts_staff(
    client, caplog, mailoutbox, staff_alerts
):
    membership = a_member_subscription(email="member@example.com")
    post(client, make_event("invoice.paid", {**invoice(), "charge": "ch_test_1"}))
    event = make_event("charge.dispute.created", a_dispute())
    with caplog.at_level(logging.WARNING, logger="members.webhooks"):
        for _ in range(5):
            assert post(client, event).status_code == 200
    assert Payment.objects.get().status == "disputed"
    member = User.objects.get(pk=membership.user_id)
    assert int(member.payment_disputed_at.timestamp()) == event["data"]["object"]["created"]
    assert any(
        r.levelno == logging.WARNING and "ALERT dispute" in r.getMessage() for r in caplog.records
    )
    [email] = mailoutbox
    assert email.to == staff_alerts
    assert email.subject == "[The Highland Courier] A payment is disputed"
    assert "Dispute dp_1 (fraudulent) on payment in_test_1 of member@example.com" in email.body
    # Access is the staff's call once they have looked at the dispute.
    membership.refresh_from_db()
    assert membership.status == "active"


def test_a_dispute_of_a_renewal_is_found_through_the_invoice_payment(client, staff_alerts):
    membership = a_member_subscription()
    post(client, make_event("invoice.paid", invoice()))
    # Since the 2025 API versions only invoice_payment.paid ties the invoice to its payment.
    invoice_payment = {
        "id": "inpay_1",
        "object": "invoice_payment",
        "invoice": "in_test_1",
        "payment": {"type": "payment_intent", "payment_intent": "pi_renewal_1"},
        "status": "paid",
    }
    assert post(client, make_event("invoice_payment.paid", invoice_payment)).status_code == 200
    dispute = a_dispute(charge="ch_renewal_1", payment_intent="pi_renewal_1")
    assert post(client, make_event("charge.dispute.created", dispute)).status_code == 200
    payment = Payment.objects.get()
    assert (payment.status, payment.stripe_charge_id) == ("disputed", "ch_renewal_1")
    assert User.objects.get(pk=membership.user_id).payment_disputed_at is not None


def test_a_dispute_matching_no_payment_still_alerts_staff(client, mailoutbox, staff_alerts):
    assert post(client, make_event("charge.dispute.created", a_dispute())).status_code == 200
    [email] = mailoutbox
    assert "ch_test_1" in email.body and "matches no payment here" in email.body
    assert not User.objects.filter(payment_disputed_at__isnull=False).exists()


# Delayed payments (bank debits) -------------------------------------------------------------------


def test_a_gift_paid_later_is_recorded_once_when_the_money_arrives(client):
    completed = make_event("checkout.session.completed", donation_session())
    assert post(client, completed).status_code == 200
    donation = Donation.objects.get()
    assert (donation.status, donation.amount, donation.email) == (
        "unpaid",
        2500,
        "giver@example.com",
    )
    assert not Payment.objects.exists()

    succeeded = make_event(
        "checkout.session.async_payment_succeeded", donation_session(payment_status="paid")
    )
    for _ in range(5):
        assert post(client, succeeded).status_code == 200
    # The same money reported once more under another event id (and a late "completed").
    again = make_event(
        "checkout.session.async_payment_succeeded", donation_session(payment_status="paid")
    )
    assert post(client, again).status_code == 200
    assert post(client, make_event("checkout.session.completed", donation_session())).status_code
    donation.refresh_from_db()
    assert donation.status == "paid"
    payment = Payment.objects.get()
    assert (payment.stripe_id, payment.kind, payment.amount, payment.donation) == (
        "pi_gift_1",
        "donation",
        2500,
        donation,
    )


def test_a_gift_paid_later_whose_completed_event_arrives_last_stays_paid(client):
    succeeded = make_event(
        "checkout.session.async_payment_succeeded", donation_session(payment_status="paid")
    )
    assert post(client, succeeded).status_code == 200
    assert post(client, make_event("checkout.session.completed", donation_session())).status_code
    assert Donation.objects.get().status == "paid"
    assert Payment.objects.count() == 1


def test_a_gift_whose_bank_debit_fails_stays_unpaid_and_is_logged(client, caplog):
    assert post(client, make_event("checkout.session.completed", donation_session())).status_code
    failed = make_event("checkout.session.async_payment_failed", donation_session())
    with caplog.at_level(logging.INFO, logger="members.webhooks"):
        assert post(client, failed).status_code == 200
    assert Donation.objects.get().status == "unpaid"
    assert not Payment.objects.exists()
    assert "Delayed payment of checkout session cs_gift_1" in caplog.text


# Deleted accounts ---------------------------------------------------------------------------------


def test_the_cancellation_of_a_deleted_members_subscription_is_acknowledged(client, caplog):
    membership = a_member_subscription(status="active")
    user_id = membership.user_id
    # Deleting the account cancels the subscription at Stripe and the rows here.
    User.objects.filter(pk=user_id).delete()
    assert not Customer.objects.exists() and not Membership.objects.exists()
    canceled = subscription(
        status="canceled",
        canceled_at=int(time.time()),
        ended_at=int(time.time()),
        metadata={"user_id": str(user_id), "kind": "membership"},
    )
    event = make_event("customer.subscription.deleted", canceled)
    with caplog.at_level(logging.INFO, logger="members.webhooks"):
        assert post(client, event).status_code == 200
    assert StripeEvent.objects.get(stripe_id=event["id"]).processed_at is not None
    assert "belongs to no user here; acknowledged" in caplog.text
    assert not Membership.objects.exists()


def test_a_live_subscription_of_a_plan_with_no_user_yet_is_retried(client):
    PriceFactory()
    event = make_event("customer.subscription.updated", subscription(customer="cus_unknown"))
    assert post(client, event).status_code == 500
    assert StripeEvent.objects.get(stripe_id=event["id"]).processed_at is None


def test_an_event_with_a_nul_character_is_stored_and_processed(client):
    event = make_event(
        "customer.tax_id.created", {"id": "txi_2", "metadata": {"note": "before\x00after"}}
    )

    assert post(client, event).status_code == 200

    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.processed_at is not None
    assert stored.payload["data"]["object"]["metadata"]["note"] == "before\ufffdafter"


# Repairs by stripe_reconcile ----------------------------------------------------------------------


def test_reconcile_applies_what_it_reads_with_the_webhooks_own_functions(mailoutbox):
    # `stripe_reconcile` applies what it reads from Stripe with these three functions, given
    # the object and the time it was read, inside its own transaction.
    membership = a_member_subscription(status="incomplete")
    read_at = timezone.now()
    with transaction.atomic():
        sync.subscription_changed(subscription(status="active"), read_at)
        sync.invoice_paid(invoice(), read_at)
        sync.checkout_session_completed(donation_session(payment_status="paid"), read_at)
    membership.refresh_from_db()
    assert membership.status == "active"
    assert Payment.objects.count() == 2
    assert Donation.objects.get().status == "paid"
    assert [email.to for email in mailoutbox] == [[membership.user.email]]


# Through the fake Stripe ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_gift_by_bank_debit_at_stripe_is_paid_once_when_it_settles(fake_stripe):
    session_id = give_at(fake_stripe, "giver@example.com", async_payment=True)
    donation = Donation.objects.get()
    assert (donation.status, donation.email) == ("unpaid", "giver@example.com")
    assert not Payment.objects.exists()

    fake_stripe.settle_async_payment(session_id, succeeded=True)
    redeliver_everything(fake_stripe)

    assert {delivery.status for delivery in fake_stripe.deliveries} == {200}
    donation.refresh_from_db()
    assert donation.status == "paid"
    payment = Payment.objects.get()
    assert (payment.donation, payment.amount, payment.stripe_id) == (
        donation,
        2500,
        fake_stripe.get(session_id)["payment_intent"],
    )


@pytest.mark.django_db(transaction=True)
def test_a_gift_by_bank_debit_at_stripe_that_fails_stays_unpaid(fake_stripe):
    session_id = give_at(fake_stripe, "giver@example.com", async_payment=True)
    fake_stripe.settle_async_payment(session_id, succeeded=False)
    assert {delivery.status for delivery in fake_stripe.deliveries} == {200}
    assert Donation.objects.get().status == "unpaid"
    assert not Payment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_chargeback_at_stripe_flags_the_member_and_mails_staff(
    fake_stripe, mailoutbox, staff_alerts
):
    user = UserFactory(email="tamar@example.com")
    join_at(fake_stripe, user, plan_price_at(fake_stripe))
    [charge] = fake_stripe.objects("charge")

    fake_stripe.dispute_charge(charge["id"])
    redeliver_everything(fake_stripe)

    assert {delivery.status for delivery in fake_stripe.deliveries} == {200}
    user.refresh_from_db()
    assert user.payment_disputed_at is not None
    assert Payment.objects.get().status == "disputed"
    alerts = [email for email in mailoutbox if email.to == staff_alerts]
    # Every event came twice: each piece of news once.
    assert [email.subject for email in alerts] == [
        "[The Highland Courier] A new member",
        "[The Highland Courier] A payment is disputed",
    ]
    assert "tamar@example.com" in alerts[1].body


def test_a_member_on_a_stripe_price_since_replaced_keeps_the_plan(client):
    # stripe_setup replaced the plan's Stripe price (new amount); the member still pays the old
    # one, whose metadata names the price row it was made for.
    membership = a_member_subscription()
    price = membership.price
    price.stripe_price_id = "price_new_amount"
    price.save()
    old = subscription(price_id="price_replaced", status="active")
    old["items"]["data"][0]["price"]["metadata"] = {"newsroom_lookup_key": price.lookup_key}
    assert post(client, make_event("customer.subscription.updated", old)).status_code == 200
    membership.refresh_from_db()
    assert membership.price == price and membership.plan == price.plan
    assert Membership.objects.active().filter(pk=membership.pk).exists()
