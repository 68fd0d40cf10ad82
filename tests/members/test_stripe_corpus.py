"""Every recorded Stripe event of the corpus (tests/corpus/stripe/events), in both API layouts,
through the webhook.

Local rows each event refers to (user, plan price, Stripe customer, membership, payment) are
created first, as they would exist in production. Each payload has the effect listed for it
(EFFECTS), never a 500; live-mode ones are acknowledged and ignored under test settings; a
replay of the same event id changes nothing.
"""

import json
from datetime import UTC, datetime

import pytest
from django.forms.models import model_to_dict

from members.models import Customer, Donation, Membership, Payment, Price, StripeEvent
from members.payloads import subscription_price_id
from members.webhooks import HANDLERS
from tests import corpus
from tests.factories import MembershipFactory, PriceFactory, UserFactory
from tests.members.stripe_events import corpus_event, post, stripe_settings  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]

FILES = corpus.stripe_event_files()
MODELS = {model.__name__: model for model in (Customer, Donation, Membership, Payment)}


def at(*parts):
    return datetime(*parts, tzinfo=UTC)


# What each recorded event changes, given the rows `local_rows_for()` creates: {model: the one
# row's fields after it}. Every other model, and any event not listed with a change, is left as
# it was.
EFFECTS = {
    "charge.dispute.created.json": {"Payment": {"status": "disputed"}},
    "charge.refunded--partial.data.json": {
        "Payment": {"status": "partially_refunded", "amount_refunded": 500}
    },
    "charge.refunded.json": {"Payment": {"status": "refunded", "amount_refunded": 100}},
    # One-off gifts of anonymous donors.
    "checkout.session.completed--payment-mode-minimal.json": {
        "Donation": {"amount": 25000, "currency": "usd", "recurring": False, "status": "paid"},
        "Payment": {"amount": 25000, "currency": "usd", "kind": "donation", "status": "paid"},
    },
    "checkout.session.completed.json": {
        "Donation": {"amount": 3000, "currency": "usd", "recurring": False, "status": "paid"},
        "Payment": {"amount": 3000, "currency": "usd", "kind": "donation", "status": "paid"},
    },
    # Another shop's subscription checkout: its metadata names none of our plan prices, so no
    # membership is granted (and staff are alerted).
    "checkout.session.completed--subscription-mode.data.json": {},
    "customer.subscription.created.json": {
        "Membership": {
            "status": "active",
            "current_period_end": at(2022, 4, 26, 18, 41, 50),
            "started_at": at(2022, 3, 26, 18, 41, 50),
        }
    },
    "customer.subscription.updated.json": {
        "Membership": {
            "status": "active",
            "current_period_end": at(2022, 4, 26, 18, 41, 45),
            "started_at": at(2022, 3, 26, 18, 41, 45),
        }
    },
    "customer.subscription.updated--expanded-latest-invoice.data.json": {
        # An old layout without `start_date`: the subscription's creation is its start.
        "Membership": {
            "status": "canceled",
            "ended_at": at(2017, 2, 23, 17, 47, 49),
            "started_at": at(2016, 6, 24, 15, 45, 24),
        }
    },
    "customer.subscription.deleted.json": {
        # Recorded before Stripe had `cancellation_details`: no reason is made up.
        "Membership": {
            "status": "canceled",
            "ended_at": at(2022, 3, 26, 18, 41, 37),
            "started_at": at(2022, 3, 26, 18, 41, 36),
            "cancellation_reason": "",
        }
    },
    # Acknowledged without a handler.
    "customer.subscription.trial_will_end.json": {},
    # Invoices of no subscription: neither a membership's nor a monthly gift's.
    "invoice.paid.json": {},
    "invoice.payment_failed.json": {},
    "invoice.payment_succeeded.json": {},
    # Live-mode events, ignored by a site in test mode.
    "invoice.payment_action_required--api-2025.data.json": {},
    "invoice.payment_failed--api-2025.data.json": {},
}


