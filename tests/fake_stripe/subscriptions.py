"""Subscriptions and their invoices: how they start, renew, fail, change and end.

In the 2025+ layout: the billing period lives on each subscription item
(``current_period_start``/``_end``; the subscription has none), items carry their ``price`` and
the legacy ``plan`` view of it, and ``start_date`` is when the subscription began. An invoice
names its subscription under ``parent.subscription_details.subscription`` and its lines name
their price under ``pricing.price_details.price``; the top-level ``subscription`` is null (as in
``fixtures3.json``) and there is no ``charge`` or ``payment_intent`` (see ``payments.py``).

``cancellation_details`` says why a subscription ended: ``reason`` ``cancellation_requested``
(the portal, ``DELETE /v1/subscriptions/{id}``, the Dashboard), ``payment_failed`` (the last
retry failed) or ``payment_disputed``; ``feedback`` and ``comment`` are what the customer or the
API call gave. Scheduling a cancellation at period end sets the reason at once; renewing clears
it.

API: retrieve, list (``status``, default every status but canceled; ``customer``, ``price``,
``created``), update (``cancel_at_period_end``, ``cancellation_details[comment|feedback]``,
``metadata``; other parameters are refused as not faked), cancel
(``cancellation_details[comment|feedback]``); invoices list (``customer``,
``subscription``, ``status``, ``created``) and retrieve. Events: ``customer.subscription.created
/updated/deleted/paused/resumed``, ``invoice.created/finalized`` and those of the payment.
"""

from __future__ import annotations

from . import pages
from .server import DAY, add_interval, api, apply_metadata, invalid, nullable, nulls, to_bool

ENDED = ("canceled", "incomplete_expired")
REASONS = ("cancellation_requested", "payment_failed", "payment_disputed")
FEEDBACK = (
    "customer_service",
    "low_quality",
    "missing_features",
    "other",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
)


