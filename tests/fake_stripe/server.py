"""A small, stateful fake of Stripe's HTTP API for the membership tests.

What it fakes
-------------
The part of Stripe's v1 API the project calls, in the wire format of the API version the pinned
stripe SDK speaks (``stripe.api_version``, 2026-10-28.endive): form-encoded requests with nested
``a[b][0][c]=`` keys, JSON responses, Stripe's error JSON (``{"error": {"type", "code",
"message", "param"}}`` with 400/401/404), list objects and ``expand[]``, and idempotency keys.
Objects are shaped like Stripe's own examples (``tests/corpus/stripe/fixtures3.json``) and the
2025+ layouts: billing periods live on subscription items (``current_period_start``/``_end``), an
invoice names its subscription under ``parent.subscription_details.subscription`` and its lines
name their price under ``pricing.price_details.price``; an invoice's top-level ``subscription`` is
null (as in fixtures3.json) and it has no ``charge`` or ``payment_intent``
(``/v1/invoice_payments`` links an invoice to its payment intent).

Resources: customers, products, prices (lookup keys), Checkout Sessions (subscription and payment
mode, ``price_data``), billing portal sessions, subscriptions and subscription items, invoices and
invoice payments, payment intents, charges, refunds, disputes (created by a helper), payment
methods (read only) and events. Search endpoints understand the simple
``field:'value' AND metadata['k']:'v'`` subset of Stripe's query language.

Parameter names are checked against the SDK's own ``stripe.params`` TypedDicts, at every nesting
level, so an unknown parameter gets Stripe's ``parameter_unknown`` 400 exactly as the real API
would answer; parameters that exist but that the fake does not model are accepted and ignored.

Hosted pages (plain HTML forms, no JavaScript) stand in for Stripe's: ``/checkout/<cs_id>``
("Pay" completes the session and redirects 303 to ``success_url`` with ``{CHECKOUT_SESSION_ID}``
substituted, "Cancel" redirects to ``cancel_url``), ``/portal/<bps_id>`` ("Cancel at period end",
"Renew", "Cancel now", "Switch to …" another active price of the same product and currency,
"Return"), ``/invoice/<in_id>`` ("Pay invoice" for an open invoice) and ``/receipts/<ch_id>``.

Every state change creates the events Stripe would send (``customer.created``,
``customer.subscription.created/updated/deleted/paused/resumed``, ``invoice.created/finalized/paid/
payment_succeeded/payment_failed/payment_action_required``, ``invoice_payment.paid``,
``payment_intent.*``, ``charge.succeeded/failed/refunded``, ``refund.created``,
``charge.dispute.created``, ``checkout.session.completed/expired/async_payment_*``, ``product.*``,
``price.*``, ``billing_portal.session.created``). When ``webhook_url`` is set each event is POSTed
there, pretty-printed as Stripe does, with a ``Stripe-Signature: t=…,v1=…`` header
(HMAC-SHA256 of ``f"{t}.{body}"``; one ``v1`` per secret when given several, as during a secret
rotation). Deliveries are synchronous and in order: after the HTTP response for API calls (so the
app's request that called Stripe is never blocked by its own webhook), before the redirect for
hosted-page actions (so a browser that lands on the success page knows the webhook has landed),
and before returning for the helper methods.

How tests use it
----------------
::

    with FakeStripe(webhook_url=live_server.url + "/membership/stripe/webhook/",
                    webhook_secret="whsec_test") as fake:
        settings.STRIPE_API_BASE = fake.url          # app: StripeClient(base_addresses=...)
        ...  # drive the app; the browser pays on fake.url + "/checkout/cs_test_…"
        fake.advance_subscription(sub_id)            # renewal: new period, new paid invoice
        fake.advance_subscription(sub_id, outcome="failed")   # past_due + invoice.payment_failed
        fake.redeliver(event_id)                     # duplicate a delivery
        fake.send_event(event, timestamp=old)        # hand-made / badly signed deliveries

API-call events are delivered after the HTTP response, so a test that checks what the app made of
them calls ``fake.wait_for_webhooks()`` first (``deliver_before_response=True`` delivers them
before answering instead; beware an app request that holds row locks while calling Stripe).
``fake.requests`` records every request (method, path, nested params, idempotency key,
``Stripe-Version``), ``fake.events`` every event, ``fake.deliveries`` every webhook POST and the
app's status code. ``FakeStripe(now=callable)`` controls object timestamps (the signature
timestamp uses the wall clock, like the SDK's tolerance check). ``FakeStripe(auto_deliver=False)``
queues events until ``deliver_pending()``, for reordering tests.
"""

from __future__ import annotations

import base64
import calendar
import copy
import datetime
import fnmatch
import functools
import hashlib
import hmac
import json
import re
import secrets
import string
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import stripe

from . import pages

API_VERSION = stripe.api_version
_ALNUM = string.ascii_letters + string.digits
_REQUEST_OPTION_KEYS = frozenset(
    {
        "api_key",
        "stripe_version",
        "stripe_account",
        "stripe_context",
        "max_network_retries",
        "idempotency_key",
        "content_type",
        "headers",
    }
)
# Id prefix → object type, longest prefixes first.
_PREFIXES = [
    ("cs_test_", "checkout.session"),
    ("cs_live_", "checkout.session"),
    ("inpay_", "invoice_payment"),
    ("price_", "price"),
    ("prod_", "product"),
    ("cus_", "customer"),
    ("bps_", "billing_portal.session"),
    ("sub_", "subscription"),
    ("evt_", "event"),
    ("si_", "subscription_item"),
    ("in_", "invoice"),
    ("ch_", "charge"),
    ("pi_", "payment_intent"),
    ("pm_", "payment_method"),
    ("re_", "refund"),
    ("dp_", "dispute"),
]
_DAY = 86400


def _rand(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


# --------------------------------------------------------------------------------------------
# Signatures


def compute_signature(payload: bytes | str, secret: str, timestamp: int) -> str:
    """The hex ``v1`` signature Stripe computes: HMAC-SHA256(secret, f"{timestamp}.{payload}")."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    signed = f"{int(timestamp)}.{payload}".encode()
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(payload: bytes | str, secret: str | Iterable[str], timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value, ``t=<timestamp>,v1=<hex>`` (one ``v1`` per secret)."""
    if timestamp is None:
        timestamp = int(time.time())
    secrets_ = [secret] if isinstance(secret, str) else list(secret)
    parts = [f"t={int(timestamp)}"]
    parts += [f"v1={compute_signature(payload, s, timestamp)}" for s in secrets_]
    return ",".join(parts)


# --------------------------------------------------------------------------------------------
# Request parsing and parameter checks


def parse_params(pairs: Iterable[tuple[str, str]] | str) -> dict:
    """Turn form pairs (``a[b][0][c]=x``, ``a[]=x``) into nested dicts and lists of strings."""
    if isinstance(pairs, str):
        pairs = urllib.parse.parse_qsl(pairs, keep_blank_values=True)
    root: dict = {}
    for key, value in pairs:
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))] if match else [key]
        node = root
        for i, part in enumerate(parts):
            if part == "":
                part = str(len(node))
            if i == len(parts) - 1:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
    return _listify(root)


def _listify(node):
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


@functools.cache
def _params_class(name: str | None):
    if not name:
        return None
    obj: Any = stripe.params
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


@functools.cache
def _param_fields(cls) -> dict[str, Any]:
    """Field name → nested TypedDict class (or None for scalars and free-form maps)."""
    module = sys.modules[cls.__module__]
    fields = {}
    for name, annotation in cls.__annotations__.items():
        if name in _REQUEST_OPTION_KEYS:
            continue
        text = str(annotation)
        nested = None
        if "Dict[str" not in text:
            names = [
                n
                for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
                if n.startswith(cls.__name__.split("Params")[0]) and "Params" in n
            ]
            candidates = {getattr(module, n, None) for n in names} - {None}
            if len(candidates) == 1:
                nested = candidates.pop()
        fields[name] = nested
    return fields


def _check_params(params: dict, cls, prefix: str = "") -> None:
    if cls is None:
        return
    fields = _param_fields(cls)
    for key, value in params.items():
        path = f"{prefix}[{key}]" if prefix else key
        if key not in fields:
            raise StripeError(
                400, f"Received unknown parameter: {path}", code="parameter_unknown", param=path
            )
        nested = fields[key]
        if nested is None:
            continue
        if isinstance(value, dict):
            _check_params(value, nested, path)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    _check_params(item, nested, f"{path}[{i}]")


# --------------------------------------------------------------------------------------------
# Errors and records


class StripeError(Exception):
    """An error answered with Stripe's error JSON."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = (
            status,
            message,
            type,
            code,
            param,
        )

    def body(self) -> dict:
        error: dict[str, Any] = {}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        error["message"] = self.message
        if self.param:
            error["param"] = self.param
        error["type"] = self.type
        return {"error": error}


def _missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def _invalid(param: str, message: str, code: str | None = None) -> StripeError:
    return StripeError(400, message, code=code, param=param)


def _pname(prefix: str, *keys: str) -> str:
    """``_pname("line_items[0][price_data]", "recurring", "interval")`` →
    ``line_items[0][price_data][recurring][interval]``; with no prefix the first key leads."""
    if not prefix:
        prefix, keys = keys[0], keys[1:]
    return prefix + "".join(f"[{k}]" for k in keys)


class _NotFound(Exception):
    pass


def _required(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


@dataclass
class RecordedRequest:
    """One request the fake received (API or hosted page)."""

    method: str
    path: str
    params: dict
    idempotency_key: str | None
    stripe_version: str | None
    api_key: str | None = None
    query: str = ""
    status: int | None = None
    response: Any = None
    replayed: bool = False
    request_id: str | None = None


@dataclass
class Delivery:
    """One webhook POST and what the receiving end answered (``status`` None: no connection)."""

    event_id: str | None
    event_type: str | None
    url: str
    status: int | None
    body: str = ""
    error: str | None = None
    signature: str | None = None
    at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Stripe does not follow redirects from webhook endpoints: a 3xx is a failed delivery.
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


# --------------------------------------------------------------------------------------------
# Small helpers on values


def _int(value, param: str, *, minimum: int | None = 0, maximum: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _invalid(param, f"Invalid integer: {value}", "parameter_invalid_integer") from None
    if minimum is not None and number < minimum:
        raise _invalid(
            param,
            f"This value must be greater than or equal to {minimum}.",
            "parameter_invalid_integer",
        )
    if maximum is not None and number > maximum:
        raise _invalid(
            param,
            f"This value must be less than or equal to {maximum}.",
            "parameter_invalid_integer",
        )
    return number


def _bool(value, param: str) -> bool:
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise _invalid(param, f"Invalid boolean: {value}")


def _url(value, param: str) -> str:
    parsed = urllib.parse.urlsplit(str(value).replace("{CHECKOUT_SESSION_ID}", "x"))
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(value) > 5000:
        raise _invalid(param, "Not a valid URL", "url_invalid")
    return value


def _email(value, param: str) -> str:
    if (
        not isinstance(value, str)
        or len(value) > 512
        or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value)
    ):
        raise _invalid(param, f"Invalid email address: {value}", "email_invalid")
    return value


def _currency(value, param: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise _invalid(param, f"Invalid currency: {value}.")
    return value.lower()


def _nullable(value):
    return None if value == "" else value


def _apply_metadata(current: dict | None, update, param: str = "metadata") -> dict:
    result = dict(current or {})
    if update in ("", None):
        return {} if update == "" else result
    if not isinstance(update, dict):
        raise _invalid(param, "Invalid object")
    for key, value in update.items():
        if len(key) > 40:
            raise _invalid(f"{param}[{key}]", "Metadata keys can have up to 40 characters.")
        if not isinstance(value, str):
            raise _invalid(f"{param}[{key}]", "Invalid metadata value")
        if len(value) > 500:
            raise _invalid(f"{param}[{key}]", "Metadata values can have up to 500 characters.")
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    if len(result) > 50:
        raise _invalid(param, "Metadata can have up to 50 keys.")
    return result


def _add_interval(ts: int, interval: str, count: int = 1) -> int:
    if interval == "day":
        return ts + count * _DAY
    if interval == "week":
        return ts + count * 7 * _DAY
    months = count * (12 if interval == "year" else 1)
    start = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def _diff(before, after):
    """Stripe's ``previous_attributes``: the old values of what changed (dicts recursively)."""
    out = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and key != "metadata":
            out[key] = _diff(old, new)
        else:
            out[key] = old
    for key in after.keys() - before.keys():
        out[key] = None
    return out


# --------------------------------------------------------------------------------------------
# The fake


