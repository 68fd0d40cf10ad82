"""Money moving: invoices paid or declined, charges, refunds, disputes.

Paying an invoice creates a payment intent (internal: only its events show it) linked to the
invoice by an invoice payment (internal too; ``invoice_payment.paid`` carries it), then a charge
with the test card: succeeded, failed (declined), or none while 3-D Secure is required. A
payment-mode Checkout confirms a payment intent directly, possibly ``processing`` (a bank
debit) until settled.

API: charges retrieve and list (``customer``, ``payment_intent``, ``created``); refunds create
(by ``charge`` or ``payment_intent``, whole or partial), retrieve, list (``charge``,
``payment_intent``, ``created``); disputes retrieve and list (``charge``, ``payment_intent``,
``created``), made by the ``dispute_charge`` helper. The page ``/invoice/{id}`` (an invoice's
``hosted_invoice_url``) shows it and, while open, "Pay invoice"; ``/receipts/{id}`` is a
charge's ``receipt_url``.

Events: ``payment_intent.created/succeeded/processing/payment_failed/requires_action``,
``charge.succeeded/pending/failed/refunded``, ``invoice.paid``, ``invoice.payment_succeeded``,
``invoice_payment.paid``, ``invoice.payment_failed``, ``invoice.payment_action_required``,
``refund.created``, ``charge.dispute.created``.
"""

from __future__ import annotations

import datetime

from . import pages
from .server import (
    DAY,
    StripeError,
    api,
    apply_metadata,
    invalid,
    nullable,
    nulls,
    page,
    rand,
    to_int,
)
from .subscriptions import ENDED


