"""The wire format, lists, idempotency and webhook delivery, with the real stripe SDK."""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
import stripe

from tests.fake_stripe import API_VERSION, FakeStripe, compute_signature, parse_params, sign
from tests.fake_stripe.harness import (
    SECRET,
    get_page_status,
    make_plan,
    opener,
    subscribe,
)
from tests.fake_stripe.server import params_class


def test_error_shapes(client, fake):
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.customers.retrieve("cus_missing")
    assert error.value.http_status == 404 and error.value.code == "resource_missing"
    assert error.value.json_body["error"]["type"] == "invalid_request_error"
    assert error.value.param == "id"

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.prices.create(params={"currency": "eur", "unit_amount": 100})
    assert error.value.http_status == 400 and error.value.param == "product"

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "success_url": "http://app.test/ok",
                "line_items": [{"price": "price_nope"}],
            }
        )
    assert error.value.param == "line_items[0][quantity]"

    # Unknown names are refused at any depth, as the real API does, before anything else.
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.subscriptions.cancel("sub_x", params={"current_period_end": 1})
    assert error.value.code == "parameter_unknown" and error.value.param == "current_period_end"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(params={"line_items": [{"price": "p", "colour": "r"}]})
    assert error.value.param == "line_items[0][colour]"

    bad_key = stripe.StripeClient(
        "sk_live_nope", base_addresses=fake.base_addresses, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as error:
        bad_key.v1.prices.list()
    assert error.value.http_status == 401

    request = urllib.request.Request(f"{fake.url}/v1/customers")
    with pytest.raises(urllib.error.HTTPError) as raw:
        opener.open(request, timeout=5)
    assert raw.value.code == 401
    assert json.loads(raw.value.read())["error"]["type"] == "invalid_request_error"

    request = urllib.request.Request(
        f"{fake.url}/v1/nothing/here", headers={"Authorization": "Bearer sk_test_x"}
    )
    with pytest.raises(urllib.error.HTTPError) as raw:
        opener.open(request, timeout=5)
    body = json.loads(raw.value.read())
    assert raw.value.code == 404 and body["error"]["code"] == "resource_missing"
    assert get_page_status(f"{fake.url}/checkout/cs_test_nope") == 404
    assert get_page_status(f"{fake.url}/nothing") == 404


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.v1.customers.list(),
        lambda c: c.v1.customers.update("cus_1", params={"name": "x"}),
        lambda c: c.v1.customers.search(params={"query": "email:'a@b.c'"}),
        lambda c: c.v1.products.list(),
        lambda c: c.v1.subscription_items.list(params={"subscription": "sub_1"}),
        lambda c: c.v1.payment_intents.retrieve("pi_1"),
        lambda c: c.v1.invoice_payments.list(),
        lambda c: c.v1.payment_methods.retrieve("pm_1"),
    ],
    ids=[
        "customers.list",
        "customers.update",
        "customers.search",
        "products.list",
        "subscription_items.list",
        "payment_intents.retrieve",
        "invoice_payments.list",
        "payment_methods.retrieve",
    ],
)
def test_endpoints_the_site_does_not_use_are_not_faked(client, call):
    with pytest.raises(stripe.InvalidRequestError) as error:
        call(client)
    assert error.value.http_status == 404
    assert error.value.user_message.startswith("Unrecognized request URL")


def test_idempotent_create(client, fake):
    params = {"email": "twice@example.com"}
    first = client.v1.customers.create(params=params, options={"idempotency_key": "join-1"})
    second = client.v1.customers.create(params=params, options={"idempotency_key": "join-1"})
    assert first.id == second.id
    assert len(fake.objects("customer")) == 1
    assert len(fake.events_of("customer.created")) == 1
    posts = fake.api_requests("POST", "/v1/customers")
    assert [r.idempotency_key for r in posts] == ["join-1", "join-1"]
    assert [r.replayed for r in posts] == [False, True]
    assert posts[0].stripe_version == API_VERSION
    assert posts[0].params == {"email": "twice@example.com"}

    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(
            params={"email": "other@example.com"}, options={"idempotency_key": "join-1"}
        )

    # A failed request is not remembered: the same key may then succeed.
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(
            params={"email": "not-an-email"}, options={"idempotency_key": "join-2"}
        )
    client.v1.customers.create(
        params={"email": "ok@example.com"}, options={"idempotency_key": "join-2"}
    )


