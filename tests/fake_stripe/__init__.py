"""A fake Stripe API server for tests: see ``tests.fake_stripe.server``."""

from .server import (
    API_VERSION,
    Delivery,
    FakeStripe,
    RecordedRequest,
    StripeError,
    compute_signature,
    parse_params,
    sign,
)

__all__ = [
    "API_VERSION",
    "Delivery",
    "FakeStripe",
    "RecordedRequest",
    "StripeError",
    "compute_signature",
    "parse_params",
    "sign",
]