class Payments:
    # ==== Payment intents and charges =====================================================

    def _new_payment_intent(
        self,
        amount: int,
        currency: str,
        customer: dict | None,
        *,
        description=None,
        metadata=None,
        receipt_email=None,
        payment_method: str | None = None,
    ) -> dict:
        pi_id = self._new_id("pi_")
        pi = {
            "id": pi_id,
            "object": "payment_intent",
            **nulls(
                "application application_fee_amount automatic_payment_methods canceled_at "
                "cancellation_reason customer_account excluded_payment_method_types "
                "last_payment_error latest_charge managed_payments next_action on_behalf_of "
                "payment_method_configuration_details processing review setup_future_usage "
                "shipping source statement_descriptor statement_descriptor_suffix transfer_data "
                "transfer_group"
            ),
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "capture_method": "automatic",
            "client_secret": f"{pi_id}_secret_{rand(25)}",
            "confirmation_method": "automatic",
            "created": self.now(),
            "currency": currency,
            "customer": customer["id"] if customer else None,
            "description": description,
            "livemode": self.livemode,
            "metadata": dict(metadata or {}),
            "payment_method": payment_method,
            "payment_method_options": {
                "card": {
                    "installments": None,
                    "mandate_options": None,
                    "network": None,
                    "request_three_d_secure": "automatic",
                }
            },
            "payment_method_types": ["card"],
            "receipt_email": receipt_email,
            "status": "requires_payment_method"
            if payment_method is None
            else "requires_confirmation",
        }
        self._store(pi)
        self._emit("payment_intent.created", pi)
        return pi

    def _new_charge(self, pi: dict, status: str, email: str | None) -> dict:
        charge_id = self._new_id("ch_")
        succeeded = status == "succeeded"
        failed = status == "failed"
        charge = {
            "id": charge_id,
            "object": "charge",
            **nulls(
                "application application_fee application_fee_amount failure_balance_transaction "
                "on_behalf_of presentment_details radar_options receipt_number review shipping "
                "source source_transfer statement_descriptor statement_descriptor_suffix "
                "transfer_data transfer_group"
            ),
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if succeeded else 0,
            "amount_refunded": 0,
            "balance_transaction": ("txn_" + rand(24)) if succeeded else None,
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
            "failure_code": "card_declined" if failed else None,
            "failure_message": "Your card was declined." if failed else None,
            "fraud_details": {},
            "livemode": self.livemode,
            "metadata": dict(pi["metadata"]),
            "outcome": {
                "advice_code": None,
                "network_advice_code": None,
                "network_decline_code": None,
                "network_status": "declined_by_network" if failed else "approved_by_network",
                "reason": "generic_decline" if failed else None,
                "risk_level": "normal",
                "risk_score": 12,
                "seller_message": "The bank did not return any further details with this decline."
                if failed
                else "Payment complete.",
                "type": "issuer_declined" if failed else "authorized",
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
                    "fingerprint": rand(16),
                    "funding": "credit",
                    "last4": "4242",
                    "network": "visa",
                    "three_d_secure": None,
                    "wallet": None,
                },
                "type": "card",
            },
            "receipt_email": pi["receipt_email"] or email,
            "receipt_url": f"{self.url}/receipts/{charge_id}",
            "refunded": False,
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/charges/{charge_id}/refunds",
            },
            "status": status,
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

    def _settle_delayed_payment(self, pi: dict, succeeded: bool) -> None:
        """A ``processing`` payment (a bank debit) arrives or bounces."""
        charge = self._objects[pi["latest_charge"]]
        if succeeded:
            charge.update(
                status="succeeded", paid=True, captured=True, amount_captured=charge["amount"]
            )
            self._emit("charge.succeeded", charge)
            pi.update(status="succeeded", amount_received=pi["amount"])
            self._emit("payment_intent.succeeded", pi)
        else:
            charge.update(
                status="failed",
                failure_code="insufficient_funds",
                failure_message="The account has insufficient funds.",
            )
            self._emit("charge.failed", charge)
            pi.update(status="requires_payment_method")
            self._emit("payment_intent.payment_failed", pi)

    # ==== Paying invoices =================================================================

    def _invoice_payment(self, invoice: dict) -> dict | None:
        return next(
            (p for p in self._all("invoice_payment") if p["invoice"] == invoice["id"]), None
        )

    def _collect_invoice(
        self, invoice: dict, outcome: str, description: str, *, last: bool = False
    ) -> None:
        """Attempt to pay an open invoice (creating its payment intent on the first attempt).
        ``last``: no retry follows a failure."""
        now = self.now()
        if invoice["amount_due"] == 0:
            invoice.update(status="paid", auto_advance=False, attempted=True)
            invoice["status_transitions"]["paid_at"] = now
            self._emit("invoice.paid", invoice)
            self._emit("invoice.payment_succeeded", invoice)
            return
        customer = self._objects[invoice["customer"]]
        sub = self._objects.get(invoice["parent"]["subscription_details"]["subscription"])
        payment_method = (
            (sub and sub["default_payment_method"])
            or customer["invoice_settings"]["default_payment_method"]
            or self._new_id("pm_")
        )
        payment = self._invoice_payment(invoice)
        if payment is None:
            pi = self._new_payment_intent(
                invoice["amount_due"],
                invoice["currency"],
                customer,
                description=description,
                payment_method=payment_method,
            )
            payment = self._store(
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
        else:
            pi = self._objects[payment["payment"]["payment_intent"]]
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
            payment.update(status="paid", amount_paid=invoice["amount_due"])
            payment["status_transitions"]["paid_at"] = now
            self._emit("invoice_payment.paid", payment)
        elif outcome == "failed":
            invoice["next_payment_attempt"] = None if last else now + 3 * DAY
            self._emit("invoice.payment_failed", invoice)
        else:
            self._emit("invoice.payment_action_required", invoice)

    def _pay_open_invoice(self, invoice: dict) -> None:
        """The customer pays an open invoice (a new card); the subscription is active again."""
        if invoice["status"] != "open":
            raise invalid(
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

    @page("GET", "/invoice/{id}")
    def _page_invoice(self, form, id):
        invoice = self._page_object("invoice", id)
        return 200, {}, pages.invoice_page(self._present(invoice))

    @page("GET", "/invoice/{id}/pdf")
    def _page_invoice_pdf(self, form, id):
        return self._page_invoice(form, id)

    @page("POST", "/invoice/{id}/pay")
    def _page_invoice_pay(self, form, id):
        invoice = self._page_object("invoice", id)
        if invoice["status"] == "open":
            self._pay_open_invoice(invoice)
        return 303, {"Location": f"/invoice/{invoice['id']}"}, ""

    # ==== Charges =========================================================================

    @api("GET", "/v1/charges/{id}", "ChargeRetrieveParams")
    def _api_charge_retrieve(self, p, id):
        return self._retrieved("charge", id, p)

    @api("GET", "/v1/charges", "ChargeListParams")
    def _api_charge_list(self, p):
        objs = self._all("charge")
        for key in ("customer", "payment_intent"):
            if key in p:
                objs = [o for o in objs if o[key] == p[key]]
        return self._paginate("/v1/charges", objs, p)

    @page("GET", "/receipts/{id}")
    def _page_receipt(self, form, id):
        return 200, {}, pages.receipt_page(self._present(self._page_object("charge", id)))

    # ==== Refunds =========================================================================

    @api("POST", "/v1/refunds", "RefundCreateParams")
    def _api_refund_create(self, p):
        charge = None
        if p.get("charge"):
            charge = self._get("charge", p["charge"], "charge")
        if p.get("payment_intent"):
            pi = self._get("payment_intent", p["payment_intent"], "payment_intent")
            if not pi["latest_charge"] or pi["status"] != "succeeded":
                raise invalid(
                    "payment_intent",
                    f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                )
            if charge is not None and charge["id"] != pi["latest_charge"]:
                raise invalid("charge", "The charge does not belong to this PaymentIntent.")
            charge = self._objects[pi["latest_charge"]]
        if charge is None:
            raise StripeError(
                400,
                "One of the following params should be provided for this "
                "request: payment_intent or charge.",
                code="parameter_missing",
            )
        if charge["status"] != "succeeded":
            raise invalid("charge", f"Charge {charge['id']} has not succeeded.")
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise invalid(
                "charge",
                f"Charge {charge['id']} has already been refunded.",
                "charge_already_refunded",
            )
        amount = to_int(p["amount"], "amount", minimum=1) if "amount" in p else remaining
        if amount > remaining:
            raise invalid(
                "amount",
                f"Refund amount ({pages.money(amount, charge['currency'])}) is greater than "
                f"unrefunded amount on charge ({pages.money(remaining, charge['currency'])})",
            )
        reason = nullable(p.get("reason"))
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise invalid("reason", f"Invalid reason: {reason}")
        refund = self._refund(charge, amount, reason, apply_metadata({}, p.get("metadata")))
        return self._expand(self._present(refund), p.get("expand"))

    def _refund(self, charge: dict, amount: int, reason: str | None, metadata: dict) -> dict:
        refund = {
            "id": self._new_id("re_"),
            "object": "refund",
            **nulls(
                "customer_account description receipt_number source_transfer_reversal "
                "transfer_reversal"
            ),
            "amount": amount,
            "balance_transaction": "txn_" + rand(24),
            "charge": charge["id"],
            "created": self.now(),
            "currency": charge["currency"],
            "customer": charge["customer"],
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
            "status": "succeeded",
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

    @api("GET", "/v1/refunds/{id}", "RefundRetrieveParams")
    def _api_refund_retrieve(self, p, id):
        return self._retrieved("refund", id, p)

    @api("GET", "/v1/refunds", "RefundListParams")
    def _api_refund_list(self, p):
        objs = self._all("refund")
        for key in ("charge", "payment_intent"):
            if key in p:
                objs = [o for o in objs if o[key] == p[key]]
        return self._paginate("/v1/refunds", objs, p)

    # ==== Disputes ========================================================================

    def _new_dispute(self, charge: dict, reason: str, amount: int | None) -> dict:
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
                "due_by": now + 21 * DAY,
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
        return dispute

    @api("GET", "/v1/disputes/{id}", "DisputeRetrieveParams")
    def _api_dispute_retrieve(self, p, id):
        return self._retrieved("dispute", id, p)

    @api("GET", "/v1/disputes", "DisputeListParams")
    def _api_dispute_list(self, p):
        objs = self._all("dispute")
        for key in ("charge", "payment_intent"):
            if key in p:
                objs = [o for o in objs if o[key] == p[key]]
        return self._paginate("/v1/disputes", objs, p)

    def _subscription_of_charge(self, charge: dict) -> dict | None:
        """The subscription whose invoice this charge paid, if any."""
        for payment in self._all("invoice_payment"):
            if payment["payment"]["payment_intent"] == charge["payment_intent"]:
                invoice = self._objects[payment["invoice"]]
                return self._objects.get(invoice["parent"]["subscription_details"]["subscription"])
        return None

    # ==== Helpers for tests ===============================================================

    def pay_invoice(self, invoice_id: str) -> dict:
        """Pay an open invoice (the customer fixed the card); past_due → active."""

        def run():
            invoice = self._get("invoice", invoice_id)
            self._pay_open_invoice(invoice)
            return self._present(invoice)

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
        self,
        charge_id: str,
        *,
        reason: str = "fraudulent",
        amount: int | None = None,
        cancel_subscription: bool = False,
    ) -> dict:
        """The cardholder disputes a charge: charge.dispute.created. ``cancel_subscription``:
        the subscription the charge paid for is then canceled at once (as from the Dashboard
        after a dispute), with ``cancellation_details.reason`` ``payment_disputed``."""

        def run():
            charge = self._get("charge", charge_id)
            sub = self._subscription_of_charge(charge) if cancel_subscription else None
            if cancel_subscription and (sub is None or sub["status"] in ENDED):
                raise ValueError(f"{charge_id} paid for no subscription that could end")
            dispute = self._new_dispute(charge, reason, amount)
            if sub is not None:
                self._cancel_subscription(sub, reason="payment_disputed")
            return self._present(dispute)

        return self._run(run)