def local_rows_for(event):
    """Create what the event refers to: the subscriber, their plan price and membership, the
    payment a refund or dispute is about."""
    obj = event["data"]["object"]
    if event["type"].startswith("customer.subscription."):
        price_id = subscription_price_id(obj)
        price = Price.objects.filter(stripe_price_id=price_id).first() or PriceFactory(
            stripe_price_id=price_id
        )
        user = UserFactory()
        Customer.objects.create(user=user, stripe_customer_id=obj["customer"])
        MembershipFactory(
            user=user,
            price=price,
            stripe_subscription_id=obj["id"],
            stripe_customer_id=obj["customer"],
            status="active",
        )
    elif event["type"].startswith("charge."):
        charge_id = obj["charge"] if event["type"].startswith("charge.dispute.") else obj["id"]
        Payment.objects.create(
            stripe_id=f"in_for_{charge_id}",
            stripe_charge_id=charge_id,
            amount=obj["amount"],
            currency=obj["currency"],
            kind="donation",
            paid_at="2022-03-26T00:00:00Z",
        )


def snapshot():
    return {
        model.__name__: sorted(
            json.dumps(model_to_dict(row), default=str, sort_keys=True)
            for row in model.objects.all()
        )
        for model in (Customer, Donation, Membership, Payment)
    }


def test_every_corpus_event_has_its_expected_effect():
    assert set(EFFECTS) == set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_every_corpus_event_has_its_effect_and_a_replay_changes_nothing(client, name):
    event = corpus_event(name)
    local_rows_for(event)
    before = snapshot()
    response = post(client, event)
    assert response.status_code == 200, StripeEvent.objects.get().last_error
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.processed_at is not None
    if event["livemode"]:
        assert stored.note.startswith("Ignored")

    after = snapshot()
    changed = {model for model in after if after[model] != before[model]}
    assert changed == set(EFFECTS[name])
    for model, fields in EFFECTS[name].items():
        row = MODELS[model].objects.get()
        assert {field: getattr(row, field) for field in fields} == fields, model

    assert post(client, event).status_code == 200
    assert snapshot() == after
    assert StripeEvent.objects.get(stripe_id=event["id"]).attempts == 1


def test_the_corpus_covers_two_livemode_events_and_every_handled_type():
    events = [corpus_event(name) for name in FILES]
    assert sum(1 for event in events if event["livemode"]) == 2
    types = {event["type"] for event in events}
    assert "customer.subscription.trial_will_end" not in HANDLERS  # acknowledged, no-op
    assert {"checkout.session.completed", "invoice.paid", "charge.refunded"} <= types


def test_corpus_deletion_then_the_older_update_leaves_the_subscription_canceled(client):
    deleted = corpus_event("customer.subscription.deleted.json")
    updated = corpus_event("customer.subscription.updated.json")
    assert updated["created"] > deleted["created"]
    local_rows_for(deleted)
    for first, second in ((deleted, updated), (updated, deleted)):
        first, second = dict(first, id=first["id"] + "a"), dict(second, id=second["id"] + "b")
        assert post(client, first).status_code == 200
        assert post(client, second).status_code == 200
        assert Membership.objects.get().status == "canceled"


def test_corpus_one_off_invoices_leave_memberships_untouched(client):
    membership = MembershipFactory(stripe_customer_id="cus_00000000000000")
    before = model_to_dict(membership)
    for name in (
        "invoice.paid.json",
        "invoice.payment_failed.json",
        "invoice.payment_succeeded.json",
    ):
        assert post(client, corpus_event(name)).status_code == 200
    membership.refresh_from_db()
    assert model_to_dict(membership) == before
    assert not Payment.objects.exists()


def test_corpus_partial_refund_marks_the_payment_partially_refunded(client):
    event = corpus_event("charge.refunded--partial.data.json")
    local_rows_for(event)
    post(client, event)
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_refunded) == ("partially_refunded", 500)
