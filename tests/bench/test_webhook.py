"""The load benchmark's webhook deliveries (bench/webhook.py): valid, freshly signed events about
the benchmark's members, which the site applies once each, and the check that says so."""

import pytest

from bench import seed, webhook
from members.models import Payment

pytestmark = pytest.mark.django_db

SECRET = "whsec_bench_test_secret"


@pytest.fixture
def deliveries(settings):
    settings.STRIPE_WEBHOOK_SECRETS = [SECRET]
    settings.STRIPE_LIVEMODE = False
    return webhook.Deliveries(seed.seed_members(5), seed.BENCH_PRICE_ID)


def deliver(client, deliveries, count):
    statuses = {}
    for _ in range(count):
        _event_id, body, _repeat = deliveries.next()
        response = client.post(
            webhook.WEBHOOK_PATH,
            data=body,
            content_type="application/json",
            headers={"Stripe-Signature": webhook.signature(body, SECRET)},
        )
        assert response.content in (b"OK", b"Already processed."), response.content
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    return webhook.WebhookRun(
        latencies=[0.01] * count,
        statuses=statuses,
        seconds=1.0,
        deliveries=deliveries,
        repeats=count // webhook.REPEAT_EVERY,
        errors=[],
    )


def test_each_delivery_is_a_signed_event_the_site_applies_exactly_once(client, deliveries):
    run = deliver(client, deliveries, 2 * webhook.REPEAT_EVERY)
    assert run.statuses == {200: 2 * webhook.REPEAT_EVERY}
    assert len(deliveries.sent) == 2 * webhook.REPEAT_EVERY - 2  # two were repeats
    assert {type_ for type_, _body in deliveries.sent.values()} == {
        "invoice.paid",
        "customer.subscription.updated",
    }
    assert webhook.applied_exactly_once(run) == []


def test_the_check_notices_an_invoice_that_made_no_payment(client, deliveries):
    run = deliver(client, deliveries, 10)
    Payment.objects.filter(stripe_id__startswith=webhook.INVOICE_PREFIX).first().delete()
    assert any("payments for" in problem for problem in webhook.applied_exactly_once(run))


def test_a_second_run_on_a_kept_database_has_ids_of_its_own(client, deliveries):
    first = deliver(client, deliveries, 5)
    second = deliver(client, webhook.Deliveries(deliveries.subscriptions, seed.BENCH_PRICE_ID), 5)
    assert not set(first.deliveries.sent) & set(second.deliveries.sent)
    assert webhook.applied_exactly_once(second) == []
