"""The other end of the wire, for the fake's own tests: a webhook endpoint that records what it
receives, a browser reduced to GET and form POST, and a member's plan and subscription."""

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import stripe

SECRET = "whsec_test_fake"


class Receiver:
    """A tiny webhook endpoint: records raw bodies and signature headers, answers ``status``."""

    def __init__(self):
        self.received: list[tuple[bytes, str | None]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((body, self.headers.get("Stripe-Signature")))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook/"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def events(self, secret=SECRET):
        """Every received delivery, verified as the app would verify it."""
        return [
            stripe.Webhook.construct_event(body, header, secret) for body, header in self.received
        ]

    def types(self):
        return [json.loads(body)["type"] for body, _ in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def get_page(url):
    with opener.open(url, timeout=5) as response:
        return response.status, response.read().decode()


def get_page_status(url):
    try:
        return get_page(url)[0]
    except urllib.error.HTTPError as error:
        return error.code


def post_form(url, **fields):
    """POST a hosted-page form; return (status, Location header or body)."""
    data = urllib.parse.urlencode(fields).encode()
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location") or error.read().decode()


def drain(fake, receiver):
    """Let deliveries of earlier API calls finish (they follow the response), then forget them."""
    fake.wait_for_webhooks()
    receiver.received.clear()


def make_plan(client):
    """A "Membership" product with a monthly (5 EUR) and a yearly (50 EUR) price."""
    product = client.v1.products.create(params={"name": "Membership"})
    monthly = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
            "lookup_key": "member_eur_month",
        }
    )
    yearly = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 5000,
            "recurring": {"interval": "year"},
            "lookup_key": "member_eur_year",
        }
    )
    return product, monthly, yearly


def subscribe(client, fake, price, email="reader@example.com"):
    """A subscription to ``price`` paid through Checkout; returns it as the SDK reads it."""
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer_email": email,
            "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": "http://app.test/ok?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://app.test/cancel",
        }
    )
    fake.complete_checkout(session.id)
    session = client.v1.checkout.sessions.retrieve(session.id)
    return client.v1.subscriptions.retrieve(session.subscription)


def charge_of(fake, invoice_id):
    """The charge that paid an invoice (invoice → invoice payment → payment intent → charge),
    read from the fake's internal objects."""
    [payment] = [p for p in fake.objects("invoice_payment") if p["invoice"] == invoice_id]
    return fake.get(fake.get(payment["payment"]["payment_intent"])["latest_charge"])
