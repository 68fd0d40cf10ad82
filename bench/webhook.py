"""The Stripe webhook under load (bench/load.py): freshly signed events about subscriptions that
exist locally, posted by a small concurrent client, then checked in the database.

Events are `invoice.paid` (each a new invoice: one Payment each) and
`customer.subscription.updated` (a subscription renewed: the membership's period moves on), in
the current (2026) shapes, about the benchmark's members (bench.seed.seed_members). Their
handling needs no Stripe API call. Each is signed just before it is sent, as Stripe does
(`t=<now>,v1=HMAC-SHA256(secret, "<t>.<body>")`), so none is older than the tolerance. One in
twenty deliveries repeats an event already sent, as Stripe's retries do: it must change
nothing.
"""

import http.client
import itertools
import json
import random
import threading
import time
from dataclasses import dataclass, field

# The fake Stripe's signing, Stripe's own scheme (tests/fake_stripe).
from tests.fake_stripe.server import sign as signature

WEBHOOK_PATH = "/membership/stripe/webhook/"
API_VERSION = "2026-10-28.endive"
EVENT_PREFIX = "evt_benchload_"
INVOICE_PREFIX = "in_benchload_"
REPEAT_EVERY = 20


def invoice_paid(invoice_id, subscription_id, customer_id, now):
    return {
        "id": invoice_id,
        "object": "invoice",
        "amount_due": 500,
        "amount_paid": 500,
        "attempt_count": 1,
        "currency": "eur",
        "customer": customer_id,
        "status": "paid",
        "billing_reason": "subscription_cycle",
        "livemode": False,
        "next_payment_attempt": None,
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription_id},
        },
        "status_transitions": {"paid_at": now},
    }


def subscription_updated(subscription_id, customer_id, price_id, now):
    period_end = now + 30 * 86400
    return {
        "id": subscription_id,
        "object": "subscription",
        "customer": customer_id,
        "status": "active",
        "cancel_at_period_end": False,
        "canceled_at": None,
        "ended_at": None,
        "livemode": False,
        "metadata": {},
        "start_date": now - 60 * 86400,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{subscription_id}",
                    "object": "subscription_item",
                    "price": {
                        "id": price_id,
                        "object": "price",
                        "unit_amount": 500,
                        "currency": "eur",
                    },
                    "quantity": 1,
                    "current_period_start": now,
                    "current_period_end": period_end,
                }
            ],
        },
    }


def event(event_id, type_, obj, now):
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": now,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type_,
    }


@dataclass
class Deliveries:
    """Makes the events (thread-safe): new ones, and now and then a repeat of one sent."""

    subscriptions: list
    price_id: str
    # In every id, so that a kept database's earlier runs are told apart.
    run: str = field(default_factory=lambda: str(time.time_ns()))
    rng: random.Random = field(default_factory=lambda: random.Random(14))
    sent: dict = field(default_factory=dict)  # event id → (type, body)
    _numbers: itertools.count = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self):
        with self._lock:
            number = next(self._numbers)
            if number % REPEAT_EVERY == REPEAT_EVERY - 1 and self.sent:
                # A repeat keeps its body (Stripe redelivers the same event), signed anew.
                event_id = self.rng.choice(list(self.sent))
                return event_id, self.sent[event_id][1], True
            subscription_id, customer_id = self.rng.choice(self.subscriptions)
            now = int(time.time())
            event_id = f"{EVENT_PREFIX}{self.run}_{number}"
            if self.rng.random() < 0.7:
                invoice_id = f"{INVOICE_PREFIX}{self.run}_{number}"
                obj = invoice_paid(invoice_id, subscription_id, customer_id, now)
                data = event(event_id, "invoice.paid", obj, now)
            else:
                obj = subscription_updated(subscription_id, customer_id, self.price_id, now)
                data = event(event_id, "customer.subscription.updated", obj, now)
            body = json.dumps(data).encode()
            self.sent[data["id"]] = (data["type"], body)
            return data["id"], body, False


@dataclass
class WebhookRun:
    latencies: list  # seconds, one per delivery
    statuses: dict  # status → count
    seconds: float
    deliveries: Deliveries
    repeats: int
    errors: list

    @property
    def requests(self):
        return len(self.latencies)

    @property
    def non_2xx(self):
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)

    def percentile(self, p):
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def drive(host, port, secret, subscriptions, price_id, *, seconds, concurrency=10):
    """Post signed events with `concurrency` clients for `seconds`."""
    deliveries = Deliveries(subscriptions, price_id)
    latencies, statuses, errors = [], {}, []
    repeats = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        connection = http.client.HTTPConnection(host, port, timeout=30)
        while time.monotonic() < deadline:
            _event_id, body, repeat = deliveries.next()
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": signature(body, secret),
                "X-Forwarded-Proto": "https",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            }
            start = time.perf_counter()
            try:
                connection.request("POST", WEBHOOK_PATH, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()[:60].decode(errors="replace")
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                status, answer = 0, repr(error)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
                repeats[0] += repeat
                if status != 200 or answer not in ("OK", "Already processed."):
                    errors.append(f"{status} {answer}")
        connection.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return WebhookRun(
        latencies, statuses, time.perf_counter() - start, deliveries, repeats[0], errors
    )


def applied_exactly_once(run):
    """Checks in the database that each distinct event was stored once and processed once, and
    that each paid invoice made one Payment: a list of problems, empty when all is well."""
    from members.models import Payment, StripeEvent

    problems = []
    sent = run.deliveries.sent
    token = run.deliveries.run
    events = StripeEvent.objects.filter(stripe_id__startswith=f"{EVENT_PREFIX}{token}_")
    stored = events.count()
    if stored != len(sent):
        problems.append(f"{stored} events stored for {len(sent)} sent")
    unprocessed = events.filter(processed_at__isnull=True).count()
    if unprocessed:
        problems.append(f"{unprocessed} events not processed")
    again = events.exclude(attempts=1).count()
    if again:
        problems.append(f"{again} events processed more or less than once (attempts ≠ 1)")
    failed = events.exclude(last_error="").count()
    if failed:
        problems.append(f"{failed} events recorded an error")
    invoices = sum(1 for type_, _body in sent.values() if type_ == "invoice.paid")
    payments = Payment.objects.filter(stripe_id__startswith=f"{INVOICE_PREFIX}{token}_").count()
    if payments != invoices:
        problems.append(f"{payments} payments for {invoices} paid invoices")
    return problems