def test_concurrent_double_click_is_one_session(client, fake):
    _, monthly, _ = make_plan(client)
    params = {
        "mode": "subscription",
        "line_items": [{"price": monthly.id, "quantity": 1}],
        "success_url": "http://app.test/ok",
    }
    ids = []

    def create():
        session = client.v1.checkout.sessions.create(
            params=params, options={"idempotency_key": "checkout-user-1-plan-1"}
        )
        ids.append(session.id)

    threads = [threading.Thread(target=create) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(fake.objects("checkout.session")) == 1


def test_expand_and_pagination(client, fake):
    product, monthly, _ = make_plan(client)
    for amount in (100, 200, 300):
        client.v1.prices.create(
            params={"product": product.id, "currency": "usd", "unit_amount": amount}
        )
    page = client.v1.prices.list(params={"currency": "usd", "limit": 2})
    assert len(page.data) == 2 and page.has_more is True and page.url == "/v1/prices"
    assert page.data[0].unit_amount == 300  # newest first
    rest = client.v1.prices.list(
        params={"currency": "usd", "limit": 2, "starting_after": page.data[-1].id}
    )
    assert [p.unit_amount for p in rest.data] == [100] and rest.has_more is False
    back = client.v1.prices.list(
        params={"currency": "usd", "limit": 2, "ending_before": rest.data[0].id}
    )
    assert [p.unit_amount for p in back.data] == [300, 200]
    everything = client.v1.prices.list(params={"currency": "usd", "limit": 1}).auto_paging_iter()
    assert len(list(everything)) == 3
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.prices.list(params={"starting_after": "price_gone"})
    assert error.value.param == "starting_after"

    sub = subscribe(client, fake, monthly)
    expanded = client.v1.subscriptions.retrieve(
        sub.id, params={"expand": ["customer", "latest_invoice", "items.data.price.product"]}
    )
    assert expanded.customer.email == "reader@example.com"
    assert expanded.latest_invoice.object == "invoice"
    assert expanded["items"].data[0].price.product.name == "Membership"
    listed = client.v1.subscriptions.list(params={"expand": ["data.customer"]})
    assert listed.data[0].customer.object == "customer"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.retrieve(sub.id, params={"expand": ["status"]})


def test_lists_filter_on_created():
    now = [1_750_000_000]
    with FakeStripe(now=lambda: now[0]) as fake:
        client = fake.client()
        product = client.v1.products.create(params={"name": "Gifts"})
        prices = []
        for _ in range(4):
            prices.append(
                client.v1.prices.create(
                    params={"product": product.id, "currency": "eur", "unit_amount": 500}
                )
            )
            now[0] += 100

        def created(**bounds):
            listing = client.v1.prices.list(params={"created": bounds, "limit": 1})
            return [p.id for p in listing.auto_paging_iter()]

        ids = [p.id for p in prices]  # created at 0, +100, +200, +300
        assert created(gte=1_750_000_100) == ids[3:0:-1]
        assert created(gt=1_750_000_100) == ids[3:1:-1]
        assert created(lte=1_750_000_100) == ids[1::-1]
        assert created(lt=1_750_000_100) == ids[:1]
        assert created(gte=1_750_000_100, lte=1_750_000_200) == ids[2:0:-1]
        exact = client.v1.prices.list(params={"created": 1_750_000_200})
        assert [p.id for p in exact.data] == [ids[2]]
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.prices.list(params={"created": {"gte": "soon"}})
        assert error.value.param == "created[gte]"
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.prices.list(params={"created": {"after": 1}})
        assert error.value.code == "parameter_unknown"


def test_signatures_redelivery_and_hand_made_events(client, fake, receiver):
    payload = b'{"id": "evt_1", "object": "event"}'
    header = sign(payload, SECRET, int(time.time()))
    stripe.WebhookSignature.verify_header(payload.decode(), header, SECRET)
    rotated = sign(payload, ["whsec_old", SECRET], 1_700_000_000)
    assert rotated.startswith("t=1700000000,v1=") and rotated.count("v1=") == 2
    assert rotated.endswith(compute_signature(payload, SECRET, 1_700_000_000))
    # The exact bytes are signed, whether or not they are UTF-8.
    assert compute_signature(b"\xff", SECRET, 1) == compute_signature(b"\xff", SECRET, 1)
    assert compute_signature("é", SECRET, 1) == compute_signature("é".encode(), SECRET, 1)

    customer = client.v1.customers.create(params={"email": "sig@example.com"})
    fake.wait_for_webhooks()
    [event] = fake.events_of("customer.created")
    assert event["data"]["object"]["id"] == customer.id
    first_body = receiver.received[-1][0]
    assert fake.redeliver(event["id"]).status == 200
    assert receiver.received[-1][0] == first_body  # byte for byte

    old = fake.redeliver(event["id"], timestamp=int(time.time()) - 600)
    assert old.status == 200
    body, header = receiver.received[-1]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, SECRET)
    fake.send_event(event, secret="whsec_wrong")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(*receiver.received[-1], SECRET)
    fake.send_event(event, omit_signature=True)
    assert receiver.received[-1][1] is None
    fake.send_event(b"{not json", signature="t=1,v1=00")
    assert receiver.received[-1] == (b"{not json", "t=1,v1=00")

    hand_made = fake.make_event(
        "customer.subscription.deleted", {"id": "sub_x", "object": "subscription"}
    )
    fake.send_event(hand_made)
    assert stripe.Webhook.construct_event(*receiver.received[-1], SECRET).id == hand_made["id"]

    receiver.status = 500
    client.v1.customers.create(params={"email": "sig.again@example.com"})
    fake.wait_for_webhooks()
    assert fake.deliveries[-1].status == 500 and not fake.deliveries[-1].ok
    receiver.status = 200
    [retried] = fake.retry_failed()
    assert retried.ok and retried.event_type == "customer.created"


