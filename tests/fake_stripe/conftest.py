"""Fixtures for the fake Stripe's own tests: no database, only HTTP on 127.0.0.1."""

import pytest
import stripe

from tests.fake_stripe import FakeStripe
from tests.fake_stripe.harness import SECRET, Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def fake(receiver):
    with FakeStripe(webhook_url=receiver.url, webhook_secret=SECRET) as f:
        yield f


@pytest.fixture
def client(fake):
    return stripe.StripeClient(
        "sk_test_123", base_addresses=fake.base_addresses, max_network_retries=0
    )
