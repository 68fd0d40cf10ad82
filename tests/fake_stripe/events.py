"""Events: what every state change records, and ``GET /v1/events``.

Each change emits the event Stripe would (``customer.subscription.updated`` with
``previous_attributes``, ``invoice.paid``…): the object as the API shows it at that moment, the
API request that caused it (``request.id``, ``request.idempotency_key``; null for hosted pages
and helpers), stored for the events endpoints and queued for the webhook when ``webhook_url`` is
set and the type is among ``enabled_events`` (shell-style patterns, ``*`` by default).
"""

from __future__ import annotations

import copy
import fnmatch
import json

from .server import API_VERSION, api, diff, invalid, rand


class Events:
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
            "id": "evt_" + rand(24),
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
        """Record the event of a change to ``obj`` and queue it for the webhook."""
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
        """An ``*.updated`` event carrying what changed since ``before`` (nothing: no event)."""
        previous = diff(before, self._present(obj))
        if not previous:
            return None
        return self._emit(type, obj, previous)

    # ---- API -----------------------------------------------------------------------------

    @api("GET", "/v1/events/{id}", "EventRetrieveParams")
    def _api_event_retrieve(self, p, id):
        return self._retrieved("event", id, p)

    @api("GET", "/v1/events", "EventListParams")
    def _api_event_list(self, p):
        """Newest first; ``type`` may end in ``*`` (``invoice.*``), ``types[]`` lists exact
        types, ``created`` filters (see ``StripeServer._paginate``)."""
        if "type" in p and "types" in p:
            raise invalid("types", "You may pass either `type` or `types`, but not both.")
        objs = self._all("event")
        if "type" in p:
            objs = [o for o in objs if fnmatch.fnmatchcase(o["type"], p["type"])]
        if "types" in p:
            types = p["types"] if isinstance(p["types"], list) else [p["types"]]
            objs = [o for o in objs if o["type"] in types]
        return self._paginate("/v1/events", objs, p)