def test_rotation_signs_with_every_secret(receiver):
    with FakeStripe(webhook_url=receiver.url, webhook_secret=f"whsec_old, {SECRET}") as fake:
        fake.client().v1.customers.create()
        fake.wait_for_webhooks()
    body, header = receiver.received[-1]
    assert header.count("v1=") == 2
    for secret in ("whsec_old", SECRET):
        stripe.Webhook.construct_event(body, header, secret)


def test_queued_delivery_for_reordering(receiver):
    with FakeStripe(
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        auto_deliver=False,
        enabled_events=["customer.subscription.*"],
    ) as fake:
        client = fake.client()
        _, monthly, _ = make_plan(client)
        sub = subscribe(client, fake, monthly)
        fake.cancel_subscription(sub.id)
        assert receiver.received == []
        queued = [e["type"] for e in fake.pending_events()]
        assert queued == [
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
        ]
        fake.deliver_pending()
        assert receiver.types() == queued
        # Late and out of order: an older "updated" after the deletion.
        fake.redeliver(fake.events_of("customer.subscription.updated")[0]["id"])
        assert receiver.types()[-1] == "customer.subscription.updated"


def test_delivery_before_the_response(receiver):
    with FakeStripe(
        webhook_url=receiver.url, webhook_secret=SECRET, deliver_before_response=True
    ) as fake:
        fake.client().v1.customers.create()
        assert receiver.types() == ["customer.created"]  # no wait_for_webhooks needed


def test_clock_and_reset():
    now = [1_750_000_000]
    with FakeStripe(now=lambda: now[0]) as fake:
        client = fake.client()
        _, monthly, _ = make_plan(client)
        sub = subscribe(client, fake, monthly)
        assert sub.created == 1_750_000_000
        assert sub["items"].data[0].current_period_end == 1_752_592_000  # +1 calendar month
        now[0] += 3600
        assert client.v1.customers.create().created == 1_750_003_600
        assert fake.events[-1]["created"] == 1_750_003_600
        fake.reset()
        assert fake.events == [] and client.v1.prices.list().data == []


def test_api_key_option_accepts_only_that_key():
    with FakeStripe(api_key="sk_test_the_one") as fake:
        assert fake.client().v1.prices.list().data == []
        with pytest.raises(stripe.AuthenticationError):
            fake.client("sk_test_another").v1.prices.list()


def test_parse_params_and_routes():
    assert parse_params(
        "line_items[0][price]=p&line_items[0][quantity]=1&metadata[a]=b&expand[]=x&expand[]=y"
        "&lookup_keys[0]=k"
    ) == {
        "line_items": [{"price": "p", "quantity": "1"}],
        "metadata": {"a": "b"},
        "expand": ["x", "y"],
        "lookup_keys": ["k"],
    }
    api_routes = [route for route in FakeStripe.routes if route.is_api]
    assert len(api_routes) == 28
    for route in api_routes:
        assert params_class(route.params) is not None, route
