"""A small, stateful fake of Stripe's HTTP API for the membership tests.

The stripe SDK (``StripeClient(base_addresses=...)``, or the app with ``STRIPE_API_BASE``) talks
to it over real HTTP on 127.0.0.1, in the wire format of the API version the pinned SDK speaks
(``stripe.api_version``): form-encoded nested parameters checked against the SDK's own
``stripe.params`` definitions, JSON answers, Stripe's error JSON, list objects, ``expand[]``,
idempotency keys. Objects are shaped like Stripe's own examples
(``tests/corpus/stripe/fixtures3.json``) in the 2025+ layouts. It serves plain-HTML stand-ins
for the hosted pages and sends correctly signed webhooks.

It fakes only what the site uses, one module per resource:

- ``customers.py``: create, retrieve.
- ``catalogue.py``: products (create, retrieve, update) and prices (create, list, retrieve,
  update; lookup keys).
- ``checkout.py``: Checkout Sessions (create, list, retrieve) and the hosted Checkout page.
- ``portal.py``: billing portal sessions (create) and the hosted portal page.
- ``subscriptions.py``: subscriptions (retrieve, list, update, cancel) with their renewals, failures and
  ``cancellation_details``; invoices (list, retrieve).
- ``payments.py``: paying invoices, charges (retrieve, list), refunds (create, retrieve, list),
  disputes (retrieve, list), the hosted invoice and receipt pages.
- ``events.py``: building each event, ``GET /v1/events`` (``type``, ``types[]``, ``created``)
  and ``GET /v1/events/{id}``.
- ``server.py``: HTTP, authentication, parameters, errors, the store, lists and ``expand[]``,
  signed webhook delivery.

How tests use it
----------------
Most tests take a fixture from ``tests/conftest.py``: ``fake_stripe`` (webhooks to the live
server) or ``stripe_api`` (no webhooks). Directly::

    with FakeStripe(webhook_url=live_server.url + "/membership/stripe/webhook/",
                    webhook_secret="whsec_test") as fake:
        settings.STRIPE_API_BASE = fake.url          # app: StripeClient(base_addresses=...)
        ...  # drive the app; the browser pays on fake.url + "/checkout/cs_test_…"
        fake.advance_subscription(sub_id)            # renewal: new period, new paid invoice
        fake.fail_renewal(sub_id)                    # past_due + invoice.payment_failed
        fake.fail_final_retry(sub_id)                # canceled, reason payment_failed
        fake.redeliver(event_id)                     # duplicate a delivery
        fake.send_event(event, timestamp=old)        # hand-made / badly signed deliveries

Other helpers: ``complete_checkout``, ``settle_async_payment``, ``expire_checkout_session``,
``create_subscription``, ``require_action_on_renewal``, ``pay_invoice``,
``pause_subscription``, ``resume_subscription``, ``cancel_subscription``,
``set_subscription_status``, ``portal_action``, ``refund``, ``dispute_charge``, ``make_event``.

Webhooks are POSTed in order, signed ``Stripe-Signature: t=…,v1=…`` (one ``v1`` per secret when
given several, as during a rotation): after the HTTP response for API calls (so the app's
request that called Stripe is never blocked by its own webhook; a test that checks what the app
made of them calls ``fake.wait_for_webhooks()`` first, or passes
``deliver_before_response=True``), before the redirect for hosted-page actions (so a browser
that lands on the success page finds the webhook has landed), and before returning for the
helpers. ``FakeStripe(enabled_events=[…])`` delivers only those types, as a Dashboard endpoint
does; ``auto_deliver=False`` queues events until ``deliver_pending()``, for reordering tests;
``now=callable`` sets object timestamps (signatures use the wall clock, like the SDK's tolerance
check); ``api_key=`` accepts only that key. ``fake.requests`` records every request (method,
path, nested params, idempotency key, ``Stripe-Version``), ``fake.events`` every event,
``fake.deliveries`` every webhook POST and the answer; ``fake.get(id)`` and
``fake.objects(kind)`` show any object, internal ones (payment intents, invoice payments)
included.
"""

from .catalogue import Catalogue
from .checkout import Checkout
from .customers import Customers
from .events import Events
from .payments import Payments
from .portal import Portal
from .server import (
    API_VERSION,
    Delivery,
    RecordedRequest,
    StripeError,
    StripeServer,
    compute_signature,
    parse_params,
    sign,
)
from .subscriptions import Subscriptions


class FakeStripe(
    Customers, Catalogue, Checkout, Portal, Subscriptions, Payments, Events, StripeServer
):
    """The fake Stripe: the server with every resource; see the package docstring."""


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
