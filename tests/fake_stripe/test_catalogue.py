"""Customers, products and prices: what ``stripe_setup`` and the join flow create."""

import pytest
import stripe

from tests.fake_stripe.harness import make_plan


def test_customers_products_prices_read_back(client, fake):
    customer = client.v1.customers.create(
        params={"email": "ana@example.com", "name": "Ana", "metadata": {"user_id": "7"}}
    )
    assert customer.id.startswith("cus_") and customer.object == "customer"
    assert customer.livemode is False and customer.metadata["user_id"] == "7"
    again = client.v1.customers.retrieve(customer.id)
    assert again.to_dict() == customer.to_dict()
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.customers.create(params={"email": "not an address"})
    assert error.value.code == "email_invalid"

    product, monthly, _ = make_plan(client)
    assert product.id.startswith("prod_") and monthly.id.startswith("price_")
    price = client.v1.prices.retrieve(monthly.id, params={"expand": ["product"]})
    assert price.product.name == "Membership"
    assert price.recurring.interval == "month" and price.unit_amount == 500
    assert price.type == "recurring" and price.currency == "eur"
    assert [e["type"] for e in fake.events] == [
        "customer.created",
        "product.created",
        "price.created",
        "price.created",
    ]


def test_products_update_and_default_price(client, fake):
    product = client.v1.products.create(
        params={
            "name": "Supporter",
            "metadata": {"plan": "supporter"},
            "default_price_data": {
                "currency": "eur",
                "unit_amount": 500,
                "recurring": {"interval": "month"},
            },
        }
    )
    assert product.default_price.startswith("price_")
    assert client.v1.prices.retrieve(product.default_price).product == product.id
    assert [e["type"] for e in fake.events] == [
        "product.created",
        "price.created",
        "product.updated",
    ]

    renamed = client.v1.products.update(
        product.id, params={"name": "Friend", "metadata": {"plan": ""}, "active": False}
    )
    assert renamed.name == "Friend" and renamed.active is False
    assert renamed.metadata.to_dict() == {}
    assert client.v1.products.retrieve(product.id).to_dict() == renamed.to_dict()
    # "updated" changes too when the update lands in a later second than the creation.
    previous = fake.events[-1]["data"]["previous_attributes"]
    previous = {key: value for key, value in previous.items() if key != "updated"}
    assert previous == {"active": True, "metadata": {"plan": "supporter"}, "name": "Supporter"}
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.products.update(product.id, params={"name": ""})
    assert error.value.param == "name"

    other = client.v1.products.create(params={"name": "Other"})
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.products.update(other.id, params={"default_price": product.default_price})
    assert error.value.param == "default_price"


def test_prices_by_lookup_key(client, fake):
    product, monthly, yearly = make_plan(client)
    listed = client.v1.prices.list(params={"lookup_keys": ["member_eur_year"]})
    assert [p.id for p in listed.data] == [yearly.id]
    both = client.v1.prices.list(
        params={"lookup_keys": ["member_eur_month", "member_eur_year"], "active": True}
    )
    assert {p.id for p in both.data} == {monthly.id, yearly.id}
    assert [p.id for p in client.v1.prices.list(params={"recurring": {"interval": "year"}})] == [
        yearly.id
    ]

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.prices.create(
            params={
                "product": product.id,
                "currency": "eur",
                "unit_amount": 600,
                "recurring": {"interval": "month"},
                "lookup_key": "member_eur_month",
            }
        )
    assert error.value.param == "lookup_key"
    fake.wait_for_webhooks()
    moved = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 600,
            "recurring": {"interval": "month"},
            "lookup_key": "member_eur_month",
            "transfer_lookup_key": True,
        }
    )
    listed = client.v1.prices.list(params={"lookup_keys": ["member_eur_month"]})
    assert [p.id for p in listed.data] == [moved.id]
    assert client.v1.prices.retrieve(monthly.id).lookup_key is None
    updated, created = fake.events[-2:]
    assert (updated["type"], created["type"]) == ("price.updated", "price.created")
    assert updated["data"]["previous_attributes"] == {"lookup_key": "member_eur_month"}

    client.v1.prices.update(moved.id, params={"active": False, "nickname": "Old monthly"})
    inactive = client.v1.prices.list(params={"active": False}).data
    assert [(p.id, p.nickname) for p in inactive] == [(moved.id, "Old monthly")]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.prices.update(yearly.id, params={"lookup_key": "member_eur_month"})
    client.v1.prices.update(
        yearly.id, params={"lookup_key": "member_eur_month", "transfer_lookup_key": True}
    )
    assert client.v1.prices.retrieve(moved.id).lookup_key is None
