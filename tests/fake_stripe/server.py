"""The machinery every resource shares: HTTP, Stripe's wire format, the store, webhooks.

``StripeServer`` serves 127.0.0.1 in a background thread. Requests under ``/v1/`` are API calls:
the secret key is checked (``Authorization: Bearer`` or basic auth), form-encoded parameters are
parsed into nested dicts and lists (``a[b][0][c]=x``, ``a[]=x``), their names are checked against
the SDK's own ``stripe.params`` TypedDicts at every level (an unknown name gets Stripe's
``parameter_unknown`` 400), and the answer is JSON: the object, a list object, or Stripe's error
JSON (``{"error": {"type", "code", "message", "param", "doc_url"}}`` with 400, 401 or 404). A POST
with an ``Idempotency-Key`` that succeeded is replayed for the same key and parameters and
refused (``idempotency_error``) for others. Any other path is a hosted page.

Resource modules add their handlers with ``@api(method, path, params_class)`` and
``@page(method, path)``; ``{id}`` in a path stands for an object id. Objects live in one store
keyed by id; keys starting with ``_`` are internal and never shown. Lists are newest first with
``limit``, ``starting_after``, ``ending_before`` and ``created`` (an exact time or ``gt``/``gte``/
``lt``/``lte``); ``expand[]`` replaces ids by objects along dotted paths (``data.`` inside lists).

Events (see ``events.py``) are queued as they are made and POSTed in order to ``webhook_url``,
pretty-printed as Stripe sends them, with ``Stripe-Signature: t=…,v1=…`` (one ``v1`` per secret
during a rotation): after the HTTP response for API calls, before it for hosted-page actions,
and before returning for the test helpers.
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
from typing import Any, ClassVar, Self

import stripe

from . import pages

API_VERSION = stripe.api_version
DAY = 86400
_ALNUM = string.ascii_letters + string.digits
# Keys of the SDK's params TypedDicts that are request options, not parameters.
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
    ("in_", "invoice"),
    ("ch_", "charge"),
    ("pi_", "payment_intent"),
    ("re_", "refund"),
    ("dp_", "dispute"),
]


def rand(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


# --------------------------------------------------------------------------------------------
# Signatures


def compute_signature(payload: bytes | str, secret: str, timestamp: int) -> str:
    """The hex ``v1`` signature Stripe computes: HMAC-SHA256(secret, f"{timestamp}.{payload}"),
    over the payload's exact bytes."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    signed = f"{int(timestamp)}.".encode() + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(payload: bytes | str, secret: str | Iterable[str], timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value, ``t=<timestamp>,v1=<hex>`` (one ``v1`` per secret);
    the timestamp defaults to now."""
    if timestamp is None:
        timestamp = int(time.time())
    secrets_ = [secret] if isinstance(secret, str) else list(secret)
    parts = [f"t={int(timestamp)}"]
    parts += [f"v1={compute_signature(payload, s, timestamp)}" for s in secrets_]
    return ",".join(parts)


# --------------------------------------------------------------------------------------------
# Request parameters and their names


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
def params_class(name: str | None):
    """The ``stripe.params`` TypedDict named ``name`` (``"checkout.SessionCreateParams"``)."""
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


def check_params(params: dict, cls, prefix: str = "") -> None:
    """Refuse any parameter name the SDK's TypedDict ``cls`` does not declare, at any depth."""
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
            check_params(value, nested, path)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    check_params(item, nested, f"{path}[{i}]")


# --------------------------------------------------------------------------------------------
# Errors


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


def missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def invalid(param: str, message: str, code: str | None = None) -> StripeError:
    return StripeError(400, message, code=code, param=param)


