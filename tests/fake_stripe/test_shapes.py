"""The fake's objects carry every field of Stripe's own examples."""

from tests import corpus
from tests.fake_stripe.harness import charge_of, make_plan, subscribe


def test_objects_have_every_field_of_stripes_examples(client, fake):
    """Each object carries every top-level field of Stripe's example object (fixtures3.json,
    read through tests/corpus)."""
    examples = corpus.stripe_fixtures()["resources"]
    _, monthly, _ = make_plan(client)
    sub = subscribe(client, fake, monthly)
    invoice = fake.get(sub.latest_invoice)
    charge = charge_of(fake, invoice["id"])
    refund = client.v1.refunds.create(params={"charge": charge["id"], "amount": 100})
    portal = client.v1.billing_portal.sessions.create(params={"customer": sub.customer})
    session = fake.objects("checkout.session")[0]
    with_items = client.v1.checkout.sessions.retrieve(
        session["id"], params={"expand": ["line_items"]}
    )
    ours = {
        "customer": fake.get(sub.customer),
        "product": fake.get(monthly.product),
        "price": fake.get(monthly.id),
        "plan": fake.get(sub.id)["items"]["data"][0]["plan"],
        "checkout.session": session,
        "item": with_items.line_items.data[0].to_dict(),
        "billing_portal.session": fake.get(portal.id),
        "subscription": fake.get(sub.id),
        "subscription_item": fake.get(sub.id)["items"]["data"][0],
        "invoice": invoice,
        "line_item": invoice["lines"]["data"][0],
        "invoice_payment": fake.objects("invoice_payment")[0],
        "payment_intent": fake.objects("payment_intent")[0],
        "charge": fake.get(charge["id"]),
        "refund": fake.get(refund.id),
        "dispute": fake.dispute_charge(charge["id"]),
        "event": fake.events[0],
    }
    for kind, obj in ours.items():
        missing = set(examples[kind]) - set(obj)
        assert not missing, (kind, missing)
        assert obj["object"] == examples[kind]["object"], kind