class FakeStripe:
    """A fake Stripe API on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        webhook_url: str | None = None,
        webhook_secret: str | Iterable[str] = "whsec_test",
        livemode: bool = False,
        *,
        now: Callable[[], Any] | None = None,
        api_key: str | None = None,
        auto_deliver: bool = True,
        enabled_events: Iterable[str] = ("*",),
        webhook_timeout: float = 10.0,
        account_name: str = "Fake Newsroom",
        deliver_before_response: bool = False,
    ):
        self.webhook_url = webhook_url
        if isinstance(webhook_secret, str) and "," in webhook_secret:
            # The app's STRIPE_WEBHOOK_SECRET format during a rotation: sign with each.
            webhook_secret = [part.strip() for part in webhook_secret.split(",") if part.strip()]
        self.webhook_secret = webhook_secret
        self.livemode = livemode
        self.api_key = api_key
        self.auto_deliver = auto_deliver
        self.enabled_events = tuple(enabled_events)
        self.webhook_timeout = webhook_timeout
        self.account_name = account_name
        self.deliver_before_response = deliver_before_response
        self._clock = now
        self._lock = threading.RLock()
        self._cv = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self._init_state()

    def _init_state(self) -> None:
        self._objects: dict[str, dict] = {}
        self._order: dict[str, int] = {}
        self._seq = 0
        self._si_index: dict[str, str] = {}
        self._idempotency: dict[tuple, tuple] = {}
        self._payloads: dict[str, bytes] = {}
        self._pending: list[str] = []
        self._queued = 0  # events ever queued for delivery
        self._delivered = 0  # of those, how many were handed to _deliver
        self._flushing = False
        self._context: tuple[str | None, str | None] = (None, None)
        self.requests: list[RecordedRequest] = []
        self.events: list[dict] = []
        self.deliveries: list[Delivery] = []
        self.portal_configuration = "bpc_" + _rand(24)

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> str:
        """Bind 127.0.0.1 on a free port, serve in a background thread, return the base URL."""
        if self._server is not None:
            return self.url
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-stripe",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeStripe:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every object, event, request and delivery (the server keeps running)."""
        self.wait_for_webhooks()
        with self._lock:
            self._init_state()

    @property
    def base_addresses(self) -> dict[str, str]:
        """What to pass to ``StripeClient(base_addresses=...)``."""
        return {"api": self.url, "connect": self.url, "files": self.url}

    def settings_overrides(self) -> dict[str, str]:
        """Django settings that point the app at this fake (for ``override_settings``)."""
        secret = self.webhook_secret
        return {
            "STRIPE_API_BASE": self.url,
            "STRIPE_SECRET_KEY": self.api_key
            or ("sk_live_" if self.livemode else "sk_test_") + "fake",
            "STRIPE_WEBHOOK_SECRET": secret if isinstance(secret, str) else ",".join(secret),
        }

    def client(self, api_key: str | None = None) -> stripe.StripeClient:
        """A real SDK client pointed at the fake, without retries."""
        key = api_key or self.api_key or ("sk_live_" if self.livemode else "sk_test_") + "fake"
        return stripe.StripeClient(key, base_addresses=self.base_addresses, max_network_retries=0)

    # ---- clock and ids -------------------------------------------------------------------

    def now(self) -> int:
        if self._clock is None:
            return int(time.time())
        value = self._clock()
        if isinstance(value, datetime.datetime):
            return int(value.timestamp())
        return int(value)

    def _new_id(self, prefix: str, length: int = 24) -> str:
        if prefix == "cs_":
            return ("cs_live_" if self.livemode else "cs_test_") + "a1" + _rand(56)
        return prefix + _rand(length)

    def _store(self, obj: dict) -> dict:
        self._seq += 1
        self._objects[obj["id"]] = obj
        self._order[obj["id"]] = self._seq
        return obj

    def _kind_of(self, object_id: str) -> str | None:
        for prefix, kind in _PREFIXES:
            if object_id.startswith(prefix):
                return kind
        return None

    def _get(self, kind: str, object_id, param: str = "id") -> dict:
        if not isinstance(object_id, str) or not object_id:
            raise _invalid(param, f"Invalid {kind} id: {object_id!r}")
        obj = self._objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise _missing(kind, object_id, param)
        return obj

    def _all(self, kind: str) -> list[dict]:
        found = [o for o in self._objects.values() if o["object"] == kind and not o.get("_deleted")]
        return sorted(found, key=lambda o: self._order[o["id"]], reverse=True)

    # ---- presentation --------------------------------------------------------------------

    def _present(self, obj: dict) -> dict:
        """A deep copy as the API shows it: internal keys dropped, embedded prices current."""
        if obj.get("_deleted"):
            return {"id": obj["id"], "object": obj["object"], "deleted": True}
        out = {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}
        if out["object"] == "subscription":
            for item in out["items"]["data"]:
                price = self._objects[item["price"]]
                item["price"] = self._present(price)
                item["plan"] = self._plan(price)
        return out

    def _plan(self, price: dict) -> dict:
        recurring = price["recurring"] or {}
        return {
            "id": price["id"],
            "object": "plan",
            "active": price["active"],
            "amount": price["unit_amount"],
            "amount_decimal": price["unit_amount_decimal"],
            "billing_scheme": "per_unit",
            "created": price["created"],
            "currency": price["currency"],
            "interval": recurring.get("interval"),
            "interval_count": recurring.get("interval_count"),
            "livemode": price["livemode"],
            "metadata": dict(price["metadata"]),
            "meter": None,
            "nickname": price["nickname"],
            "product": price["product"],
            "tiers_mode": None,
            "transform_usage": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }

    def _session_items(self, session: dict) -> list[dict]:
        items = []
        for item in session["_line_items"]:
            item = copy.deepcopy(item)
            item["price"] = self._present(self._objects[item["price"]])
            items.append(item)
        return items

    def _includable(self, obj: dict, key: str):
        kind = obj.get("object")
        if kind == "checkout.session" and key == "line_items":
            return self._list_object(
                f"/v1/checkout/sessions/{obj['id']}/line_items",
                self._session_items(self._objects[obj["id"]]),
            )
        if kind == "invoice" and key == "payments":
            payments = [
                self._present(p) for p in self._all("invoice_payment") if p["invoice"] == obj["id"]
            ]
            return self._list_object(f"/v1/invoice_payments?invoice={obj['id']}", payments)
        if kind == "customer" and key == "subscriptions":
            subs = [
                self._present(s)
                for s in self._all("subscription")
                if s["customer"] == obj["id"] and s["status"] != "canceled"
            ]
            return self._list_object(f"/v1/customers/{obj['id']}/subscriptions", subs)
        raise _invalid("expand", f"This property cannot be expanded ({key}).")

    def _expand(self, obj: dict, paths) -> dict:
        if paths in (None, ""):
            return obj
        if isinstance(paths, str):
            paths = [paths]
        for path in paths:
            self._expand_path(obj, path.split("."), path)
        return obj

    def _expand_path(self, node, parts: list[str], full: str) -> None:
        if not parts or node is None:
            return
        if isinstance(node, list):
            for element in node:
                self._expand_path(element, parts, full)
            return
        if not isinstance(node, dict):
            return
        key, rest = parts[0], parts[1:]
        if key not in node:
            node[key] = self._includable(node, key)
        value = node[key]
        if isinstance(value, str):
            target = self._objects.get(value)
            if target is None or self._kind_of(value) is None:
                raise _invalid("expand", f"This property cannot be expanded ({key}).")
            value = node[key] = self._present(target)
        elif isinstance(value, list) and not rest:
            node[key] = [
                self._present(self._objects[v]) if isinstance(v, str) and v in self._objects else v
                for v in value
            ]
            return
        elif value is not None and not isinstance(value, (dict, list)):
            raise _invalid("expand", f"This property cannot be expanded ({key}).")
        self._expand_path(value, rest, full)

    def _list_object(self, url: str, data: list[dict], *, has_more: bool = False) -> dict:
        return {"object": "list", "data": data, "has_more": has_more, "url": url}

    def _paginate(self, url: str, objs: list[dict], p: dict) -> dict:
        limit = _int(p.get("limit", 10), "limit", minimum=1, maximum=100)
        ids = [o["id"] for o in objs]
        if p.get("starting_after"):
            if p["starting_after"] not in ids:
                raise _missing(
                    self._kind_of(p["starting_after"]) or "object",
                    p["starting_after"],
                    "starting_after",
                )
            objs = objs[ids.index(p["starting_after"]) + 1 :]
        elif p.get("ending_before"):
            if p["ending_before"] not in ids:
                raise _missing(
                    self._kind_of(p["ending_before"]) or "object",
                    p["ending_before"],
                    "ending_before",
                )
            objs = objs[: ids.index(p["ending_before"])][-limit:]
        page = objs[:limit]
        result = self._list_object(
            url, [self._present(o) for o in page], has_more=len(objs) > limit
        )
        return self._expand(result, p.get("expand"))

    def _search_result(self, url: str, objs: list[dict], p: dict) -> dict:
        query = p.get("query")
        if not query:
            raise _required("query")
        matched = [o for o in objs if _matches_query(self._present(o), query)]
        limit = _int(p.get("limit", 10), "limit", minimum=1, maximum=100)
        result = {
            "object": "search_result",
            "data": [self._present(o) for o in matched[:limit]],
            "has_more": len(matched) > limit,
            "next_page": None,
            "url": url,
        }
        return self._expand(result, p.get("expand"))

    # ---- events --------------------------------------------------------------------------

    def make_event(
        self,
        type: str,
        obj: dict,
        previous_attributes: dict | None = None,
        *,
        livemode: bool | None = None,
        created: int | None = None,
    ) -> dict:
        """An event dict in the current layout (not stored, not delivered): for tests that
        hand-craft deliveries with ``send_event``."""
        event = {
            "id": "evt_" + _rand(24),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now() if created is None else created,
            "data": {"object": copy.deepcopy(obj)},
            "livemode": self.livemode if livemode is None else livemode,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }
        if previous_attributes is not None:
            event["data"]["previous_attributes"] = copy.deepcopy(previous_attributes)
        return event

    def _wants(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in self.enabled_events)

    def _emit(self, type: str, obj: dict, previous: dict | None = None) -> dict:
        deliver = bool(self.webhook_url) and self._wants(type)
        request_id, idempotency_key = self._context
        event = {
            "id": self._new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": {"object": self._present(obj)},
            "livemode": self.livemode,
            "pending_webhooks": 1 if deliver else 0,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": type,
        }
        if previous:
            event["data"]["previous_attributes"] = previous
        self._store(event)
        self.events.append(event)
        self._payloads[event["id"]] = json.dumps(event, indent=2).encode()
        if deliver:
            self._pending.append(event["id"])
            self._queued += 1
        return event

    def _emit_update(self, type: str, obj: dict, before: dict) -> dict | None:
        previous = _diff(before, self._present(obj))
        if not previous:
            return None
        return self._emit(type, obj, previous)

    # ---- webhook delivery ----------------------------------------------------------------

    def _flush(self, upto: int | None = None, timeout: float = 30.0) -> None:
        """Deliver queued events in order. ``upto``: return once that many have been handed
        over even if another thread is still delivering (it will deliver ours too)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._flushing:
                if upto is not None and self._delivered >= upto:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._cv.wait(remaining)
            self._flushing = True
        try:
            while True:
                with self._lock:
                    if not self._pending:
                        break
                    event_id = self._pending.pop(0)
                    url = self.webhook_url
                self._deliver(event_id, url)
                with self._cv:
                    self._delivered += 1
                    self._cv.notify_all()
        finally:
            with self._cv:
                self._flushing = False
                self._cv.notify_all()

    def _deliver(
        self,
        event_id: str,
        url: str | None,
        *,
        signature: str | None = None,
        timestamp: int | None = None,
        secret=None,
        omit_signature: bool = False,
        payload: bytes | None = None,
    ) -> Delivery:
        payload = self._payloads[event_id] if payload is None else payload
        try:
            event = json.loads(payload)
            event_type = event.get("type")
        except ValueError:
            event_type = None
        if omit_signature:
            header = None
        elif signature is not None:
            header = signature
        else:
            header = sign(payload, secret or self.webhook_secret, timestamp)
        delivery = self._post(url, payload, header, event_id, event_type)
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    def _post(self, url, payload, header, event_id, event_type) -> Delivery:
        if not url:
            return Delivery(event_id, event_type, "", None, error="no webhook_url")
        request = urllib.request.Request(url, data=payload, method="POST")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        request.add_header("Accept", "*/*; q=0.5, application/xml")
        request.add_header("Cache-Control", "no-cache")
        if header is not None:
            request.add_header("Stripe-Signature", header)
        try:
            with _OPENER.open(request, timeout=self.webhook_timeout) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except OSError as error:
            return Delivery(event_id, event_type, url, None, error=str(error), signature=header)
        return Delivery(
            event_id,
            event_type,
            url,
            status,
            body.decode("utf-8", "replace")[:2000],
            signature=header,
        )

    def deliver_pending(self) -> list[Delivery]:
        """Deliver every queued event now, in order (with ``auto_deliver=False``)."""
        start = len(self.deliveries)
        self._flush()
        return self.deliveries[start:]

    def pending_events(self) -> list[dict]:
        with self._lock:
            return [self._objects[i] for i in self._pending]

    def wait_for_webhooks(self, timeout: float = 30.0) -> None:
        """Wait until automatic deliveries in progress (or queued, with auto_deliver) are done."""
        if self.auto_deliver:
            self._flush(timeout=timeout)
            return
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._flushing and time.monotonic() < deadline:
                self._cv.wait(deadline - time.monotonic())

    def redeliver(self, event_id: str, **kwargs) -> Delivery:
        """POST a stored event again, byte for byte (as Stripe's retries do). Keyword arguments
        as for ``send_event`` (``signature``, ``timestamp``, ``secret``, ``url``...)."""
        if event_id not in self._payloads:
            raise KeyError(event_id)
        url = kwargs.pop("url", None) or self.webhook_url
        return self._deliver(event_id, url, **kwargs)

    def send_event(
        self,
        event: dict | bytes | str,
        *,
        signature: str | None = None,
        timestamp: int | None = None,
        secret=None,
        omit_signature: bool = False,
        url: str | None = None,
    ) -> Delivery:
        """POST any event (a dict, serialised like Stripe, or raw bytes sent as they are).
        ``signature`` replaces the whole ``Stripe-Signature`` header; ``timestamp`` signs with
        another time (e.g. ten minutes ago); ``secret`` signs with another secret;
        ``omit_signature`` sends no header."""
        if isinstance(event, dict):
            payload = json.dumps(event, indent=2).encode()
            event_id = event.get("id")
        else:
            payload = event.encode() if isinstance(event, str) else event
            event_id = None
        return self._deliver(
            event_id,
            url or self.webhook_url,
            signature=signature,
            timestamp=timestamp,
            secret=secret,
            omit_signature=omit_signature,
            payload=payload,
        )

    def retry_failed(self) -> list[Delivery]:
        """Redeliver every event whose latest delivery failed (Stripe's automatic retry)."""
        latest: dict[str, Delivery] = {}
        for delivery in self.deliveries:
            if delivery.event_id in self._payloads:
                latest[delivery.event_id] = delivery
        return [self.redeliver(e) for e, d in latest.items() if not d.ok]

    # ---- public reads --------------------------------------------------------------------

    def get(self, object_id: str) -> dict:
        """The current state of any object, as the API would show it."""
        with self._lock:
            return self._present(self._objects[object_id])

    def objects(self, kind: str) -> list[dict]:
        """All live objects of a type (``"customer"``, ``"subscription"``…), newest first."""
        with self._lock:
            return [self._present(o) for o in self._all(kind)]

    def api_requests(
        self, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded ``/v1/`` requests, optionally filtered (``path`` may use ``*`` wildcards)."""
        return [
            r
            for r in self.requests
            if r.path.startswith("/v1/")
            and (method is None or r.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(r.path, path))
        ]

    def events_of(self, *types: str) -> list[dict]:
        return [e for e in self.events if not types or e["type"] in types]

    # ---- HTTP entry points ---------------------------------------------------------------

    def _authenticate(self, headers) -> str:
        auth = headers.get("Authorization", "")
        key = None
        if auth.startswith("Bearer "):
            key = auth[7:].strip()
        elif auth.startswith("Basic "):
            try:
                key = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = None
        if not key:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.",
            )
        mode = "live" if self.livemode else "test"
        valid = key.startswith((f"sk_{mode}_", f"rk_{mode}_")) and len(key) > 8
        if self.api_key is not None:
            valid = key == self.api_key
        if not valid:
            shown = key[: key.find("_", 3) + 1] + "*" * 12 + key[-4:]
            raise StripeError(401, f"Invalid API Key provided: {shown}")
        return key

    def _handle_api(self, method: str, path: str, query: str, body: bytes, headers):
        raw = query if method in ("GET", "DELETE") else body.decode("utf-8", "replace")
        params = parse_params(raw)
        if method == "POST" and query:
            params = {**parse_params(query), **params}
        idempotency_key = headers.get("Idempotency-Key") if method == "POST" else None
        record = RecordedRequest(
            method,
            path,
            params,
            headers.get("Idempotency-Key"),
            headers.get("Stripe-Version"),
            query=query,
            request_id="req_" + _rand(14),
        )
        extra_headers = {"Request-Id": record.request_id}
        with self._lock:
            self.requests.append(record)
            try:
                record.api_key = self._authenticate(headers)
                handler, kwargs, params_class = self._route(method, path)
                fingerprint = json.dumps([method, path, params], sort_keys=True)
                cache_key = (record.api_key, idempotency_key)
                cached = self._idempotency.get(cache_key) if idempotency_key else None
                if cached is not None:
                    if cached[0] != fingerprint:
                        raise StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other than "
                            f"'{idempotency_key}' if you meant to execute a different request.",
                            type="idempotency_error",
                        )
                    status, payload = cached[1], cached[2]
                    record.replayed = True
                    extra_headers["Idempotent-Replayed"] = "true"
                    extra_headers["Original-Request"] = cached[3]
                else:
                    _check_params(params, _params_class(params_class))
                    self._context = (record.request_id, idempotency_key)
                    try:
                        payload = handler(params, **kwargs)
                    finally:
                        self._context = (None, None)
                    status = 200
                    if idempotency_key:
                        self._idempotency[cache_key] = (
                            fingerprint,
                            status,
                            payload,
                            record.request_id,
                        )
            except StripeError as error:
                status, payload = error.status, error.body()
            record.status, record.response = status, payload
            upto = self._queued
        if idempotency_key:
            extra_headers["Idempotency-Key"] = idempotency_key
        return status, payload, extra_headers, upto

    def _route(self, method: str, path: str):
        for route_method, pattern, name, params_class in _ROUTES:
            if route_method != method:
                continue
            match = re.fullmatch(pattern, path)
            if match:
                return getattr(self, name), match.groupdict(), params_class
        raise StripeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
            code="resource_missing",
        )

    # ==== API: customers ==================================================================

    def _customer_fields(self, customer: dict, p: dict) -> None:
        for key in ("name", "description", "phone"):
            if key in p:
                customer[key] = _nullable(p[key])
        if "email" in p:
            customer["email"] = _email(p["email"], "email") if p["email"] != "" else None
        if "preferred_locales" in p:
            customer["preferred_locales"] = list(p["preferred_locales"] or [])
        if "address" in p:
            address = p["address"]
            customer["address"] = (
                None
                if address == ""
                else {
                    k: address.get(k)
                    for k in ("city", "country", "line1", "line2", "postal_code", "state")
                }
            )
        if "metadata" in p:
            customer["metadata"] = _apply_metadata(customer["metadata"], p["metadata"])
        settings = p.get("invoice_settings")
        if isinstance(settings, dict) and "default_payment_method" in settings:
            pm = _nullable(settings["default_payment_method"])
            if pm is not None:
                self._get("payment_method", pm, "invoice_settings[default_payment_method]")
            customer["invoice_settings"]["default_payment_method"] = pm

    def _new_customer(self, p: dict) -> dict:
        customer = {
            "id": self._new_id("cus_", 14),
            "object": "customer",
            "address": None,
            "balance": 0,
            "business_name": None,
            "created": self.now(),
            "currency": None,
            "customer_account": None,
            "default_source": None,
            "delinquent": False,
            "description": None,
            "discount": None,
            "email": None,
            "individual_name": None,
            "invoice_prefix": secrets.token_hex(4).upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": self.livemode,
            "metadata": {},
            "name": None,
            "next_invoice_sequence": 1,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
        self._customer_fields(customer, p)
        self._store(customer)
        self._emit("customer.created", customer)
        return customer

    def _api_customer_create(self, p):
        return self._expand(self._present(self._new_customer(p)), p.get("expand"))

    def _api_customer_retrieve(self, p, id):
        obj = self._objects.get(id)
        if obj is None or obj["object"] != "customer":
            raise _missing("customer", id)
        return self._expand(self._present(obj), None if obj.get("_deleted") else p.get("expand"))

    def _api_customer_update(self, p, id):
        customer = self._get("customer", id)
        if customer.get("_deleted"):
            raise _missing("customer", id)
        before = self._present(customer)
        self._customer_fields(customer, p)
        self._emit_update("customer.updated", customer, before)
        return self._expand(self._present(customer), p.get("expand"))

    def _api_customer_delete(self, p, id):
        customer = self._get("customer", id)
        if customer.get("_deleted"):
            raise _missing("customer", id)
        for sub in self._all("subscription"):
            if sub["customer"] == id and sub["status"] not in ("canceled", "incomplete_expired"):
                self._cancel_subscription(sub)
        snapshot = self._present(customer)
        customer["_deleted"] = True
        self._emit("customer.deleted", snapshot)
        return self._present(customer)

    def _api_customer_list(self, p):
        objs = self._all("customer")
        if "email" in p:
            objs = [c for c in objs if c["email"] == p["email"]]
        return self._paginate("/v1/customers", objs, p)

    def _api_customer_search(self, p):
        return self._search_result("/v1/customers/search", self._all("customer"), p)

    # ==== API: products ===================================================================

    def _new_product(self, p: dict, param_prefix: str = "") -> dict:
        if not p.get("name"):
            raise _required(_pname(param_prefix, "name"))
        now = self.now()
        product_id = p.get("id") or self._new_id("prod_", 14)
        if product_id in self._objects:
            raise _invalid("id", f"Product already exists: {product_id}", "resource_already_exists")
        product = {
            "id": product_id,
            "object": "product",
            "active": _bool(p.get("active", "true"), "active"),
            "created": now,
            "default_price": None,
            "description": _nullable(p.get("description")),
            "images": list(p.get("images") or []),
            "livemode": self.livemode,
            "marketing_features": [],
            "metadata": _apply_metadata({}, p.get("metadata")),
            "name": p["name"],
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": _nullable(p.get("statement_descriptor")),
            "tax_code": _nullable(p.get("tax_code")),
            "type": "service",
            "unit_label": _nullable(p.get("unit_label")),
            "updated": now,
            "url": _nullable(p.get("url")),
        }
        self._store(product)
        self._emit("product.created", product)
        return product

    def _api_product_create(self, p):
        product = self._new_product(p)
        if isinstance(p.get("default_price_data"), dict):
            data = {**p["default_price_data"], "product": product["id"]}
            price = self._new_price(data, "default_price_data")
            before = self._present(product)
            product["default_price"] = price["id"]
            self._emit_update("product.updated", product, before)
        return self._expand(self._present(product), p.get("expand"))

    def _api_product_retrieve(self, p, id):
        return self._expand(self._present(self._get("product", id)), p.get("expand"))

    def _api_product_update(self, p, id):
        product = self._get("product", id)
        before = self._present(product)
        for key in ("name", "description", "statement_descriptor", "tax_code", "unit_label", "url"):
            if key in p:
                if key == "name" and not p[key]:
                    raise _invalid("name", "You must provide a name.")
                product[key] = _nullable(p[key])
        if "active" in p:
            product["active"] = _bool(p["active"], "active")
        if "metadata" in p:
            product["metadata"] = _apply_metadata(product["metadata"], p["metadata"])
        if "default_price" in p:
            price_id = _nullable(p["default_price"])
            if price_id is not None:
                price = self._get("price", price_id, "default_price")
                if price["product"] != id:
                    raise _invalid("default_price", "The price must belong to this product.")
            product["default_price"] = price_id
        if _diff(before, self._present(product)):
            product["updated"] = self.now()
        self._emit_update("product.updated", product, before)
        return self._expand(self._present(product), p.get("expand"))

    def _api_product_delete(self, p, id):
        product = self._get("product", id)
        if any(price["product"] == id for price in self._all("price")):
            raise _invalid(
                "id",
                "This product cannot be deleted because it has one or more user-created prices.",
            )
        snapshot = self._present(product)
        del self._objects[id]
        self._emit("product.deleted", snapshot)
        return {"id": id, "object": "product", "deleted": True}

    def _api_product_list(self, p):
        objs = self._all("product")
        if "active" in p:
            active = _bool(p["active"], "active")
            objs = [o for o in objs if o["active"] == active]
        if "ids" in p:
            objs = [o for o in objs if o["id"] in p["ids"]]
        return self._paginate("/v1/products", objs, p)

    def _api_product_search(self, p):
        return self._search_result("/v1/products/search", self._all("product"), p)

    # ==== API: prices =====================================================================

    def _price_amount(self, p: dict, prefix: str) -> int:
        def name(*keys):
            return _pname(prefix, *keys)

        if "unit_amount" in p:
            return _int(p["unit_amount"], name("unit_amount"), maximum=99999999)
        if "unit_amount_decimal" in p:
            try:
                value = float(p["unit_amount_decimal"])
            except ValueError:
                raise _invalid(name("unit_amount_decimal"), "Invalid decimal") from None
            if value != int(value) or value < 0:
                raise _invalid(
                    name("unit_amount_decimal"), "The fake only supports whole unit amounts."
                )
            return int(value)
        raise StripeError(
            400,
            "You must specify either `unit_amount`, `unit_amount_decimal`, or "
            "`custom_unit_amount` for per_unit prices.",
            code="parameter_missing",
            param=name("unit_amount"),
        )

    def _new_price(
        self, p: dict, prefix: str = "", *, active: bool = True, emit: bool = True
    ) -> dict:
        def name(*keys):
            return _pname(prefix, *keys)

        if "currency" not in p:
            raise _required(name("currency"))
        currency = _currency(p["currency"], name("currency"))
        if p.get("product"):
            product = self._get("product", p["product"], name("product"))
        elif isinstance(p.get("product_data"), dict):
            product = self._new_product(p["product_data"], name("product_data"))
        else:
            raise StripeError(
                400,
                "You must specify either `product` or `product_data`.",
                code="parameter_missing",
                param=name("product"),
            )
        amount = self._price_amount(p, prefix)
        recurring = None
        if isinstance(p.get("recurring"), dict):
            interval = p["recurring"].get("interval")
            if interval not in ("day", "week", "month", "year"):
                raise _invalid(
                    name("recurring", "interval"),
                    f"Invalid recurring[interval]: must be one of day, week, month, "
                    f"or year (got {interval!r})",
                )
            recurring = {
                "interval": interval,
                "interval_count": _int(
                    p["recurring"].get("interval_count", 1),
                    name("recurring", "interval_count"),
                    minimum=1,
                ),
                "meter": None,
                "trial_period_days": None,
                "usage_type": "licensed",
            }
        lookup_key = _nullable(p.get("lookup_key"))
        if lookup_key is not None:
            holder = next((x for x in self._all("price") if x["lookup_key"] == lookup_key), None)
            if holder is not None:
                if not _bool(p.get("transfer_lookup_key", "false"), "transfer_lookup_key"):
                    raise _invalid(
                        name("lookup_key"),
                        f"A price (`{holder['id']}`) already uses that lookup key.",
                    )
                before = self._present(holder)
                holder["lookup_key"] = None
                self._emit_update("price.updated", holder, before)
        price = {
            "id": self._new_id("price_"),
            "object": "price",
            "active": _bool(p.get("active", active), name("active")),
            "billing_scheme": "per_unit",
            "created": self.now(),
            "currency": currency,
            "custom_unit_amount": None,
            "livemode": self.livemode,
            "lookup_key": lookup_key,
            "metadata": _apply_metadata({}, p.get("metadata"), name("metadata")),
            "nickname": _nullable(p.get("nickname")),
            "product": product["id"],
            "recurring": recurring,
            "tax_behavior": p.get("tax_behavior", "unspecified"),
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring" if recurring else "one_time",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }
        self._store(price)
        if emit:
            self._emit("price.created", price)
        return price

    def _api_price_create(self, p):
        return self._expand(self._present(self._new_price(p)), p.get("expand"))

    def _api_price_retrieve(self, p, id):
        return self._expand(self._present(self._get("price", id)), p.get("expand"))

    def _api_price_update(self, p, id):
        price = self._get("price", id)
        before = self._present(price)
        if "active" in p:
            price["active"] = _bool(p["active"], "active")
        if "nickname" in p:
            price["nickname"] = _nullable(p["nickname"])
        if "tax_behavior" in p:
            price["tax_behavior"] = p["tax_behavior"]
        if "metadata" in p:
            price["metadata"] = _apply_metadata(price["metadata"], p["metadata"])
        if "lookup_key" in p:
            lookup_key = _nullable(p["lookup_key"])
            holder = next(
                (
                    x
                    for x in self._all("price")
                    if lookup_key and x["lookup_key"] == lookup_key and x["id"] != id
                ),
                None,
            )
            if holder is not None:
                if not _bool(p.get("transfer_lookup_key", "false"), "transfer_lookup_key"):
                    raise _invalid(
                        "lookup_key", f"A price (`{holder['id']}`) already uses that lookup key."
                    )
                holder_before = self._present(holder)
                holder["lookup_key"] = None
                self._emit_update("price.updated", holder, holder_before)
            price["lookup_key"] = lookup_key
        self._emit_update("price.updated", price, before)
        return self._expand(self._present(price), p.get("expand"))

    def _api_price_list(self, p):
        objs = self._all("price")
        if "active" in p:
            active = _bool(p["active"], "active")
            objs = [o for o in objs if o["active"] == active]
        if "currency" in p:
            objs = [o for o in objs if o["currency"] == p["currency"].lower()]
        if "product" in p:
            objs = [o for o in objs if o["product"] == p["product"]]
        if "type" in p:
            objs = [o for o in objs if o["type"] == p["type"]]
        if "lookup_keys" in p:
            keys = p["lookup_keys"] if isinstance(p["lookup_keys"], list) else [p["lookup_keys"]]
            objs = [o for o in objs if o["lookup_key"] in keys]
        if isinstance(p.get("recurring"), dict) and "interval" in p["recurring"]:
            objs = [
                o
                for o in objs
                if o["recurring"] and o["recurring"]["interval"] == p["recurring"]["interval"]
            ]
        return self._paginate("/v1/prices", objs, p)

    def _api_price_search(self, p):
        return self._search_result("/v1/prices/search", self._all("price"), p)

    # ==== API: Checkout Sessions ==========================================================

    def _api_checkout_create(self, p):
        mode = p.get("mode")
        if mode is None:
            raise _required("mode")
        if mode not in ("payment", "subscription", "setup"):
            raise _invalid("mode", f"Invalid mode: {mode}")
        if mode == "setup":
            raise _invalid("mode", "The fake does not support setup mode.")
        if p.get("ui_mode", "hosted") != "hosted":
            raise _invalid("ui_mode", "The fake only supports ui_mode=hosted.")
        if "success_url" not in p:
            raise _required("success_url")
        success_url = _url(p["success_url"], "success_url")
        cancel_url = _url(p["cancel_url"], "cancel_url") if p.get("cancel_url") else None
        if p.get("customer") and p.get("customer_email"):
            raise _invalid(
                "customer_email",
                "You may only specify one of these parameters: customer, customer_email.",
            )
        customer = None
        if p.get("customer"):
            customer = self._get("customer", p["customer"], "customer")
            if customer.get("_deleted"):
                raise _missing("customer", p["customer"], "customer")
        customer_email = (
            _email(p["customer_email"], "customer_email") if p.get("customer_email") else None
        )
        client_reference_id = _nullable(p.get("client_reference_id"))
        if client_reference_id is not None and len(client_reference_id) > 200:
            raise _invalid("client_reference_id", "client_reference_id is too long (max 200).")
        metadata = _apply_metadata({}, p.get("metadata"))
        subscription_data = p.get("subscription_data") or {}
        payment_intent_data = p.get("payment_intent_data") or {}
        if mode == "payment" and subscription_data:
            raise _invalid(
                "subscription_data", "You can not pass `subscription_data` in `payment` mode."
            )
        if mode == "subscription" and payment_intent_data:
            raise _invalid(
                "payment_intent_data",
                "You can not pass `payment_intent_data` in `subscription` mode.",
            )
        sub_metadata = _apply_metadata(
            {}, subscription_data.get("metadata"), "subscription_data[metadata]"
        )
        pi_metadata = _apply_metadata(
            {}, payment_intent_data.get("metadata"), "payment_intent_data[metadata]"
        )
        trial_days = None
        if "trial_period_days" in subscription_data:
            trial_days = _int(
                subscription_data["trial_period_days"],
                "subscription_data[trial_period_days]",
                minimum=1,
                maximum=730,
            )
        line_params = p.get("line_items")
        if not isinstance(line_params, list) or not line_params:
            raise StripeError(
                400,
                f"`line_items` is required in `{mode}` mode.",
                code="parameter_missing",
                param="line_items",
            )
        # Validate everything before creating anything (inline prices included).
        plan = []
        for i, item in enumerate(line_params):
            param = f"line_items[{i}]"
            if not isinstance(item, dict):
                raise _invalid(param, "Invalid object")
            if "quantity" not in item:
                raise StripeError(
                    400,
                    f"Quantity is required. Add `quantity` to `{param}`.",
                    code="parameter_missing",
                    param=f"{param}[quantity]",
                )
            quantity = _int(item["quantity"], f"{param}[quantity]", minimum=1, maximum=999999)
            if item.get("price") and item.get("price_data"):
                raise _invalid(
                    f"{param}[price]",
                    "You may only specify one of these parameters: price, price_data.",
                )
            if item.get("price"):
                price = self._get("price", item["price"], f"{param}[price]")
                if not price["active"]:
                    raise _invalid(
                        f"{param}[price]",
                        "The price specified is inactive. This field only accepts active prices.",
                    )
                plan.append((price, None, quantity))
            elif isinstance(item.get("price_data"), dict):
                data = item["price_data"]
                prefix = f"{param}[price_data]"
                if "currency" not in data:
                    raise _required(f"{prefix}[currency]")
                _currency(data["currency"], f"{prefix}[currency]")
                if data.get("product"):
                    self._get("product", data["product"], f"{prefix}[product]")
                elif not (
                    isinstance(data.get("product_data"), dict) and data["product_data"].get("name")
                ):
                    raise _required(f"{prefix}[product_data][name]")
                amount = self._price_amount(data, prefix)
                recurring = data.get("recurring")
                if recurring is not None and (
                    not isinstance(recurring, dict)
                    or recurring.get("interval") not in ("day", "week", "month", "year")
                ):
                    raise _invalid(f"{prefix}[recurring][interval]", "Invalid recurring[interval]")
                fake_price = {
                    "currency": data["currency"].lower(),
                    "unit_amount": amount,
                    "recurring": recurring,
                    "type": "recurring" if recurring else "one_time",
                }
                plan.append((fake_price, data, quantity))
            else:
                raise StripeError(
                    400,
                    f"You must specify either `price` or `price_data` in `{param}`.",
                    code="parameter_missing",
                    param=f"{param}[price]",
                )
        currencies = {price["currency"] for price, _, _ in plan}
        if len(currencies) > 1:
            raise _invalid("line_items", "All prices on a Checkout Session must share a currency.")
        currency = currencies.pop()
        recurring_count = sum(1 for price, _, _ in plan if price["type"] == "recurring")
        if mode == "subscription" and not recurring_count:
            raise _invalid(
                "line_items",
                "You must provide at least one recurring price in "
                "`subscription` mode when using prices.",
            )
        if mode == "payment" and recurring_count:
            raise _invalid(
                "line_items",
                "You specified `payment` mode but passed a recurring "
                "price. Either switch to `subscription` mode or use only one-time "
                "prices.",
            )
        total = sum(price["unit_amount"] * quantity for price, _, quantity in plan)
        minimum = {"usd": 50, "eur": 50, "gbp": 30, "chf": 50, "cad": 50, "aud": 50}.get(currency)
        if minimum and 0 < total < minimum and not trial_days:
            raise _invalid(
                "line_items",
                "The Checkout Session's total amount due must add up "
                f"to at least {pages.money(minimum, currency)}.",
                "amount_too_small",
            )
        line_items = []
        for i, (price, data, quantity) in enumerate(plan):
            if data is not None:
                price = self._new_price(
                    data, f"line_items[{i}][price_data]", active=False, emit=False
                )
            product = self._objects[price["product"]]
            amount = price["unit_amount"] * quantity
            line_items.append(
                {
                    "id": self._new_id("li_"),
                    "object": "item",
                    "adjustable_quantity": None,
                    "amount_discount": 0,
                    "amount_subtotal": amount,
                    "amount_tax": 0,
                    "amount_total": amount,
                    "currency": currency,
                    "description": product["name"],
                    "metadata": {},
                    "price": price["id"],
                    "quantity": quantity,
                }
            )
        now = self.now()
        expires_at = now + _DAY
        if "expires_at" in p:
            expires_at = _int(p["expires_at"], "expires_at")
        session_id = self._new_id("cs_")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "adaptive_pricing": {"enabled": False},
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": {
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "billing_address_collection": p.get("billing_address_collection"),
            "cancel_url": cancel_url,
            "client_reference_id": client_reference_id,
            "client_secret": None,
            "collected_information": None,
            "consent": None,
            "consent_collection": None,
            "created": now,
            "currency": currency,
            "currency_conversion": None,
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": customer["id"] if customer else None,
            "customer_account": None,
            "customer_creation": (
                None
                if customer or mode == "subscription"
                else p.get("customer_creation", "if_required")
            ),
            "customer_details": None,
            "customer_email": customer_email,
            "discounts": [],
            "expires_at": expires_at,
            "integration_identifier": None,
            "invoice": None,
            "invoice_creation": (
                {
                    "enabled": False,
                    "invoice_data": {
                        "account_tax_ids": None,
                        "custom_fields": None,
                        "description": None,
                        "footer": None,
                        "issuer": None,
                        "metadata": {},
                        "rendering_options": None,
                    },
                }
                if mode == "payment"
                else None
            ),
            "livemode": self.livemode,
            "locale": p.get("locale"),
            "managed_payments": None,
            "metadata": metadata,
            "mode": mode,
            "origin_context": None,
            "payment_intent": None,
            "payment_link": None,
            "payment_method_collection": "always" if mode == "subscription" else None,
            "payment_method_configuration_details": None,
            "payment_method_options": {},
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "permissions": None,
            "phone_number_collection": {"enabled": False},
            "presentment_details": None,
            "recovered_from": None,
            "saved_payment_method_options": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": "open",
            "submit_type": p.get("submit_type"),
            "subscription": None,
            "success_url": success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": f"{self.url}/checkout/{session_id}",
            "wallet_options": None,
            "_line_items": line_items,
            "_subscription_data": {
                "metadata": sub_metadata,
                "description": _nullable(subscription_data.get("description")),
                "trial_period_days": trial_days,
            },
            "_payment_intent_data": {
                "metadata": pi_metadata,
                "description": _nullable(payment_intent_data.get("description")),
                "receipt_email": _nullable(payment_intent_data.get("receipt_email")),
            },
        }
        self._store(session)
        return self._expand(self._present(session), p.get("expand"))

    def _api_checkout_retrieve(self, p, id):
        return self._expand(self._present(self._get("checkout.session", id)), p.get("expand"))

    def _api_checkout_update(self, p, id):
        session = self._get("checkout.session", id)
        if "metadata" in p:
            session["metadata"] = _apply_metadata(session["metadata"], p["metadata"])
        return self._expand(self._present(session), p.get("expand"))

    def _api_checkout_line_items(self, p, id):
        session = self._get("checkout.session", id)
        items = self._session_items(session)
        limit = _int(p.get("limit", 10), "limit", minimum=1, maximum=100)
        result = self._list_object(
            f"/v1/checkout/sessions/{id}/line_items", items[:limit], has_more=len(items) > limit
        )
        return self._expand(result, p.get("expand"))

    def _api_checkout_expire(self, p, id):
        session = self._get("checkout.session", id)
        if session["status"] != "open":
            raise _invalid(
                "session",
                f'Only Checkout Sessions with a status in ["open"] can '
                f"be expired. This Checkout Session has a status of "
                f'"{session["status"]}".',
            )
        self._expire_session(session)
        return self._expand(self._present(session), p.get("expand"))

    def _expire_session(self, session: dict) -> None:
        session["status"] = "expired"
        session["url"] = None
        self._emit("checkout.session.expired", session)

    def _api_checkout_list(self, p):
        objs = self._all("checkout.session")
        for key in ("customer", "subscription", "payment_intent", "status", "payment_link"):
            if key in p:
                objs = [o for o in objs if o[key] == p[key]]
        details = p.get("customer_details")
        if isinstance(details, dict) and "email" in details:
            objs = [
                o
                for o in objs
                if o["customer_details"] and o["customer_details"]["email"] == details["email"]
            ]
        return self._paginate("/v1/checkout/sessions", objs, p)

    # ==== API: billing portal =============================================================

    def _api_portal_create(self, p):
        if not p.get("customer"):
            raise _required("customer")
        customer = self._get("customer", p["customer"], "customer")
        if customer.get("_deleted"):
            raise _missing("customer", p["customer"], "customer")
        return_url = _url(p["return_url"], "return_url") if p.get("return_url") else None
        flow = None
        flow_data = p.get("flow_data")
        if isinstance(flow_data, dict):
            flow_type = flow_data.get("type")
            if flow_type not in (
                "payment_method_update",
                "subscription_cancel",
                "subscription_update",
                "subscription_update_confirm",
            ):
                raise _invalid("flow_data[type]", f"Invalid flow_data[type]: {flow_type}")
            after = flow_data.get("after_completion") or {}
            flow = {
                "after_completion": {
                    "hosted_confirmation": after.get("hosted_confirmation"),
                    "redirect": after.get("redirect"),
                    "type": after.get("type", "portal_homepage"),
                },
                "subscription_cancel": flow_data.get("subscription_cancel"),
                "subscription_update": flow_data.get("subscription_update"),
                "subscription_update_confirm": flow_data.get("subscription_update_confirm"),
                "type": flow_type,
            }
        portal_id = self._new_id("bps_")
        portal = {
            "id": portal_id,
            "object": "billing_portal.session",
            "configuration": p.get("configuration") or self.portal_configuration,
            "created": self.now(),
            "customer": customer["id"],
            "customer_account": None,
            "flow": flow,
            "livemode": self.livemode,
            "locale": p.get("locale"),
            "on_behalf_of": None,
            "return_url": return_url,
            "url": f"{self.url}/portal/{portal_id}",
        }
        self._store(portal)
        self._emit("billing_portal.session.created", portal)
        return self._expand(self._present(portal), p.get("expand"))

    # ==== Subscriptions, invoices, payments (shared by API, pages and helpers) ============

    def _new_payment_method(self, customer: dict | None, email: str | None) -> dict:
        pm = {
            "id": self._new_id("pm_"),
            "object": "payment_method",
            "allow_redisplay": "always",
            "billing_details": {
                "address": None,
                "email": email,
                "name": None,
                "phone": None,
                "tax_id": None,
            },
            "card": {
                "brand": "visa",
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": None,
                    "cvc_check": "pass",
                },
                "country": "US",
                "display_brand": "visa",
                "exp_month": 12,
                "exp_year": datetime.date.today().year + 3,
                "fingerprint": _rand(16),
                "funding": "credit",
                "generated_from": None,
                "last4": "4242",
                "networks": {"available": ["visa"], "preferred": None},
                "regulated_status": "unregulated",
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
            "created": self.now(),
            "customer": customer["id"] if customer else None,
            "customer_account": None,
            "livemode": self.livemode,
            "metadata": {},
            "type": "card",
        }
        return self._store(pm)

    def _period_end(self, sub: dict) -> int:
        return max(item["current_period_end"] for item in sub["items"]["data"])

    def _subscription_item(
        self, sub_id: str, price: dict, quantity: int, start: int, end: int
    ) -> dict:
        item = {
            "id": self._new_id("si_", 14),
            "object": "subscription_item",
            "billing_thresholds": None,
            "created": self.now(),
            "current_period_end": end,
            "current_period_start": start,
            "discounts": [],
            "metadata": {},
            "plan": None,
            "price": price["id"],
            "quantity": quantity,
            "subscription": sub_id,
            "tax_rates": [],
        }
        self._si_index[item["id"]] = sub_id
        return item

    def _start_subscription(
        self,
        customer: dict,
        lines: list[tuple[dict, int]],
        *,
        metadata: dict | None = None,
        description: str | None = None,
        trial_days: int | None = None,
        payment_method: dict | None = None,
        outcome: str = "paid",
        incomplete_first: bool = True,
    ) -> dict:
        """Create a subscription and its first invoice and pay it, emitting Stripe's events.
        ``incomplete_first``: created as ``incomplete`` then updated to ``active`` once paid,
        as Checkout does."""
        now = self.now()
        sub_id = self._new_id("sub_")
        trial_end = now + trial_days * _DAY if trial_days else None
        items = []
        for price, quantity in lines:
            recurring = price["recurring"]
            end = trial_end or _add_interval(
                now, recurring["interval"], recurring["interval_count"]
            )
            items.append(self._subscription_item(sub_id, price, quantity, now, end))
        currency = lines[0][0]["currency"]
        sub = {
            "id": sub_id,
            "object": "subscription",
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": trial_end or now,
            "billing_cycle_anchor_config": None,
            "billing_mode": {
                "flexible": {"proration_discounts": "included"},
                "type": "flexible",
                "updated_at": None,
            },
            "billing_schedules": [],
            "billing_thresholds": None,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": now,
            "currency": currency,
            "customer": customer["id"],
            "customer_account": None,
            "days_until_due": None,
            "default_payment_method": payment_method["id"] if payment_method else None,
            "default_source": None,
            "default_tax_rates": [],
            "description": description,
            "discounts": [],
            "ended_at": None,
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": {
                "object": "list",
                "data": items,
                "has_more": False,
                "total_count": len(items),
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "latest_invoice": None,
            "livemode": self.livemode,
            "managed_payments": None,
            "metadata": dict(metadata or {}),
            "next_pending_invoice_item_invoice": None,
            "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": {
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": None,
            "presentment_details": None,
            "schedule": None,
            "start_date": now,
            "status": "trialing"
            if trial_days
            else ("incomplete" if incomplete_first else "active"),
            "status_details": None,
            "test_clock": None,
            "transfer_data": None,
            "trial_end": trial_end,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": now if trial_days else None,
        }
        self._store(sub)
        invoice = self._new_invoice(sub, "subscription_create", now, now, trial=bool(trial_days))
        sub["latest_invoice"] = invoice["id"]
        self._emit("customer.subscription.created", sub)
        self._emit("invoice.created", invoice)
        self._finalize_invoice(invoice)
        self._collect_invoice(invoice, outcome, description="Subscription creation")
        if sub["status"] == "incomplete" and invoice["status"] == "paid":
            before = self._present(sub)
            sub["status"] = "active"
            self._emit_update("customer.subscription.updated", sub, before)
        return sub

    def _new_invoice(
        self,
        sub: dict,
        billing_reason: str,
        period_start: int,
        period_end: int,
        *,
        trial: bool = False,
    ) -> dict:
        customer = self._objects[sub["customer"]]
        invoice_id = self._new_id("in_")
        lines = []
        for item in sub["items"]["data"]:
            price = self._objects[item["price"]]
            product = self._objects[price["product"]]
            amount = 0 if trial else price["unit_amount"] * item["quantity"]
            interval = price["recurring"]["interval"]
            description = (
                f"Trial period for {product['name']}"
                if trial
                else f"{item['quantity']} × {product['name']} "
                f"(at {pages.money(price['unit_amount'], price['currency'])} / {interval})"
            )
            lines.append(
                {
                    "id": self._new_id("il_"),
                    "object": "line_item",
                    "amount": amount,
                    "currency": price["currency"],
                    "description": description,
                    "discount_amounts": [],
                    "discountable": True,
                    "discounts": [],
                    "invoice": invoice_id,
                    "livemode": self.livemode,
                    "metadata": dict(sub["metadata"]),
                    "parent": {
                        "invoice_item_details": None,
                        "subscription_item_details": {
                            "invoice_item": None,
                            "proration": False,
                            "proration_details": {"credited_items": None},
                            "subscription": sub["id"],
                            "subscription_item": item["id"],
                        },
                        "type": "subscription_item_details",
                    },
                    "period": {
                        "end": item["current_period_end"],
                        "start": item["current_period_start"],
                    },
                    "pretax_credit_amounts": [],
                    "pricing": {
                        "price_details": {"price": price["id"], "product": product["id"]},
                        "type": "price_details",
                        "unit_amount_decimal": "0" if trial else price["unit_amount_decimal"],
                    },
                    "quantity": item["quantity"],
                    "quantity_decimal": str(item["quantity"]),
                    # As in fixtures3.json: kept but null; the link is parent.*.subscription.
                    "subscription": None,
                    "subtotal": amount,
                    "taxes": [],
                }
            )
        total = sum(line["amount"] for line in lines)
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "account_name": self.account_name,
            "account_tax_ids": None,
            "amount_due": total,
            "amount_overpaid": 0,
            "amount_paid": 0,
            "amount_paid_off_stripe": 0,
            "amount_remaining": total,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": True,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "automatically_finalizes_at": None,
            "billing_reason": billing_reason,
            "collection_method": "charge_automatically",
            "confirmation_secret": None,
            "created": self.now(),
            "currency": sub["currency"],
            "custom_fields": None,
            "customer": customer["id"],
            "customer_account": None,
            "customer_address": customer["address"],
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "customer_phone": customer["phone"],
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [],
            "due_date": None,
            "effective_at": None,
            "ending_balance": None,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": {
                "object": "list",
                "data": lines,
                "has_more": False,
                "total_count": len(lines),
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": self.livemode,
            "metadata": {},
            "next_payment_attempt": None,
            "number": None,
            "on_behalf_of": None,
            "parent": {
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(sub["metadata"]),
                    "subscription": sub["id"],
                },
                "type": "subscription_details",
            },
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": period_end,
            "period_start": period_start,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": "draft",
            "status_details": None,
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            # As in fixtures3.json: kept but null; the link is parent.subscription_details.
            "subscription": None,
            "subtotal": total,
            "subtotal_excluding_tax": total,
            "test_clock": None,
            "threshold_reason": None,
            "total": total,
            "total_discount_amounts": [],
            "total_excluding_tax": total,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": None,
        }
        return self._store(invoice)

    def _finalize_invoice(self, invoice: dict) -> None:
        customer = self._objects[invoice["customer"]]
        now = self.now()
        invoice["status"] = "open"
        invoice["number"] = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
        customer["next_invoice_sequence"] += 1
        invoice["effective_at"] = now
        invoice["ending_balance"] = 0
        invoice["status_transitions"]["finalized_at"] = now
        invoice["hosted_invoice_url"] = f"{self.url}/invoice/{invoice['id']}"
        invoice["invoice_pdf"] = f"{self.url}/invoice/{invoice['id']}/pdf"
        invoice["webhooks_delivered_at"] = now
        self._emit("invoice.finalized", invoice)

    def _invoice_pi(self, invoice: dict) -> dict | None:
        for payment in self._all("invoice_payment"):
            if payment["invoice"] == invoice["id"]:
                return self._objects[payment["payment"]["payment_intent"]]
        return None

    def _new_payment_intent(
        self,
        amount: int,
        currency: str,
        customer: dict | None,
        *,
        description=None,
        metadata=None,
        receipt_email=None,
        payment_method: dict | None = None,
    ) -> dict:
        pi_id = self._new_id("pi_")
        pi = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic",
            "client_secret": f"{pi_id}_secret_{_rand(25)}",
            "confirmation_method": "automatic",
            "created": self.now(),
            "currency": currency,
            "customer": customer["id"] if customer else None,
            "customer_account": None,
            "description": description,
            "excluded_payment_method_types": None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": self.livemode,
            "managed_payments": None,
            "metadata": dict(metadata or {}),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": payment_method["id"] if payment_method else None,
            "payment_method_configuration_details": None,
            "payment_method_options": {
                "card": {
                    "installments": None,
                    "mandate_options": None,
                    "network": None,
                    "request_three_d_secure": "automatic",
                }
            },
            "payment_method_types": ["card"],
            "processing": None,
            "receipt_email": receipt_email,
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "source": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "requires_payment_method"
            if payment_method is None
            else "requires_confirmation",
            "transfer_data": None,
            "transfer_group": None,
        }
        self._store(pi)
        self._emit("payment_intent.created", pi)
        return pi

    def _new_charge(self, pi: dict, status: str, email: str | None) -> dict:
        charge_id = self._new_id("ch_")
        succeeded = status == "succeeded"
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if succeeded else 0,
            "amount_refunded": 0,
            "application": None,
            "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": ("txn_" + _rand(24)) if succeeded else None,
            "billing_details": {
                "address": None,
                "email": email,
                "name": None,
                "phone": None,
                "tax_id": None,
            },
            "calculated_statement_descriptor": self.account_name.upper()[:22],
            "captured": succeeded,
            "created": self.now(),
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": None if status != "failed" else "card_declined",
            "failure_message": None if status != "failed" else "Your card was declined.",
            "fraud_details": {},
            "livemode": self.livemode,
            "metadata": dict(pi["metadata"]),
            "on_behalf_of": None,
            "outcome": {
                "advice_code": None,
                "network_advice_code": None,
                "network_decline_code": None,
                "network_status": "approved_by_network"
                if status != "failed"
                else "declined_by_network",
                "reason": None if status != "failed" else "generic_decline",
                "risk_level": "normal",
                "risk_score": 12,
                "seller_message": "Payment complete."
                if status != "failed"
                else "The bank did not return any further details with this decline.",
                "type": "authorized" if status != "failed" else "issuer_declined",
            },
            "paid": succeeded,
            "payment_intent": pi["id"],
            "payment_method": pi["payment_method"],
            "payment_method_details": {
                "card": {
                    "amount_authorized": pi["amount"] if succeeded else None,
                    "authorization_code": None,
                    "brand": "visa",
                    "checks": {
                        "address_line1_check": None,
                        "address_postal_code_check": None,
                        "cvc_check": "pass",
                    },
                    "country": "US",
                    "exp_month": 12,
                    "exp_year": datetime.date.today().year + 3,
                    "fingerprint": _rand(16),
                    "funding": "credit",
                    "last4": "4242",
                    "network": "visa",
                    "three_d_secure": None,
                    "wallet": None,
                },
                "type": "card",
            },
            "presentment_details": None,
            "radar_options": None,
            "receipt_email": pi["receipt_email"] or email,
            "receipt_number": None,
            "receipt_url": f"{self.url}/receipts/{charge_id}",
            "refunded": False,
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/charges/{charge_id}/refunds",
            },
            "review": None,
            "shipping": None,
            "source": None,
            "source_transfer": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": status,
            "transfer_data": None,
            "transfer_group": None,
        }
        return self._store(charge)

    def _settle_payment_intent(self, pi: dict, outcome: str, email: str | None) -> dict | None:
        """Confirm a payment intent: "paid", "failed", "action_required" or "processing"."""
        if outcome == "action_required":
            pi["status"] = "requires_action"
            pi["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "three_d_secure_redirect",
                    "stripe_js": f"{self.url}/3ds/{pi['id']}",
                },
            }
            self._emit("payment_intent.requires_action", pi)
            return None
        status = {"paid": "succeeded", "failed": "failed", "processing": "pending"}[outcome]
        charge = self._new_charge(pi, status, email)
        pi["latest_charge"] = charge["id"]
        if outcome == "paid":
            self._emit("charge.succeeded", charge)
            pi.update(
                status="succeeded",
                amount_received=pi["amount"],
                next_action=None,
                last_payment_error=None,
            )
            self._emit("payment_intent.succeeded", pi)
        elif outcome == "processing":
            self._emit("charge.pending", charge)
            pi["status"] = "processing"
            self._emit("payment_intent.processing", pi)
        else:
            self._emit("charge.failed", charge)
            pi.update(
                status="requires_payment_method",
                next_action=None,
                last_payment_error={
                    "charge": charge["id"],
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                    "message": "Your card was declined.",
                    "payment_method": None,
                    "type": "card_error",
                },
            )
            self._emit("payment_intent.payment_failed", pi)
        return charge

    def _collect_invoice(self, invoice: dict, outcome: str, description: str) -> None:
        """Attempt to pay an open invoice (creating its payment intent on first attempt)."""
        now = self.now()
        if invoice["amount_due"] == 0:
            invoice.update(status="paid", auto_advance=False, attempted=True)
            invoice["status_transitions"]["paid_at"] = now
            self._emit("invoice.paid", invoice)
            self._emit("invoice.payment_succeeded", invoice)
            return
        customer = self._objects[invoice["customer"]]
        pm_id = customer["invoice_settings"]["default_payment_method"]
        sub_id = invoice["parent"]["subscription_details"]["subscription"]
        sub = self._objects.get(sub_id)
        if sub and sub["default_payment_method"]:
            pm_id = sub["default_payment_method"]
        pm = self._objects.get(pm_id) if pm_id else None
        if pm is None:
            pm = self._new_payment_method(customer, customer["email"])
        pi = self._invoice_pi(invoice)
        if pi is None:
            pi = self._new_payment_intent(
                invoice["amount_due"],
                invoice["currency"],
                customer,
                description=description,
                payment_method=pm,
            )
            self._store(
                {
                    "id": self._new_id("inpay_"),
                    "object": "invoice_payment",
                    "amount_paid": None,
                    "amount_requested": invoice["amount_due"],
                    "created": now,
                    "currency": invoice["currency"],
                    "invoice": invoice["id"],
                    "is_default": True,
                    "livemode": self.livemode,
                    "payment": {"payment_intent": pi["id"], "type": "payment_intent"},
                    "status": "open",
                    "status_transitions": {"canceled_at": None, "paid_at": None},
                }
            )
        self._settle_payment_intent(pi, outcome, customer["email"])
        invoice["attempted"] = True
        invoice["attempt_count"] += 1
        if outcome == "paid":
            invoice.update(
                status="paid",
                amount_paid=invoice["amount_due"],
                amount_remaining=0,
                auto_advance=False,
                next_payment_attempt=None,
            )
            invoice["status_transitions"]["paid_at"] = now
            self._emit("invoice.paid", invoice)
            self._emit("invoice.payment_succeeded", invoice)
            payment = next(p for p in self._all("invoice_payment") if p["invoice"] == invoice["id"])
            payment.update(status="paid", amount_paid=invoice["amount_due"])
            payment["status_transitions"]["paid_at"] = now
            self._emit("invoice_payment.paid", payment)
        elif outcome == "failed":
            invoice["next_payment_attempt"] = now + 3 * _DAY
            self._emit("invoice.payment_failed", invoice)
        else:
            self._emit("invoice.payment_action_required", invoice)

    def _cancel_subscription(
        self,
        sub: dict,
        *,
        at: int | None = None,
        reason: str = "cancellation_requested",
        comment: str | None = None,
        feedback: str | None = None,
    ) -> None:
        now = self.now()
        sub["status"] = "canceled"
        sub["canceled_at"] = sub["canceled_at"] or now
        sub["ended_at"] = at or now
        details = sub["cancellation_details"]
        details["reason"] = details["reason"] or reason
        if comment is not None:
            details["comment"] = comment
        if feedback is not None:
            details["feedback"] = feedback
        self._emit("customer.subscription.deleted", sub)

    def _check_updatable(self, sub: dict, p: dict) -> None:
        ended = sub["status"] in ("canceled", "incomplete_expired")
        if ended and set(p) - {"metadata", "cancellation_details", "expand"}:
            raise _invalid(
                "id",
                "A canceled subscription can only update its cancellation_details and metadata.",
            )

    def _update_subscription(self, sub: dict, p: dict) -> dict:
        """API semantics of POST /v1/subscriptions/:id (also used by the portal)."""
        self._check_updatable(sub, p)
        if "cancel_at" in p and "cancel_at_period_end" in p:
            raise _invalid(
                "cancel_at",
                "You may only specify one of these parameters: cancel_at, cancel_at_period_end.",
            )
        if "proration_behavior" in p and p["proration_behavior"] not in (
            "create_prorations",
            "none",
            "always_invoice",
        ):
            raise _invalid(
                "proration_behavior", f"Invalid proration_behavior: {p['proration_behavior']}"
            )
        now = self.now()
        # Validate items before changing anything.
        item_changes = []
        if "items" in p:
            if not isinstance(p["items"], list):
                raise _invalid("items", "Invalid array")
            current = {item["id"]: item for item in sub["items"]["data"]}
            for i, change in enumerate(p["items"]):
                param = f"items[{i}]"
                if not isinstance(change, dict):
                    raise _invalid(param, "Invalid object")
                item = None
                if change.get("id"):
                    item = current.get(change["id"])
                    if item is None:
                        raise _missing("subscription_item", change["id"], f"{param}[id]")
                price = None
                if change.get("price"):
                    price = self._get("price", change["price"], f"{param}[price]")
                    if not price["active"]:
                        raise _invalid(
                            f"{param}[price]",
                            "The price specified is inactive. "
                            "This field only accepts active prices.",
                        )
                    if price["type"] != "recurring":
                        raise _invalid(
                            f"{param}[price]",
                            "The price specified is set to "
                            "`type=one_time` but this field only accepts prices with "
                            "`type=recurring`.",
                        )
                    if price["currency"] != sub["currency"]:
                        raise _invalid(
                            f"{param}[price]",
                            "The price specified does not match "
                            f"the subscription's currency ({sub['currency']}).",
                        )
                elif item is None and not change.get("deleted"):
                    raise StripeError(
                        400,
                        "You must specify either `price` or `price_data`.",
                        code="parameter_missing",
                        param=f"{param}[price]",
                    )
                quantity = (
                    _int(change["quantity"], f"{param}[quantity]", minimum=0)
                    if "quantity" in change
                    else None
                )
                deleted = _bool(change.get("deleted", "false"), f"{param}[deleted]")
                if deleted and item is None:
                    raise _required(f"{param}[id]")
                item_changes.append((item, price, quantity, deleted))
            remaining = [
                i for i in sub["items"]["data"] if not any(c[0] is i and c[3] for c in item_changes)
            ]
            prices = [c[1]["id"] if c[1] else c[0]["price"] for c in item_changes if not c[3]]
            prices += [i["price"] for i in remaining if not any(c[0] is i for c in item_changes)]
            if len(prices) != len(set(prices)):
                raise _invalid(
                    "items", "Cannot add multiple subscription items with the same price."
                )
            if not prices:
                raise _invalid("items", "A subscription must have at least one active item.")
        cancel_at = None
        if "cancel_at" in p and p["cancel_at"] != "":
            value = p["cancel_at"]
            if value in ("max_period_end", "min_period_end"):
                cancel_at = self._period_end(sub)
            else:
                cancel_at = _int(value, "cancel_at", minimum=now)
        before = self._present(sub)
        old_intervals = {
            self._objects[i["price"]]["recurring"]["interval"] for i in sub["items"]["data"]
        }
        if "metadata" in p:
            sub["metadata"] = _apply_metadata(sub["metadata"], p["metadata"])
        if "description" in p:
            sub["description"] = _nullable(p["description"])
        if "default_payment_method" in p:
            pm = _nullable(p["default_payment_method"])
            if pm:
                self._get("payment_method", pm, "default_payment_method")
            sub["default_payment_method"] = pm
        details = p.get("cancellation_details")
        if isinstance(details, dict):
            for key in ("comment", "feedback"):
                if key in details:
                    sub["cancellation_details"][key] = _nullable(details[key])
        if "cancel_at_period_end" in p:
            if _bool(p["cancel_at_period_end"], "cancel_at_period_end"):
                sub.update(
                    cancel_at_period_end=True, cancel_at=self._period_end(sub), canceled_at=now
                )
                sub["cancellation_details"]["reason"] = "cancellation_requested"
            else:
                sub.update(cancel_at_period_end=False, cancel_at=None, canceled_at=None)
                sub["cancellation_details"] = {"comment": None, "feedback": None, "reason": None}
        if "cancel_at" in p:
            if cancel_at is None:
                sub.update(cancel_at=None, canceled_at=None, cancel_at_period_end=False)
                sub["cancellation_details"] = {"comment": None, "feedback": None, "reason": None}
            else:
                sub.update(
                    cancel_at=cancel_at,
                    canceled_at=now,
                    cancel_at_period_end=cancel_at == self._period_end(sub),
                )
                sub["cancellation_details"]["reason"] = "cancellation_requested"
        if "pause_collection" in p:
            pause = p["pause_collection"]
            if pause == "":
                sub["pause_collection"] = None
            elif isinstance(pause, dict):
                if pause.get("behavior") not in ("keep_as_draft", "mark_uncollectible", "void"):
                    raise _invalid("pause_collection[behavior]", "Invalid behavior")
                sub["pause_collection"] = {
                    "behavior": pause["behavior"],
                    "resumes_at": _int(pause["resumes_at"], "pause_collection[resumes_at]")
                    if pause.get("resumes_at")
                    else None,
                }
        if item_changes:
            data = sub["items"]["data"]
            start, end = (data[0]["current_period_start"], data[0]["current_period_end"])
            for item, price, quantity, deleted in item_changes:
                if deleted:
                    data.remove(item)
                elif item is None:
                    data.append(
                        self._subscription_item(sub["id"], price, quantity or 1, start, end)
                    )
                else:
                    if price is not None:
                        item["price"] = price["id"]
                    if quantity is not None:
                        item["quantity"] = quantity
            sub["items"]["total_count"] = len(data)
        new_intervals = {
            self._objects[i["price"]]["recurring"]["interval"] for i in sub["items"]["data"]
        }
        invoice = None
        if new_intervals != old_intervals and sub["status"] in ("active", "trialing", "past_due"):
            # A billing-interval change resets the cycle and invoices at once (no proration).
            for item in sub["items"]["data"]:
                recurring = self._objects[item["price"]]["recurring"]
                item["current_period_start"] = now
                item["current_period_end"] = _add_interval(
                    now, recurring["interval"], recurring["interval_count"]
                )
            sub["billing_cycle_anchor"] = now
            if sub["status"] == "trialing":
                sub.update(status="active", trial_end=now)
            if sub["cancel_at_period_end"]:
                sub["cancel_at"] = self._period_end(sub)
            invoice = self._new_invoice(sub, "subscription_update", now, now)
            sub["latest_invoice"] = invoice["id"]
        self._emit_update("customer.subscription.updated", sub, before)
        if invoice is not None:
            self._emit("invoice.created", invoice)
            self._finalize_invoice(invoice)
            self._collect_invoice(invoice, "paid", description="Subscription update")
        return sub

    # ==== API: subscriptions ==============================================================

    def _api_subscription_retrieve(self, p, id):
        return self._expand(self._present(self._get("subscription", id)), p.get("expand"))

    def _api_subscription_update(self, p, id):
        sub = self._update_subscription(self._get("subscription", id), p)
        return self._expand(self._present(sub), p.get("expand"))

    def _api_subscription_cancel(self, p, id):
        sub = self._get("subscription", id)
        if sub["status"] in ("canceled", "incomplete_expired"):
            raise _invalid("id", f"This subscription has already been canceled ({id}).")
        details = p.get("cancellation_details") or {}
        self._cancel_subscription(
            sub,
            comment=_nullable(details.get("comment")),
            feedback=_nullable(details.get("feedback")),
        )
        return self._expand(self._present(sub), p.get("expand"))

    def _api_subscription_resume(self, p, id):
        sub = self._get("subscription", id)
        if sub["status"] != "paused":
            raise _invalid("id", "Only a paused subscription can be resumed.")
        self._resume(sub)
        return self._expand(self._present(sub), p.get("expand"))

    def _api_subscription_list(self, p):
        objs = self._all("subscription")
        status = p.get("status")
        if status is None:
            objs = [o for o in objs if o["status"] != "canceled"]
        elif status == "ended":
            objs = [o for o in objs if o["status"] in ("canceled", "incomplete_expired")]
        elif status != "all":
            if status not in (
                "active",
                "canceled",
                "incomplete",
                "incomplete_expired",
                "past_due",
                "paused",
                "trialing",
                "unpaid",
            ):
                raise _invalid("status", f"Invalid status: {status}")
            objs = [o for o in objs if o["status"] == status]
        if "customer" in p:
            objs = [o for o in objs if o["customer"] == p["customer"]]
        if "price" in p:
            objs = [o for o in objs if any(i["price"] == p["price"] for i in o["items"]["data"])]
        return self._paginate("/v1/subscriptions", objs, p)

    def _api_subscription_search(self, p):
        return self._search_result("/v1/subscriptions/search", self._all("subscription"), p)

    def _api_subscription_item_list(self, p):
        if "subscription" not in p:
            raise _required("subscription")
        sub = self._get("subscription", p["subscription"], "subscription")
        items = self._present(sub)["items"]["data"]
        result = self._list_object(f"/v1/subscription_items?subscription={sub['id']}", items)
        return self._expand(result, p.get("expand"))

    def _api_subscription_item_retrieve(self, p, id):
        sub_id = self._si_index.get(id)
        if sub_id is None:
            raise _missing("subscription_item", id)
        items = self._present(self._objects[sub_id])["items"]["data"]
        item = next((i for i in items if i["id"] == id), None)
        if item is None:
            raise _missing("subscription_item", id)
        return self._expand(item, p.get("expand"))

    # ==== API: invoices, payments, charges, refunds, events ===============================

    def _api_invoice_retrieve(self, p, id):
        return self._expand(self._present(self._get("invoice", id)), p.get("expand"))

    def _api_invoice_list(self, p):
        objs = self._all("invoice")
        if "customer" in p:
            objs = [o for o in objs if o["customer"] == p["customer"]]
        if "subscription" in p:
            objs = [
                o
                for o in objs
                if (o["parent"] or {}).get("subscription_details", {}).get("subscription")
                == p["subscription"]
            ]
        if "status" in p:
            objs = [o for o in objs if o["status"] == p["status"]]
        return self._paginate("/v1/invoices", objs, p)

    def _api_invoice_search(self, p):
        return self._search_result("/v1/invoices/search", self._all("invoice"), p)

    def _api_invoice_lines(self, p, id):
        invoice = self._present(self._get("invoice", id))
        return self._expand(invoice["lines"], p.get("expand"))

    def _api_invoice_pay(self, p, id):
        invoice = self._get("invoice", id)
        self._pay_open_invoice(invoice)
        return self._expand(self._present(invoice), p.get("expand"))

    def _pay_open_invoice(self, invoice: dict) -> None:
        if invoice["status"] != "open":
            raise _invalid(
                "invoice",
                f"Invoice is already {invoice['status']}",
                "invoice_not_open" if invoice["status"] != "paid" else "invoice_already_paid",
            )
        self._collect_invoice(invoice, "paid", description="Subscription update")
        sub = self._objects.get(invoice["parent"]["subscription_details"]["subscription"])
        if sub and sub["status"] in ("past_due", "incomplete", "unpaid"):
            before = self._present(sub)
            sub["status"] = "active"
            self._emit_update("customer.subscription.updated", sub, before)

    def _api_invoice_payment_list(self, p):
        objs = self._all("invoice_payment")
        if "invoice" in p:
            objs = [o for o in objs if o["invoice"] == p["invoice"]]
        payment = p.get("payment")
        if isinstance(payment, dict) and payment.get("payment_intent"):
            objs = [o for o in objs if o["payment"]["payment_intent"] == payment["payment_intent"]]
        if "status" in p:
            objs = [o for o in objs if o["status"] == p["status"]]
        return self._paginate("/v1/invoice_payments", objs, p)

    def _api_invoice_payment_retrieve(self, p, id):
        return self._expand(self._present(self._get("invoice_payment", id)), p.get("expand"))

    def _api_charge_retrieve(self, p, id):
        return self._expand(self._present(self._get("charge", id)), p.get("expand"))

    def _api_charge_list(self, p):
        objs = self._all("charge")
        for key in ("customer", "payment_intent"):
            if key in p:
                objs = [o for o in objs if o[key] == p[key]]
        return self._paginate("/v1/charges", objs, p)

    def _api_charge_search(self, p):
        return self._search_result("/v1/charges/search", self._all("charge"), p)

    def _api_payment_intent_retrieve(self, p, id):
        return self._expand(self._present(self._get("payment_intent", id)), p.get("expand"))

    def _api_payment_intent_list(self, p):
        objs = self._all("payment_intent")
        if "customer" in p:
            objs = [o for o in objs if o["customer"] == p["customer"]]
        return self._paginate("/v1/payment_intents", objs, p)

    def _api_payment_intent_search(self, p):
        return self._search_result("/v1/payment_intents/search", self._all("payment_intent"), p)

    def _api_payment_method_retrieve(self, p, id):
        return self._expand(self._present(self._get("payment_method", id)), p.get("expand"))

    def _api_dispute_retrieve(self, p, id):
        return self._expand(self._present(self._get("dispute", id)), p.get("expand"))

    def _api_dispute_list(self, p):
        objs = self._all("dispute")
        for key in ("charge", "payment_intent"):
            if key in p:
                objs = [o for o in objs if o[key] == p[key]]
        return self._paginate("/v1/disputes", objs, p)

    def _api_refund_create(self, p):
        charge = None
        if p.get("charge"):
            charge = self._get("charge", p["charge"], "charge")
        if p.get("payment_intent"):
            pi = self._get("payment_intent", p["payment_intent"], "payment_intent")
            if not pi["latest_charge"] or pi["status"] != "succeeded":
                raise _invalid(
                    "payment_intent",
                    f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                )
            if charge is not None and charge["id"] != pi["latest_charge"]:
                raise _invalid("charge", "The charge does not belong to this PaymentIntent.")
            charge = self._objects[pi["latest_charge"]]
        if charge is None:
            raise StripeError(
                400,
                "One of the following params should be provided for this "
                "request: payment_intent or charge.",
                code="parameter_missing",
            )
        if charge["status"] != "succeeded":
            raise _invalid("charge", f"Charge {charge['id']} has not succeeded.")
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise _invalid(
                "charge",
                f"Charge {charge['id']} has already been refunded.",
                "charge_already_refunded",
            )
        amount = _int(p["amount"], "amount", minimum=1) if "amount" in p else remaining
        if amount > remaining:
            raise _invalid(
                "amount",
                f"Refund amount ({pages.money(amount, charge['currency'])}) is greater than "
                f"unrefunded amount on charge ({pages.money(remaining, charge['currency'])})",
            )
        reason = _nullable(p.get("reason"))
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise _invalid("reason", f"Invalid reason: {reason}")
        refund = self._refund(charge, amount, reason, _apply_metadata({}, p.get("metadata")))
        return self._expand(self._present(refund), p.get("expand"))

    def _refund(self, charge: dict, amount: int, reason: str | None, metadata: dict) -> dict:
        refund = {
            "id": self._new_id("re_"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": "txn_" + _rand(24),
            "charge": charge["id"],
            "created": self.now(),
            "currency": charge["currency"],
            "customer": charge["customer"],
            "customer_account": None,
            "description": None,
            "destination_details": {
                "card": {
                    "reference": None,
                    "reference_status": "pending",
                    "reference_type": "acquirer_reference_number",
                    "type": "refund",
                },
                "type": "card",
            },
            "metadata": metadata,
            "payment_intent": charge["payment_intent"],
            "payment_method": charge["payment_method"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        self._store(refund)
        self._emit("refund.created", refund)
        before = self._present(charge)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        refunds = charge["refunds"]
        refunds["data"].insert(0, self._present(refund))
        refunds["total_count"] = len(refunds["data"])
        self._emit_update("charge.refunded", charge, before)
        return refund

    def _api_refund_retrieve(self, p, id):
        return self._expand(self._present(self._get("refund", id)), p.get("expand"))

    def _api_refund_list(self, p):
        objs = self._all("refund")
        for key in ("charge", "payment_intent"):
            if key in p:
                objs = [o for o in objs if o[key] == p[key]]
        return self._paginate("/v1/refunds", objs, p)

    def _api_event_retrieve(self, p, id):
        return self._expand(self._present(self._get("event", id)), p.get("expand"))

    def _api_event_list(self, p):
        objs = self._all("event")
        if "type" in p:
            objs = [o for o in objs if fnmatch.fnmatchcase(o["type"], p["type"])]
        if "types" in p:
            types = p["types"] if isinstance(p["types"], list) else [p["types"]]
            objs = [o for o in objs if o["type"] in types]
        return self._paginate("/v1/events", objs, p)

    # ==== Hosted pages ====================================================================

    def _handle_page(self, method: str, path: str, query: str, body: bytes, headers):
        """Returns (status, headers, html) for the hosted pages."""
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if method == "POST" else {}
        form = {k: v[-1] for k, v in form.items()}
        record = RecordedRequest(method, path, form, None, None, query=query)
        with self._lock:
            self.requests.append(record)
            try:
                status, extra, html = self._page(method, path, form)
            except _NotFound:
                status, extra, html = 404, {}, pages.message_page("Not found", path)
            except StripeError as error:
                status, extra, html = (
                    400,
                    {},
                    pages.message_page("Error", error.message, self.livemode),
                )
            record.status = status
            upto = self._queued
        return status, extra, html, upto

    def _page(self, method: str, path: str, form: dict):
        parts = path.strip("/").split("/")
        if parts[0] == "checkout" and len(parts) in (2, 3):
            session = self._objects.get(parts[1])
            if session is None or session["object"] != "checkout.session":
                raise _NotFound(path)
            if len(parts) == 2 and method == "GET":
                return self._checkout_view(session)
            if parts[2:] == ["pay"] and method == "POST":
                if session["status"] != "open":
                    return 400, {}, pages.closed_checkout_page(self._present(session))
                email = (form.get("email") or "").strip()
                try:
                    target = self._complete_checkout(session, email or None)
                except StripeError as error:
                    return self._checkout_view(
                        session, email=email, error=error.message, status=400
                    )
                return 303, {"Location": target}, ""
            if parts[2:] == ["cancel"] and method == "POST":
                target = session["cancel_url"] or session["success_url"]
                return 303, {"Location": target}, ""
        if parts[0] == "portal" and len(parts) in (2, 3):
            portal = self._objects.get(parts[1])
            if portal is None or portal["object"] != "billing_portal.session":
                raise _NotFound(path)
            if len(parts) == 2 and method == "GET":
                return 200, {}, self._portal_view(portal)
            if len(parts) == 2 and method == "POST":
                return self._portal_action(portal, form)
            if parts[2:] == ["return"] and method == "POST":
                return 303, {"Location": portal["return_url"] or self.url + "/"}, ""
        if parts[0] == "invoice" and len(parts) in (2, 3):
            invoice = self._objects.get(parts[1])
            if invoice is None or invoice["object"] != "invoice":
                raise _NotFound(path)
            if method == "GET":
                return 200, {}, pages.invoice_page(self._present(invoice))
            if parts[2:] == ["pay"] and method == "POST":
                if invoice["status"] == "open":
                    self._pay_open_invoice(invoice)
                return 303, {"Location": f"/invoice/{invoice['id']}"}, ""
        if parts[0] == "receipts" and len(parts) == 2 and method == "GET":
            charge = self._objects.get(parts[1])
            if charge is None or charge["object"] != "charge":
                raise _NotFound(path)
            return 200, {}, pages.receipt_page(self._present(charge))
        raise _NotFound(path)

    def _checkout_view(
        self, session: dict, *, email: str | None = None, error: str = "", status: int = 200
    ):
        if session["status"] != "open":
            return status, {}, pages.closed_checkout_page(self._present(session))
        customer = self._objects.get(session["customer"]) if session["customer"] else None
        locked = customer is not None and bool(customer["email"])
        if email is None or locked:
            email = (customer or {}).get("email") or session["customer_email"] or ""
        html = pages.checkout_page(
            self._present(session),
            self._session_items(session),
            email=email,
            email_locked=locked,
            error=error,
        )
        return status, {}, html

    def _price_label(self, price: dict) -> str:
        product = self._objects[price["product"]]
        name = price["nickname"] or product["name"]
        return (
            f"{name} — {pages.money(price['unit_amount'], price['currency'])} "
            f"{pages.recurring_text(price['recurring'])}"
        )

    def _portal_view(self, portal: dict, message: str = "") -> str:
        customer = self._objects[portal["customer"]]
        entries = []
        for sub in self._all("subscription"):
            if sub["customer"] != customer["id"] or sub["status"] == "incomplete_expired":
                continue
            presented = self._present(sub)
            item = sub["items"]["data"][0]
            price = self._objects[item["price"]]
            alternatives = [
                (other["id"], self._price_label(other))
                for other in reversed(self._all("price"))
                if other["product"] == price["product"]
                and other["id"] != price["id"]
                and other["active"]
                and other["type"] == "recurring"
                and other["currency"] == sub["currency"]
            ]
            entries.append(
                {
                    "subscription": presented,
                    "label": self._price_label(price),
                    "alternatives": alternatives,
                }
            )
        return pages.portal_page(self._present(portal), self._present(customer), entries, message)

    def _portal_action(self, portal: dict, form: dict):
        sub = self._objects.get(form.get("subscription", ""))
        if sub is None or sub["object"] != "subscription" or sub["customer"] != portal["customer"]:
            return 400, {}, self._portal_view(portal, "That subscription is not yours.")
        action = form.get("action")
        if sub["status"] in ("canceled", "incomplete_expired"):
            return 400, {}, self._portal_view(portal, "This subscription has ended.")
        if action == "cancel_at_period_end":
            self._update_subscription(sub, {"cancel_at_period_end": "true"})
            message = "Your subscription will be canceled at the end of the period."
        elif action == "renew":
            self._update_subscription(sub, {"cancel_at_period_end": "false"})
            message = "Your subscription has been renewed."
        elif action == "cancel_now":
            self._cancel_subscription(sub)
            message = "Your subscription has been canceled."
        elif action == "switch":
            item = sub["items"]["data"][0]
            self._update_subscription(
                sub, {"items": [{"id": item["id"], "price": form.get("price", "")}]}
            )
            message = "Your plan has been updated."
        else:
            return 400, {}, self._portal_view(portal, f"Unknown action {action!r}.")
        flow = portal["flow"] or {}
        redirect = (flow.get("after_completion") or {}).get("redirect") or {}
        if redirect.get("return_url"):
            return 303, {"Location": redirect["return_url"]}, ""
        return 200, {}, self._portal_view(portal, message)

    # ==== Completing Checkout =============================================================

    def _complete_checkout(
        self, session: dict, email: str | None, *, async_payment: bool = False
    ) -> str:
        """Pay an open session as the hosted page's "Pay" does; returns the success URL."""
        if session["status"] != "open":
            raise _invalid("session", "This Checkout Session is no longer active.")
        customer = self._objects.get(session["customer"]) if session["customer"] else None
        if customer is not None:
            email = customer["email"] or email
        else:
            email = email or session["customer_email"]
        if not email:
            raise _invalid("email", "An email address is required.")
        _email(email, "email")
        mode = session["mode"]
        if async_payment and mode != "payment":
            raise ValueError("async payments are only faked in payment mode")
        if customer is None and (
            mode == "subscription" or session["customer_creation"] == "always"
        ):
            customer = self._new_customer({"email": email})
        pm = self._new_payment_method(customer, email)
        session["customer_details"] = {
            "address": None,
            "business_name": None,
            "email": email,
            "individual_name": None,
            "name": None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        }
        if customer is not None:
            session["customer"] = customer["id"]
        if mode == "subscription":
            extra = session["_subscription_data"]
            lines = [(self._objects[i["price"]], i["quantity"]) for i in session["_line_items"]]
            if customer["invoice_settings"]["default_payment_method"] is None:
                customer["invoice_settings"]["default_payment_method"] = pm["id"]
            sub = self._start_subscription(
                customer,
                lines,
                metadata=extra["metadata"],
                description=extra["description"],
                trial_days=extra["trial_period_days"],
                payment_method=pm,
            )
            session["subscription"] = sub["id"]
            session["invoice"] = sub["latest_invoice"]
            session.update(status="complete", payment_status="paid", url=None)
            if extra["trial_period_days"]:
                session["payment_status"] = "no_payment_required"
            self._emit("checkout.session.completed", session)
        else:
            extra = session["_payment_intent_data"]
            pi = self._new_payment_intent(
                session["amount_total"],
                session["currency"],
                customer,
                description=extra["description"],
                metadata=extra["metadata"],
                receipt_email=extra["receipt_email"],
                payment_method=pm,
            )
            session["payment_intent"] = pi["id"]
            self._settle_payment_intent(pi, "processing" if async_payment else "paid", email)
            session.update(
                status="complete", url=None, payment_status="unpaid" if async_payment else "paid"
            )
            self._emit("checkout.session.completed", session)
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])

    # ==== Helpers for tests ===============================================================

    def _run(self, fn, *args, **kwargs):
        """Run a state change under the lock, then deliver its events before returning."""
        with self._lock:
            result = fn(*args, **kwargs)
            upto = self._queued
        if self.auto_deliver:
            self._flush(upto)
        return result

    def complete_checkout(
        self, session_id: str, email: str | None = None, *, async_payment: bool = False
    ) -> str:
        """Do what the hosted page's "Pay" does; return the success URL to visit.
        ``async_payment`` (payment mode): complete with ``payment_status="unpaid"`` as a bank
        debit would; ``settle_async_payment`` then succeeds or fails it."""

        def run():
            return self._complete_checkout(
                self._get("checkout.session", session_id), email, async_payment=async_payment
            )

        return self._run(run)

    def settle_async_payment(self, session_id: str, succeeded: bool = True) -> dict:
        """Finish a delayed payment: checkout.session.async_payment_succeeded or _failed."""

        def run():
            session = self._get("checkout.session", session_id)
            pi = self._objects[session["payment_intent"]]
            charge = self._objects[pi["latest_charge"]]
            if succeeded:
                charge.update(
                    status="succeeded", paid=True, captured=True, amount_captured=charge["amount"]
                )
                self._emit("charge.succeeded", charge)
                pi.update(status="succeeded", amount_received=pi["amount"])
                self._emit("payment_intent.succeeded", pi)
                session["payment_status"] = "paid"
                self._emit("checkout.session.async_payment_succeeded", session)
            else:
                charge.update(
                    status="failed",
                    failure_code="insufficient_funds",
                    failure_message="The account has insufficient funds.",
                )
                self._emit("charge.failed", charge)
                pi.update(status="requires_payment_method")
                self._emit("payment_intent.payment_failed", pi)
                self._emit("checkout.session.async_payment_failed", session)
            return self._present(session)

        return self._run(run)

    def expire_checkout_session(self, session_id: str) -> dict:
        def run():
            session = self._get("checkout.session", session_id)
            self._expire_session(session)
            return self._present(session)

        return self._run(run)

    def create_subscription(
        self,
        customer_id: str,
        price_id: str,
        quantity: int = 1,
        *,
        metadata: dict | None = None,
        trial_days: int | None = None,
        outcome: str = "paid",
    ) -> dict:
        """A subscription as if created through the API with a saved card (no Checkout)."""

        def run():
            customer = self._get("customer", customer_id)
            price = self._get("price", price_id)
            pm = self._new_payment_method(customer, customer["email"])
            return self._present(
                self._start_subscription(
                    customer,
                    [(price, quantity)],
                    metadata=metadata,
                    trial_days=trial_days,
                    payment_method=pm,
                    outcome=outcome,
                    incomplete_first=outcome == "paid",
                )
            )

        return self._run(run)

    def advance_subscription(self, subscription_id: str, outcome: str = "paid") -> dict:
        """Move a subscription to the end of its period, as a test clock would.

        A subscription set to cancel at period end is canceled (``customer.subscription.
        deleted``). Otherwise a new period starts and a ``subscription_cycle`` invoice is
        collected: ``outcome="paid"`` (renewal), ``"failed"`` (invoice.payment_failed, the
        subscription goes ``past_due``) or ``"action_required"``
        (invoice.payment_action_required, ``past_due``). Returns the subscription."""
        if outcome not in ("paid", "failed", "action_required"):
            raise ValueError(outcome)

        def run():
            sub = self._get("subscription", subscription_id)
            if sub["status"] in ("canceled", "incomplete_expired"):
                raise ValueError(f"{subscription_id} is {sub['status']}")
            period_end = self._period_end(sub)
            if sub["cancel_at"] and sub["cancel_at"] <= period_end:
                self._cancel_subscription(sub, at=sub["cancel_at"])
                return self._present(sub)
            before = self._present(sub)
            old_start = min(i["current_period_start"] for i in sub["items"]["data"])
            for item in sub["items"]["data"]:
                recurring = self._objects[item["price"]]["recurring"]
                item["current_period_start"] = item["current_period_end"]
                item["current_period_end"] = _add_interval(
                    item["current_period_end"], recurring["interval"], recurring["interval_count"]
                )
            if sub["status"] == "trialing":
                sub["status"] = "active"
            invoice = self._new_invoice(sub, "subscription_cycle", old_start, period_end)
            sub["latest_invoice"] = invoice["id"]
            self._emit_update("customer.subscription.updated", sub, before)
            self._emit("invoice.created", invoice)
            self._finalize_invoice(invoice)
            self._collect_invoice(invoice, outcome, description="Subscription update")
            if outcome != "paid" and sub["status"] == "active":
                before = self._present(sub)
                sub["status"] = "past_due"
                self._emit_update("customer.subscription.updated", sub, before)
            return self._present(sub)

        return self._run(run)

    def fail_renewal(self, subscription_id: str) -> dict:
        """Renewal whose card is declined: invoice.payment_failed, subscription ``past_due``."""
        return self.advance_subscription(subscription_id, outcome="failed")

    def require_action_on_renewal(self, subscription_id: str) -> dict:
        """Renewal that needs 3-D Secure: invoice.payment_action_required, ``past_due``."""
        return self.advance_subscription(subscription_id, outcome="action_required")

    def pay_invoice(self, invoice_id: str) -> dict:
        """Pay an open invoice (the customer fixed the card); past_due → active."""

        def run():
            invoice = self._get("invoice", invoice_id)
            self._pay_open_invoice(invoice)
            return self._present(invoice)

        return self._run(run)

    def set_subscription_status(self, subscription_id: str, status: str) -> dict:
        """Force a status (e.g. ``unpaid``, ``incomplete_expired``) and emit the update."""

        def run():
            sub = self._get("subscription", subscription_id)
            before = self._present(sub)
            sub["status"] = status
            if status in ("canceled", "incomplete_expired"):
                sub["ended_at"] = sub["ended_at"] or self.now()
                self._emit("customer.subscription.deleted", sub)
            else:
                self._emit_update("customer.subscription.updated", sub, before)
            return self._present(sub)

        return self._run(run)

    def pause_subscription(self, subscription_id: str) -> dict:
        """Status ``paused`` (as a trial without payment method ends): .paused + .updated."""

        def run():
            sub = self._get("subscription", subscription_id)
            before = self._present(sub)
            sub["status"] = "paused"
            self._emit("customer.subscription.paused", sub)
            self._emit_update("customer.subscription.updated", sub, before)
            return self._present(sub)

        return self._run(run)

    def _resume(self, sub: dict) -> None:
        before = self._present(sub)
        sub["status"] = "active"
        self._emit("customer.subscription.resumed", sub)
        self._emit_update("customer.subscription.updated", sub, before)

    def resume_subscription(self, subscription_id: str) -> dict:
        def run():
            sub = self._get("subscription", subscription_id)
            self._resume(sub)
            return self._present(sub)

        return self._run(run)

    def cancel_subscription(self, subscription_id: str) -> dict:
        """Cancel now (as "Cancel now" in the portal or the Dashboard)."""

        def run():
            sub = self._get("subscription", subscription_id)
            self._cancel_subscription(sub)
            return self._present(sub)

        return self._run(run)

    def refund(self, charge_id: str, amount: int | None = None, reason: str | None = None) -> dict:
        """Refund from the Dashboard: refund.created + charge.refunded."""

        def run():
            charge = self._get("charge", charge_id)
            remaining = charge["amount"] - charge["amount_refunded"]
            value = remaining if amount is None else amount
            if not 0 < value <= remaining:
                raise ValueError(f"cannot refund {value} of {charge_id} ({remaining} left)")
            return self._present(self._refund(charge, value, reason, {}))

        return self._run(run)

    def dispute_charge(
        self, charge_id: str, *, reason: str = "fraudulent", amount: int | None = None
    ) -> dict:
        """The cardholder disputes a charge: charge.dispute.created."""

        def run():
            charge = self._get("charge", charge_id)
            now = self.now()
            dispute = {
                "id": self._new_id("dp_"),
                "object": "dispute",
                "amount": charge["amount"] if amount is None else amount,
                "balance_transactions": [],
                "charge": charge["id"],
                "created": now,
                "currency": charge["currency"],
                "enhanced_eligibility_types": [],
                "evidence": {},
                "evidence_details": {
                    "due_by": now + 21 * _DAY,
                    "enhanced_eligibility": {},
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                "intended_submission_method": None,
                "is_charge_refundable": False,
                "livemode": self.livemode,
                "metadata": {},
                "network_reason_code": "10.4",
                "payment_intent": charge["payment_intent"],
                "payment_method_details": {
                    "card": {
                        "brand": "visa",
                        "case_type": "chargeback",
                        "network_reason_code": "10.4",
                    },
                    "type": "card",
                },
                "reason": reason,
                "status": "needs_response",
            }
            self._store(dispute)
            charge["disputed"] = True
            self._emit("charge.dispute.created", dispute)
            return self._present(dispute)

        return self._run(run)

    def portal_action(
        self, portal_session_id: str, action: str, subscription_id: str, price_id: str | None = None
    ) -> None:
        """What the portal's buttons do, without HTML: ``cancel_at_period_end``, ``renew``,
        ``cancel_now`` or ``switch`` (with ``price_id``)."""

        def run():
            portal = self._get("billing_portal.session", portal_session_id)
            form = {"action": action, "subscription": subscription_id}
            if price_id:
                form["price"] = price_id
            status, _, _ = self._portal_action(portal, form)
            if status >= 400:
                raise ValueError(f"portal action {action} failed")

        self._run(run)


# --------------------------------------------------------------------------------------------
# Search queries: field:'value', field~'substr', -field:'v', metadata['k']:'v', >, <, AND/OR


_CLAUSE = re.compile(
    r"""\s*(-?)([a-z_.]+(?:\[['"][^'"]+['"]\])?)\s*(:|~|>=|<=|>|<)\s*
        (?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(-?\d+))\s*""",
    re.VERBOSE,
)


def _matches_query(obj: dict, query: str) -> bool:
    joiner = " OR " if " OR " in query else " AND "
    results = []
    for clause in query.split(joiner):
        match = _CLAUSE.fullmatch(clause)
        if not match:
            raise _invalid("query", f"Invalid search query: {clause!r}")
        negate, field_name, op, single, double, number = match.groups()
        value = single if single is not None else double if double is not None else number
        meta = re.fullmatch(r"metadata\[['\"]([^'\"]+)['\"]\]", field_name)
        if meta:
            actual = (obj.get("metadata") or {}).get(meta.group(1))
        else:
            actual = obj
            for part in field_name.split("."):
                actual = actual.get(part) if isinstance(actual, dict) else None
        if op == ":":
            if isinstance(actual, bool):
                ok = str(actual).lower() == value.lower()
            else:
                ok = actual is not None and str(actual).lower() == value.lower()
        elif op == "~":
            ok = actual is not None and value.lower() in str(actual).lower()
        else:
            try:
                left, right = float(actual), float(value)
            except (TypeError, ValueError):
                ok = False
            else:
                ok = {
                    ">": left > right,
                    "<": left < right,
                    ">=": left >= right,
                    "<=": left <= right,
                }[op]
        results.append(ok != bool(negate))
    return any(results) if joiner == " OR " else all(results)


# --------------------------------------------------------------------------------------------
# Routes: (method, path pattern, handler, stripe.params class for parameter names)

_ID = r"(?P<id>[^/]+)"
_ROUTES = [
    ("POST", "/v1/customers", "_api_customer_create", "CustomerCreateParams"),
    ("GET", "/v1/customers", "_api_customer_list", "CustomerListParams"),
    ("GET", "/v1/customers/search", "_api_customer_search", "CustomerSearchParams"),
    ("GET", f"/v1/customers/{_ID}", "_api_customer_retrieve", "CustomerRetrieveParams"),
    ("POST", f"/v1/customers/{_ID}", "_api_customer_update", "CustomerUpdateParams"),
    ("DELETE", f"/v1/customers/{_ID}", "_api_customer_delete", "CustomerDeleteParams"),
    ("POST", "/v1/products", "_api_product_create", "ProductCreateParams"),
    ("GET", "/v1/products", "_api_product_list", "ProductListParams"),
    ("GET", "/v1/products/search", "_api_product_search", "ProductSearchParams"),
    ("GET", f"/v1/products/{_ID}", "_api_product_retrieve", "ProductRetrieveParams"),
    ("POST", f"/v1/products/{_ID}", "_api_product_update", "ProductUpdateParams"),
    ("DELETE", f"/v1/products/{_ID}", "_api_product_delete", "ProductDeleteParams"),
    ("POST", "/v1/prices", "_api_price_create", "PriceCreateParams"),
    ("GET", "/v1/prices", "_api_price_list", "PriceListParams"),
    ("GET", "/v1/prices/search", "_api_price_search", "PriceSearchParams"),
    ("GET", f"/v1/prices/{_ID}", "_api_price_retrieve", "PriceRetrieveParams"),
    ("POST", f"/v1/prices/{_ID}", "_api_price_update", "PriceUpdateParams"),
    ("POST", "/v1/checkout/sessions", "_api_checkout_create", "checkout.SessionCreateParams"),
    ("GET", "/v1/checkout/sessions", "_api_checkout_list", "checkout.SessionListParams"),
    (
        "GET",
        f"/v1/checkout/sessions/{_ID}",
        "_api_checkout_retrieve",
        "checkout.SessionRetrieveParams",
    ),
    (
        "POST",
        f"/v1/checkout/sessions/{_ID}",
        "_api_checkout_update",
        "checkout.SessionUpdateParams",
    ),
    (
        "GET",
        f"/v1/checkout/sessions/{_ID}/line_items",
        "_api_checkout_line_items",
        "checkout.SessionLineItemListParams",
    ),
    (
        "POST",
        f"/v1/checkout/sessions/{_ID}/expire",
        "_api_checkout_expire",
        "checkout.SessionExpireParams",
    ),
    (
        "POST",
        "/v1/billing_portal/sessions",
        "_api_portal_create",
        "billing_portal.SessionCreateParams",
    ),
    ("GET", "/v1/subscriptions", "_api_subscription_list", "SubscriptionListParams"),
    ("GET", "/v1/subscriptions/search", "_api_subscription_search", "SubscriptionSearchParams"),
    ("GET", f"/v1/subscriptions/{_ID}", "_api_subscription_retrieve", "SubscriptionRetrieveParams"),
    ("POST", f"/v1/subscriptions/{_ID}", "_api_subscription_update", "SubscriptionUpdateParams"),
    ("DELETE", f"/v1/subscriptions/{_ID}", "_api_subscription_cancel", "SubscriptionCancelParams"),
    (
        "POST",
        f"/v1/subscriptions/{_ID}/resume",
        "_api_subscription_resume",
        "SubscriptionResumeParams",
    ),
    ("GET", "/v1/subscription_items", "_api_subscription_item_list", "SubscriptionItemListParams"),
    (
        "GET",
        f"/v1/subscription_items/{_ID}",
        "_api_subscription_item_retrieve",
        "SubscriptionItemRetrieveParams",
    ),
    ("GET", "/v1/invoices", "_api_invoice_list", "InvoiceListParams"),
    ("GET", "/v1/invoices/search", "_api_invoice_search", "InvoiceSearchParams"),
    ("GET", f"/v1/invoices/{_ID}", "_api_invoice_retrieve", "InvoiceRetrieveParams"),
    ("GET", f"/v1/invoices/{_ID}/lines", "_api_invoice_lines", "InvoiceLineItemListParams"),
    ("POST", f"/v1/invoices/{_ID}/pay", "_api_invoice_pay", "InvoicePayParams"),
    ("GET", "/v1/invoice_payments", "_api_invoice_payment_list", "InvoicePaymentListParams"),
    (
        "GET",
        f"/v1/invoice_payments/{_ID}",
        "_api_invoice_payment_retrieve",
        "InvoicePaymentRetrieveParams",
    ),
    ("GET", "/v1/charges", "_api_charge_list", "ChargeListParams"),
    ("GET", "/v1/charges/search", "_api_charge_search", "ChargeSearchParams"),
    ("GET", f"/v1/charges/{_ID}", "_api_charge_retrieve", "ChargeRetrieveParams"),
    ("GET", "/v1/payment_intents", "_api_payment_intent_list", "PaymentIntentListParams"),
    (
        "GET",
        "/v1/payment_intents/search",
        "_api_payment_intent_search",
        "PaymentIntentSearchParams",
    ),
    (
        "GET",
        f"/v1/payment_intents/{_ID}",
        "_api_payment_intent_retrieve",
        "PaymentIntentRetrieveParams",
    ),
    (
        "GET",
        f"/v1/payment_methods/{_ID}",
        "_api_payment_method_retrieve",
        "PaymentMethodRetrieveParams",
    ),
    ("POST", "/v1/refunds", "_api_refund_create", "RefundCreateParams"),
    ("GET", "/v1/refunds", "_api_refund_list", "RefundListParams"),
    ("GET", f"/v1/refunds/{_ID}", "_api_refund_retrieve", "RefundRetrieveParams"),
    ("GET", "/v1/disputes", "_api_dispute_list", "DisputeListParams"),
    ("GET", f"/v1/disputes/{_ID}", "_api_dispute_retrieve", "DisputeRetrieveParams"),
    ("GET", "/v1/events", "_api_event_list", "EventListParams"),
    ("GET", f"/v1/events/{_ID}", "_api_event_retrieve", "EventRetrieveParams"),
]


# --------------------------------------------------------------------------------------------
# HTTP


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripe
    server_version = "FakeStripe/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls

    def log_message(self, format, *args):
        pass  # no per-request log lines on stderr

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake = self.fake
        if url.path.startswith("/v1/") or url.path == "/v1":
            status, payload, headers, upto = fake._handle_api(
                method, url.path, url.query, body, self.headers
            )
            data = json.dumps(payload, indent=2).encode()
            headers = {
                "Content-Type": "application/json",
                "Stripe-Version": self.headers.get("Stripe-Version") or API_VERSION,
                **headers,
            }
            if fake.auto_deliver and fake.deliver_before_response:
                fake._flush(upto)
            self._send(status, headers, data)
            if fake.auto_deliver and not fake.deliver_before_response:
                fake._flush(upto)
            return
        status, headers, html, upto = fake._handle_page(
            method, url.path, url.query, body, self.headers
        )
        if fake.auto_deliver:
            fake._flush(upto)
        self._send(status, {"Content-Type": "text/html; charset=utf-8", **headers}, html.encode())

    def _send(self, status: int, headers: dict, data: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