def required(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def pname(prefix: str, *keys: str) -> str:
    """``pname("line_items[0][price_data]", "recurring", "interval")`` →
    ``line_items[0][price_data][recurring][interval]``; with no prefix the first key leads."""
    if not prefix:
        prefix, keys = keys[0], keys[1:]
    return prefix + "".join(f"[{k}]" for k in keys)


class PageNotFound(Exception):
    """A hosted page that does not exist (answered 404)."""


# --------------------------------------------------------------------------------------------
# Values


def to_int(value, param: str, *, minimum: int | None = 0, maximum: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(param, f"Invalid integer: {value}", "parameter_invalid_integer") from None
    if minimum is not None and number < minimum:
        raise invalid(
            param,
            f"This value must be greater than or equal to {minimum}.",
            "parameter_invalid_integer",
        )
    if maximum is not None and number > maximum:
        raise invalid(
            param,
            f"This value must be less than or equal to {maximum}.",
            "parameter_invalid_integer",
        )
    return number


def to_bool(value, param: str) -> bool:
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise invalid(param, f"Invalid boolean: {value}")


def to_url(value, param: str) -> str:
    parsed = urllib.parse.urlsplit(str(value).replace("{CHECKOUT_SESSION_ID}", "x"))
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(value) > 5000:
        raise invalid(param, "Not a valid URL", "url_invalid")
    return value


def to_email(value, param: str) -> str:
    if (
        not isinstance(value, str)
        or len(value) > 512
        or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value)
    ):
        raise invalid(param, f"Invalid email address: {value}", "email_invalid")
    return value


def to_currency(value, param: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise invalid(param, f"Invalid currency: {value}.")
    return value.lower()


def nulls(names: str) -> dict:
    """Fields that start null, named in one string: ``{**nulls("a b"), ...}``."""
    return dict.fromkeys(names.split())


def nullable(value):
    """An empty string unsets a field, as in Stripe's form encoding."""
    return None if value == "" else value


def apply_metadata(current: dict | None, update, param: str = "metadata") -> dict:
    """Stripe's metadata update: keys merged, an empty value removes its key, ``""`` clears."""
    result = dict(current or {})
    if update in ("", None):
        return {} if update == "" else result
    if not isinstance(update, dict):
        raise invalid(param, "Invalid object")
    for key, value in update.items():
        if len(key) > 40:
            raise invalid(f"{param}[{key}]", "Metadata keys can have up to 40 characters.")
        if not isinstance(value, str):
            raise invalid(f"{param}[{key}]", "Invalid metadata value")
        if len(value) > 500:
            raise invalid(f"{param}[{key}]", "Metadata values can have up to 500 characters.")
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    if len(result) > 50:
        raise invalid(param, "Metadata can have up to 50 keys.")
    return result


def add_interval(ts: int, interval: str, count: int = 1) -> int:
    """``ts`` moved on by ``count`` billing intervals (calendar months and years, as Stripe)."""
    if interval == "day":
        return ts + count * DAY
    if interval == "week":
        return ts + count * 7 * DAY
    months = count * (12 if interval == "year" else 1)
    start = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def diff(before, after):
    """Stripe's ``previous_attributes``: the old values of what changed (dicts recursively)."""
    out = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and key != "metadata":
            out[key] = diff(old, new)
        else:
            out[key] = old
    for key in after.keys() - before.keys():
        out[key] = None
    return out


# --------------------------------------------------------------------------------------------
# Records


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
# Routes


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as written, e.g. "/v1/customers/{id}"
    handler: str  # the method's name
    params: str | None  # the stripe.params class naming the allowed parameters (API only)

    @property
    def pattern(self) -> str:
        # "search" is no id: /v1/customers/search is Stripe's search, which is not faked.
        return re.escape(self.path).replace(r"\{id\}", r"(?P<id>(?!search$)[^/]+)")

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/v1/")


def api(method: str, path: str, params: str):
    """Mark a method as the API handler of ``method path``: called with the parsed parameters
    (and ``id``), it returns the JSON to answer. ``params`` names the ``stripe.params`` class
    whose fields are the parameters Stripe accepts there."""

    def mark(fn):
        fn.route = (method, path, params)
        return fn

    return mark


def page(method: str, path: str):
    """Mark a method as a hosted page: called with the posted form (and ``id``), it returns
    ``(status, headers, html)``."""

    def mark(fn):
        fn.route = (method, path, None)
        return fn

    return mark


# --------------------------------------------------------------------------------------------
# The server


class StripeServer:
    """The HTTP server, the store and webhook delivery; ``FakeStripe`` adds the resources."""

    routes: ClassVar[list[Route]] = []

    def __init_subclass__(cls, **kwargs):
        # Collect the handlers marked with @api and @page, from every resource mixin.
        super().__init_subclass__(**kwargs)
        cls.routes = []
        for name in sorted(dir(cls)):
            marked = getattr(getattr(cls, name, None), "route", None)
            if marked is not None:
                method, path, params = marked
                cls.routes.append(Route(method, path, name, params))

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
        self.portal_configuration = "bpc_" + rand(24)

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> str:
        """Bind 127.0.0.1 on a free port, serve in a background thread, return the base URL."""
        if self._server is not None:
            return self.url

        class Handler(_Handler):
            fake = self

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

    def __enter__(self) -> Self:
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

    # ---- clock, ids and the store --------------------------------------------------------

    def now(self) -> int:
        if self._clock is None:
            return int(time.time())
        value = self._clock()
        if isinstance(value, datetime.datetime):
            return int(value.timestamp())
        return int(value)

    def _new_id(self, prefix: str, length: int = 24) -> str:
        if prefix == "cs_":
            return ("cs_live_" if self.livemode else "cs_test_") + "a1" + rand(56)
        return prefix + rand(length)

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
            raise invalid(param, f"Invalid {kind} id: {object_id!r}")
        obj = self._objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise missing(kind, object_id, param)
        return obj

    def _all(self, kind: str) -> list[dict]:
        """Every object of a type, newest first."""
        found = [o for o in self._objects.values() if o["object"] == kind]
        return sorted(found, key=lambda o: self._order[o["id"]], reverse=True)

    # ---- what the API shows --------------------------------------------------------------

    def _present(self, obj: dict) -> dict:
        """A deep copy as the API shows it: internal keys dropped, ``id`` and ``object`` first,
        then the fields in alphabetical order, as Stripe writes them (resources add to it)."""
        keys = sorted(k for k in obj if not k.startswith("_"))
        keys.sort(key=lambda k: {"id": 0, "object": 1}.get(k, 2))
        return {k: copy.deepcopy(obj[k]) for k in keys}

    def _includable(self, obj: dict, key: str):
        """A field shown only when expanded (resources add theirs)."""
        raise invalid("expand", f"This property cannot be expanded ({key}).")

    def _retrieved(self, kind: str, object_id: str, p: dict) -> dict:
        """The answer to ``GET /v1/<kind>s/<id>``."""
        return self._expand(self._present(self._get(kind, object_id)), p.get("expand"))

    def _expand(self, obj: dict, paths) -> dict:
        if paths in (None, ""):
            return obj
        if isinstance(paths, str):
            paths = [paths]
        for path in paths:
            self._expand_path(obj, path.split("."))
        return obj

    def _expand_path(self, node, parts: list[str]) -> None:
        if not parts or node is None:
            return
        if isinstance(node, list):
            for element in node:
                self._expand_path(element, parts)
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
                raise invalid("expand", f"This property cannot be expanded ({key}).")
            value = node[key] = self._present(target)
        elif isinstance(value, list) and not rest:
            node[key] = [
                self._present(self._objects[v]) if isinstance(v, str) and v in self._objects else v
                for v in value
            ]
            return
        elif value is not None and not isinstance(value, (dict, list)):
            raise invalid("expand", f"This property cannot be expanded ({key}).")
        self._expand_path(value, rest)

    def _list_object(self, url: str, data: list[dict], *, has_more: bool = False) -> dict:
        return {"object": "list", "data": data, "has_more": has_more, "url": url}

    def _paginate(self, url: str, objs: list[dict], p: dict) -> dict:
        """A list answer: ``objs`` (newest first) filtered by ``created``, then one page."""
        objs = _created_filter(objs, p.get("created"))
        limit = to_int(p.get("limit", 10), "limit", minimum=1, maximum=100)
        ids = [o["id"] for o in objs]
        if p.get("starting_after"):
            if p["starting_after"] not in ids:
                raise missing(
                    self._kind_of(p["starting_after"]) or "object",
                    p["starting_after"],
                    "starting_after",
                )
            objs = objs[ids.index(p["starting_after"]) + 1 :]
        elif p.get("ending_before"):
            if p["ending_before"] not in ids:
                raise missing(
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

    def _route(self, method: str, path: str) -> tuple[Route, dict] | None:
        for route in self.routes:
            if route.method == method:
                match = re.fullmatch(route.pattern, path)
                if match:
                    return route, match.groupdict()
        return None

    def _handle_api(self, method: str, path: str, query: str, body: bytes, headers):
        """Answer an API call: (status, JSON payload, extra headers, events queued so far)."""
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
            request_id="req_" + rand(14),
        )
        extra_headers = {"Request-Id": record.request_id}
        with self._lock:
            self.requests.append(record)
            try:
                record.api_key = self._authenticate(headers)
                found = self._route(method, path)
                if found is None:
                    raise StripeError(
                        404,
                        f"Unrecognized request URL ({method}: {path}). Please see "
                        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                        code="resource_missing",
                    )
                route, kwargs = found
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
                    check_params(params, params_class(route.params))
                    self._context = (record.request_id, idempotency_key)
                    try:
                        payload = getattr(self, route.handler)(params, **kwargs)
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

    def _handle_page(self, method: str, path: str, query: str, body: bytes, headers):
        """Answer a hosted page: (status, headers, html, events queued so far)."""
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if method == "POST" else {}
        form = {k: v[-1] for k, v in form.items()}
        record = RecordedRequest(method, path, form, None, None, query=query)
        with self._lock:
            self.requests.append(record)
            found = self._route(method, path)
            try:
                if found is None or found[0].is_api:
                    raise PageNotFound(path)
                route, kwargs = found
                status, extra, html = getattr(self, route.handler)(form, **kwargs)
            except PageNotFound:
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

    def _page_object(self, kind: str, object_id: str) -> dict:
        """The object a hosted page is about, or a 404 page."""
        obj = self._objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise PageNotFound(object_id)
        return obj

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
        event_id: str | None,
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
            event_type = json.loads(payload).get("type")
        except (ValueError, AttributeError):
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

    def _run(self, fn, *args, **kwargs):
        """Run a test helper's state change under the lock, then deliver its events."""
        with self._lock:
            result = fn(*args, **kwargs)
            upto = self._queued
        if self.auto_deliver:
            self._flush(upto)
        return result

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

    # ---- reads for tests -----------------------------------------------------------------

    def get(self, object_id: str) -> dict:
        """The current state of any object, as the API would show it."""
        with self._lock:
            return self._present(self._objects[object_id])

    def objects(self, kind: str) -> list[dict]:
        """All objects of a type (``"customer"``, ``"subscription"``…), newest first."""
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


def _created_filter(objs: list[dict], created) -> list[dict]:
    """``created=<t>`` or ``created[gt|gte|lt|lte]=<t>`` on a list."""
    if created in (None, ""):
        return objs
    if not isinstance(created, dict):
        moment = to_int(created, "created")
        return [o for o in objs if o["created"] == moment]
    tests = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    for op, value in created.items():
        moment = to_int(value, f"created[{op}]")
        objs = [o for o in objs if tests[op](o["created"], moment)]
    return objs


# --------------------------------------------------------------------------------------------
# HTTP


class _Handler(BaseHTTPRequestHandler):
    fake: StripeServer
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