class Subscriptions:
    # ==== Subscriptions ===================================================================

    def _present(self, obj: dict) -> dict:
        out = super()._present(obj)
        if out["object"] == "subscription":
            for item in out["items"]["data"]:
                price = self._objects[item["price"]]
                item["price"] = self._present(price)
                item["plan"] = self._plan(price)
        return out

    def _period_end(self, sub: dict) -> int:
        return max(item["current_period_end"] for item in sub["items"]["data"])

    def _subscription_item(
        self, sub_id: str, price: dict, quantity: int, start: int, end: int
    ) -> dict:
        return {
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

    def _start_subscription(
        self,
        customer: dict,
        lines: list[tuple[dict, int]],
        *,
        metadata: dict | None = None,
        description: str | None = None,
        trial_days: int | None = None,
        payment_method: str | None = None,
        outcome: str = "paid",
        incomplete_first: bool = True,
    ) -> dict:
        """Create a subscription and its first invoice and pay it, emitting Stripe's events.
        ``incomplete_first``: created as ``incomplete`` then updated to ``active`` once paid,
        as Checkout does."""
        now = self.now()
        sub_id = self._new_id("sub_")
        trial_end = now + trial_days * DAY if trial_days else None
        items = []
        for price, quantity in lines:
            recurring = price["recurring"]
            end = trial_end or add_interval(now, recurring["interval"], recurring["interval_count"])
            items.append(self._subscription_item(sub_id, price, quantity, now, end))
        sub = {
            "id": sub_id,
            "object": "subscription",
            **nulls(
                "application application_fee_percent billing_cycle_anchor_config "
                "billing_thresholds cancel_at canceled_at customer_account days_until_due "
                "default_source ended_at latest_invoice managed_payments "
                "next_pending_invoice_item_invoice on_behalf_of pause_collection "
                "pending_invoice_item_interval pending_setup_intent pending_update "
                "presentment_details schedule status_details test_clock transfer_data"
            ),
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": trial_end or now,
            "billing_mode": {
                "flexible": {"proration_discounts": "included"},
                "type": "flexible",
                "updated_at": None,
            },
            "billing_schedules": [],
            "cancel_at_period_end": False,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": now,
            "currency": lines[0][0]["currency"],
            "customer": customer["id"],
            "default_payment_method": payment_method,
            "default_tax_rates": [],
            "description": description,
            "discounts": [],
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": {
                "object": "list",
                "data": items,
                "has_more": False,
                "total_count": len(items),
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "livemode": self.livemode,
            "metadata": dict(metadata or {}),
            "payment_settings": {
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            "start_date": now,
            "status": "trialing"
            if trial_days
            else ("incomplete" if incomplete_first else "active"),
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

    def _renew(self, sub: dict, outcome: str) -> None:
        """The period is over: the next one starts and its invoice is collected."""
        period_end = self._period_end(sub)
        before = self._present(sub)
        old_start = min(i["current_period_start"] for i in sub["items"]["data"])
        for item in sub["items"]["data"]:
            recurring = self._objects[item["price"]]["recurring"]
            item["current_period_start"] = item["current_period_end"]
            item["current_period_end"] = add_interval(
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

    def _schedule_cancel(self, sub: dict, *, feedback=None, comment=None) -> None:
        """Cancel at the end of the period (the portal's "Cancel at period end")."""
        before = self._present(sub)
        sub.update(
            cancel_at_period_end=True, cancel_at=self._period_end(sub), canceled_at=self.now()
        )
        sub["cancellation_details"] = {
            "comment": comment,
            "feedback": feedback,
            "reason": "cancellation_requested",
        }
        self._emit_update("customer.subscription.updated", sub, before)

    def _unschedule_cancel(self, sub: dict) -> None:
        """Keep renewing after all (the portal's "Renew")."""
        before = self._present(sub)
        sub.update(cancel_at_period_end=False, cancel_at=None, canceled_at=None)
        sub["cancellation_details"] = {"comment": None, "feedback": None, "reason": None}
        self._emit_update("customer.subscription.updated", sub, before)

    def _switch_price(self, sub: dict, price_id: str, param: str = "price") -> None:
        """Another price on the subscription's (first) item. A change of billing interval
        starts a new period at once and invoices it in full (no proration), as the portal's
        plan switch does here."""
        price = self._get("price", price_id, param)
        if not price["active"]:
            raise invalid(
                param, "The price specified is inactive. This field only accepts active prices."
            )
        if price["type"] != "recurring":
            raise invalid(
                param,
                "The price specified is set to `type=one_time` but this field only accepts "
                "prices with `type=recurring`.",
            )
        if price["currency"] != sub["currency"]:
            raise invalid(
                param,
                f"The price specified does not match the subscription's currency "
                f"({sub['currency']}).",
            )
        now = self.now()
        before = self._present(sub)
        items = sub["items"]["data"]
        old_intervals = {self._objects[i["price"]]["recurring"]["interval"] for i in items}
        items[0]["price"] = price["id"]
        new_intervals = {self._objects[i["price"]]["recurring"]["interval"] for i in items}
        invoice = None
        if new_intervals != old_intervals and sub["status"] in ("active", "trialing", "past_due"):
            for item in items:
                recurring = self._objects[item["price"]]["recurring"]
                item["current_period_start"] = now
                item["current_period_end"] = add_interval(
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

    def _cancel_subscription(
        self,
        sub: dict,
        *,
        at: int | None = None,
        reason: str = "cancellation_requested",
        comment: str | None = None,
        feedback: str | None = None,
    ) -> None:
        """End the subscription now (or at ``at``, a scheduled end): .deleted."""
        if reason not in REASONS:
            raise ValueError(f"cancellation reason {reason!r} is not one of {REASONS}")
        if feedback is not None and feedback not in FEEDBACK:
            raise invalid(
                "cancellation_details[feedback]", f"Invalid feedback: must be one of {FEEDBACK}"
            )
        now = self.now()
        sub["status"] = "canceled"
        sub["canceled_at"] = sub["canceled_at"] or now
        sub["ended_at"] = at or now
        details = sub["cancellation_details"]
        details["reason"] = reason
        if comment is not None:
            details["comment"] = comment
        if feedback is not None:
            details["feedback"] = feedback
        self._emit("customer.subscription.deleted", sub)

    def _resume(self, sub: dict) -> None:
        before = self._present(sub)
        sub["status"] = "active"
        self._emit("customer.subscription.resumed", sub)
        self._emit_update("customer.subscription.updated", sub, before)

    @api("GET", "/v1/subscriptions/{id}", "SubscriptionRetrieveParams")
    def _api_subscription_retrieve(self, p, id):
        return self._retrieved("subscription", id, p)

    @api("DELETE", "/v1/subscriptions/{id}", "SubscriptionCancelParams")
    def _api_subscription_cancel(self, p, id):
        sub = self._get("subscription", id)
        if sub["status"] in ENDED:
            raise invalid("id", f"This subscription has already been canceled ({id}).")
        details = p.get("cancellation_details") or {}
        self._cancel_subscription(
            sub,
            comment=nullable(details.get("comment")),
            feedback=nullable(details.get("feedback")),
        )
        return self._expand(self._present(sub), p.get("expand"))

    # What POST /v1/subscriptions/{id} accepts here; Stripe's other update parameters (items,
    # proration, trials, collection…) are refused as not faked.
    UPDATABLE = frozenset({"cancel_at_period_end", "cancellation_details", "metadata", "expand"})

    @api("POST", "/v1/subscriptions/{id}", "SubscriptionUpdateParams")
    def _api_subscription_update(self, p, id):
        sub = self._get("subscription", id)
        for key in p:
            if key not in self.UPDATABLE:
                raise invalid(key, f"The fake does not support updating {key} of a subscription.")
        details = p.get("cancellation_details", {})
        if not isinstance(details, dict):
            raise invalid("cancellation_details", "Invalid object")
        if "feedback_option" in details:
            raise invalid(
                "cancellation_details[feedback_option]",
                "The fake does not support feedback_option.",
            )
        comment = nullable(details.get("comment"))
        feedback = nullable(details.get("feedback"))
        if feedback is not None and feedback not in FEEDBACK:
            raise invalid(
                "cancellation_details[feedback]", f"Invalid feedback: must be one of {FEEDBACK}"
            )
        if comment is not None and len(comment) > 500:
            raise invalid(
                "cancellation_details[comment]", "Comments can have up to 500 characters."
            )
        if sub["status"] in ENDED and "cancel_at_period_end" in p:
            raise invalid(
                "cancel_at_period_end",
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        if "cancel_at_period_end" in p:
            cancel = to_bool(p["cancel_at_period_end"], "cancel_at_period_end")
            if cancel and not sub["cancel_at_period_end"]:
                self._schedule_cancel(sub, feedback=feedback, comment=comment)
                details = {}
            elif not cancel and sub["cancel_at_period_end"]:
                self._unschedule_cancel(sub)
        before = self._present(sub)
        if "comment" in details:
            sub["cancellation_details"]["comment"] = comment
        if "feedback" in details:
            sub["cancellation_details"]["feedback"] = feedback
        if "metadata" in p:
            sub["metadata"] = apply_metadata(sub["metadata"], p["metadata"])
        self._emit_update("customer.subscription.updated", sub, before)
        return self._expand(self._present(sub), p.get("expand"))

    @api("GET", "/v1/subscriptions", "SubscriptionListParams")
    def _api_subscription_list(self, p):
        objs = self._all("subscription")
        status = p.get("status")
        if status is None:
            objs = [o for o in objs if o["status"] != "canceled"]
        elif status == "ended":
            objs = [o for o in objs if o["status"] in ENDED]
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
                raise invalid("status", f"Invalid status: {status}")
            objs = [o for o in objs if o["status"] == status]
        if "customer" in p:
            objs = [o for o in objs if o["customer"] == p["customer"]]
        if "price" in p:
            objs = [o for o in objs if any(i["price"] == p["price"] for i in o["items"]["data"])]
        return self._paginate("/v1/subscriptions", objs, p)

    # ==== Invoices ========================================================================

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
            **nulls(
                "account_tax_ids application automatically_finalizes_at confirmation_secret "
                "custom_fields customer_account customer_shipping default_payment_method "
                "default_source description due_date effective_at ending_balance footer "
                "from_invoice hosted_invoice_url invoice_pdf last_finalization_error "
                "latest_revision next_payment_attempt number on_behalf_of receipt_number rendering "
                "shipping_cost shipping_details statement_descriptor status_details subscription "
                "test_clock threshold_reason webhooks_delivered_at"
            ),
            "account_country": "US",
            "account_name": self.account_name,
            "amount_due": total,
            "amount_overpaid": 0,
            "amount_paid": 0,
            "amount_paid_off_stripe": 0,
            "amount_remaining": total,
            "amount_shipping": 0,
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
            "billing_reason": billing_reason,
            "collection_method": "charge_automatically",
            "created": self.now(),
            "currency": sub["currency"],
            "customer": customer["id"],
            "customer_address": customer["address"],
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "customer_phone": customer["phone"],
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_tax_rates": [],
            "discounts": [],
            "issuer": {"type": "self"},
            "lines": {
                "object": "list",
                "data": lines,
                "has_more": False,
                "total_count": len(lines),
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": self.livemode,
            "metadata": {},
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
            "starting_balance": 0,
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            # As in fixtures3.json: kept but null; the link is parent.subscription_details.
            "subtotal": total,
            "subtotal_excluding_tax": total,
            "total": total,
            "total_discount_amounts": [],
            "total_excluding_tax": total,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
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

    @api("GET", "/v1/invoices/{id}", "InvoiceRetrieveParams")
    def _api_invoice_retrieve(self, p, id):
        return self._retrieved("invoice", id, p)

    @api("GET", "/v1/invoices", "InvoiceListParams")
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

    # ==== Helpers for tests ===============================================================

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
        """A subscription as if created through the API with a saved card (no Checkout):
        ``outcome`` ``"paid"`` (active), ``"failed"`` or ``"action_required"`` (incomplete)."""

        def run():
            return self._present(
                self._start_subscription(
                    self._get("customer", customer_id),
                    [(self._get("price", price_id), quantity)],
                    metadata=metadata,
                    trial_days=trial_days,
                    payment_method=self._new_id("pm_"),
                    outcome=outcome,
                    # Created through the API, it is active at once when the card pays and
                    # incomplete when it does not.
                    incomplete_first=outcome != "paid",
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
            if sub["status"] in ENDED:
                raise ValueError(f"{subscription_id} is {sub['status']}")
            if sub["cancel_at"] and sub["cancel_at"] <= self._period_end(sub):
                self._cancel_subscription(sub, at=sub["cancel_at"])
            else:
                self._renew(sub, outcome)
            return self._present(sub)

        return self._run(run)

    def fail_renewal(self, subscription_id: str) -> dict:
        """Renewal whose card is declined: invoice.payment_failed, subscription ``past_due``."""
        return self.advance_subscription(subscription_id, outcome="failed")

    def require_action_on_renewal(self, subscription_id: str) -> dict:
        """Renewal that needs 3-D Secure: invoice.payment_action_required, ``past_due``."""
        return self.advance_subscription(subscription_id, outcome="action_required")

    def fail_final_retry(self, subscription_id: str) -> dict:
        """The last automatic retry of a past-due subscription's open invoice is declined and
        Stripe's retry settings cancel the subscription: invoice.payment_failed (no next
        attempt), then customer.subscription.deleted with ``cancellation_details.reason``
        ``payment_failed``. Returns the subscription."""

        def run():
            sub = self._get("subscription", subscription_id)
            invoice = self._objects.get(sub["latest_invoice"])
            if sub["status"] not in ("past_due", "unpaid") or invoice["status"] != "open":
                raise ValueError(f"{subscription_id} has no failed payment to retry")
            self._collect_invoice(invoice, "failed", description="Subscription update", last=True)
            self._cancel_subscription(sub, reason="payment_failed")
            return self._present(sub)

        return self._run(run)

    def set_subscription_status(self, subscription_id: str, status: str) -> dict:
        """Force a status (e.g. ``unpaid``, ``incomplete_expired``) and emit the update."""

        def run():
            sub = self._get("subscription", subscription_id)
            before = self._present(sub)
            sub["status"] = status
            if status in ENDED:
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

    def resume_subscription(self, subscription_id: str) -> dict:
        """A paused subscription is active again: .resumed + .updated."""

        def run():
            sub = self._get("subscription", subscription_id)
            self._resume(sub)
            return self._present(sub)

        return self._run(run)

    def cancel_subscription(
        self,
        subscription_id: str,
        *,
        reason: str = "cancellation_requested",
        feedback: str | None = None,
        comment: str | None = None,
    ) -> dict:
        """Cancel now (the period is over, or "Cancel now" in the portal or the Dashboard);
        ``reason`` is one of ``cancellation_requested``, ``payment_failed``,
        ``payment_disputed``."""

        def run():
            sub = self._get("subscription", subscription_id)
            self._cancel_subscription(sub, reason=reason, feedback=feedback, comment=comment)
            return self._present(sub)

        return self._run(run)
