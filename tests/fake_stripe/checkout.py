"""Checkout Sessions and the hosted Checkout page.

API: create (``mode`` subscription or payment, ``ui_mode`` hosted; ``line_items`` with ``price``
or ``price_data``; ``customer`` or ``customer_email``; ``subscription_data`` /
``payment_intent_data`` metadata; ``trial_period_days``), list (by ``customer``,
``subscription``, ``payment_intent``, ``status``, ``customer_details[email]``, ``created``),
retrieve (``expand[]=line_items`` too).

The page ``/checkout/{id}`` shows the items and an email field (read-only when the customer has
one). "Pay" completes the session with a test card and redirects 303 to ``success_url`` with
``{CHECKOUT_SESSION_ID}`` filled in; "Cancel" redirects to ``cancel_url``. Completing a
subscription session creates the customer if needed and starts the subscription (see
``subscriptions.py``); a payment session confirms a payment intent. Events:
``checkout.session.completed``, ``.expired``, ``.async_payment_succeeded`` / ``_failed``, plus
those of the customer, subscription and payment.
"""

from __future__ import annotations

import copy

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
    required,
    to_currency,
    to_email,
    to_int,
    to_url,
)


class Checkout:
    @api("POST", "/v1/checkout/sessions", "checkout.SessionCreateParams")
    def _api_checkout_create(self, p):
        mode = p.get("mode")
        if mode is None:
            raise required("mode")
        if mode not in ("payment", "subscription", "setup"):
            raise invalid("mode", f"Invalid mode: {mode}")
        if mode == "setup":
            raise invalid("mode", "The fake does not support setup mode.")
        if p.get("ui_mode", "hosted") != "hosted":
            raise invalid("ui_mode", "The fake only supports ui_mode=hosted.")
        if "success_url" not in p:
            raise required("success_url")
        success_url = to_url(p["success_url"], "success_url")
        cancel_url = to_url(p["cancel_url"], "cancel_url") if p.get("cancel_url") else None
        if p.get("customer") and p.get("customer_email"):
            raise invalid(
                "customer_email",
                "You may only specify one of these parameters: customer, customer_email.",
            )
        customer = self._get("customer", p["customer"], "customer") if p.get("customer") else None
        customer_email = (
            to_email(p["customer_email"], "customer_email") if p.get("customer_email") else None
        )
        client_reference_id = nullable(p.get("client_reference_id"))
        if client_reference_id is not None and len(client_reference_id) > 200:
            raise invalid("client_reference_id", "client_reference_id is too long (max 200).")
        metadata = apply_metadata({}, p.get("metadata"))
        subscription_data = p.get("subscription_data") or {}
        payment_intent_data = p.get("payment_intent_data") or {}
        if mode == "payment" and subscription_data:
            raise invalid(
                "subscription_data", "You can not pass `subscription_data` in `payment` mode."
            )
        if mode == "subscription" and payment_intent_data:
            raise invalid(
                "payment_intent_data",
                "You can not pass `payment_intent_data` in `subscription` mode.",
            )
        sub_metadata = apply_metadata(
            {}, subscription_data.get("metadata"), "subscription_data[metadata]"
        )
        pi_metadata = apply_metadata(
            {}, payment_intent_data.get("metadata"), "payment_intent_data[metadata]"
        )
        trial_days = None
        if "trial_period_days" in subscription_data:
            trial_days = to_int(
                subscription_data["trial_period_days"],
                "subscription_data[trial_period_days]",
                minimum=1,
                maximum=730,
            )
        plan = self._checkout_lines(p.get("line_items"), mode)
        currencies = {price["currency"] for price, _, _ in plan}
        if len(currencies) > 1:
            raise invalid("line_items", "All prices on a Checkout Session must share a currency.")
        currency = currencies.pop()
        recurring_count = sum(1 for price, _, _ in plan if price["type"] == "recurring")
        if mode == "subscription" and not recurring_count:
            raise invalid(
                "line_items",
                "You must provide at least one recurring price in "
                "`subscription` mode when using prices.",
            )
        if mode == "payment" and recurring_count:
            raise invalid(
                "line_items",
                "You specified `payment` mode but passed a recurring "
                "price. Either switch to `subscription` mode or use only one-time "
                "prices.",
            )
        total = sum(price["unit_amount"] * quantity for price, _, quantity in plan)
        minimum = {"usd": 50, "eur": 50, "gbp": 30, "chf": 50, "cad": 50, "aud": 50}.get(currency)
        if minimum and 0 < total < minimum and not trial_days:
            raise invalid(
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
        expires_at = to_int(p["expires_at"], "expires_at") if "expires_at" in p else now + DAY
        session_id = self._new_id("cs_")
        session = {
            "id": session_id,
            "object": "checkout.session",
            **nulls(
                "after_expiration allow_promotion_codes client_secret collected_information "
                "consent consent_collection currency_conversion customer_account customer_details "
                "integration_identifier invoice managed_payments origin_context payment_intent "
                "payment_link payment_method_configuration_details permissions presentment_details "
                "recovered_from saved_payment_method_options setup_intent "
                "shipping_address_collection shipping_cost subscription wallet_options"
            ),
            "adaptive_pricing": {"enabled": False},
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
            "created": now,
            "currency": currency,
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": customer["id"] if customer else None,
            "customer_creation": (
                None
                if customer or mode == "subscription"
                else p.get("customer_creation", "if_required")
            ),
            "customer_email": customer_email,
            "discounts": [],
            "expires_at": expires_at,
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
            "metadata": metadata,
            "mode": mode,
            "payment_method_collection": "always" if mode == "subscription" else None,
            "payment_method_options": {},
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "phone_number_collection": {"enabled": False},
            "shipping_options": [],
            "status": "open",
            "submit_type": p.get("submit_type"),
            "success_url": success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": f"{self.url}/checkout/{session_id}",
            "_line_items": line_items,
            "_subscription_data": {
                "metadata": sub_metadata,
                "description": nullable(subscription_data.get("description")),
                "trial_period_days": trial_days,
            },
            "_payment_intent_data": {
                "metadata": pi_metadata,
                "description": nullable(payment_intent_data.get("description")),
                "receipt_email": nullable(payment_intent_data.get("receipt_email")),
            },
        }
        self._store(session)
        return self._expand(self._present(session), p.get("expand"))

    def _checkout_lines(self, line_params, mode: str) -> list[tuple[dict, dict | None, int]]:
        """Check ``line_items`` before anything is created: (price, price_data, quantity) each,
        where an inline ``price_data`` comes with a stand-in price to check the totals."""
        if not isinstance(line_params, list) or not line_params:
            raise StripeError(
                400,
                f"`line_items` is required in `{mode}` mode.",
                code="parameter_missing",
                param="line_items",
            )
        plan = []
        for i, item in enumerate(line_params):
            param = f"line_items[{i}]"
            if not isinstance(item, dict):
                raise invalid(param, "Invalid object")
            if "quantity" not in item:
                raise StripeError(
                    400,
                    f"Quantity is required. Add `quantity` to `{param}`.",
                    code="parameter_missing",
                    param=f"{param}[quantity]",
                )
            quantity = to_int(item["quantity"], f"{param}[quantity]", minimum=1, maximum=999999)
            if item.get("price") and item.get("price_data"):
                raise invalid(
                    f"{param}[price]",
                    "You may only specify one of these parameters: price, price_data.",
                )
            if item.get("price"):
                price = self._get("price", item["price"], f"{param}[price]")
                if not price["active"]:
                    raise invalid(
                        f"{param}[price]",
                        "The price specified is inactive. This field only accepts active prices.",
                    )
                plan.append((price, None, quantity))
            elif isinstance(item.get("price_data"), dict):
                data = item["price_data"]
                prefix = f"{param}[price_data]"
                if "currency" not in data:
                    raise required(f"{prefix}[currency]")
                to_currency(data["currency"], f"{prefix}[currency]")
                if data.get("product"):
                    self._get("product", data["product"], f"{prefix}[product]")
                elif not (
                    isinstance(data.get("product_data"), dict) and data["product_data"].get("name")
                ):
                    raise required(f"{prefix}[product_data][name]")
                amount = self._price_amount(data, prefix)
                recurring = data.get("recurring")
                if recurring is not None and (
                    not isinstance(recurring, dict)
                    or recurring.get("interval") not in ("day", "week", "month", "year")
                ):
                    raise invalid(f"{prefix}[recurring][interval]", "Invalid recurring[interval]")
                stand_in = {
                    "currency": data["currency"].lower(),
                    "unit_amount": amount,
                    "recurring": recurring,
                    "type": "recurring" if recurring else "one_time",
                }
                plan.append((stand_in, data, quantity))
            else:
                raise StripeError(
                    400,
                    f"You must specify either `price` or `price_data` in `{param}`.",
                    code="parameter_missing",
                    param=f"{param}[price]",
                )
        return plan

    @api("GET", "/v1/checkout/sessions/{id}", "checkout.SessionRetrieveParams")
    def _api_checkout_retrieve(self, p, id):
        return self._retrieved("checkout.session", id, p)

    @api("GET", "/v1/checkout/sessions", "checkout.SessionListParams")
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

    def _session_items(self, session: dict) -> list[dict]:
        items = []
        for item in session["_line_items"]:
            item = copy.deepcopy(item)
            item["price"] = self._present(self._objects[item["price"]])
            items.append(item)
        return items

    def _includable(self, obj: dict, key: str):
        if obj.get("object") == "checkout.session" and key == "line_items":
            return self._list_object(
                f"/v1/checkout/sessions/{obj['id']}/line_items",
                self._session_items(self._objects[obj["id"]]),
            )
        return super()._includable(obj, key)

    def _expire_session(self, session: dict) -> None:
        session["status"] = "expired"
        session["url"] = None
        self._emit("checkout.session.expired", session)

    def _complete_checkout(
        self, session: dict, email: str | None, *, async_payment: bool = False
    ) -> str:
        """Pay an open session as the hosted page's "Pay" does; returns the success URL."""
        if session["status"] != "open":
            raise invalid("session", "This Checkout Session is no longer active.")
        customer = self._objects.get(session["customer"]) if session["customer"] else None
        if customer is not None:
            email = customer["email"] or email
        else:
            email = email or session["customer_email"]
        if not email:
            raise invalid("email", "An email address is required.")
        to_email(email, "email")
        mode = session["mode"]
        if async_payment and mode != "payment":
            raise ValueError("async payments are only faked in payment mode")
        if customer is None and (
            mode == "subscription" or session["customer_creation"] == "always"
        ):
            customer = self._new_customer({"email": email})
        payment_method = self._new_id("pm_")  # the test card typed on the page
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
                customer["invoice_settings"]["default_payment_method"] = payment_method
            sub = self._start_subscription(
                customer,
                lines,
                metadata=extra["metadata"],
                description=extra["description"],
                trial_days=extra["trial_period_days"],
                payment_method=payment_method,
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
                payment_method=payment_method,
            )
            session["payment_intent"] = pi["id"]
            self._settle_payment_intent(pi, "processing" if async_payment else "paid", email)
            session.update(
                status="complete", url=None, payment_status="unpaid" if async_payment else "paid"
            )
            self._emit("checkout.session.completed", session)
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])

    # ---- the hosted page -----------------------------------------------------------------

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

    @page("GET", "/checkout/{id}")
    def _page_checkout(self, form, id):
        return self._checkout_view(self._page_object("checkout.session", id))

    @page("POST", "/checkout/{id}/pay")
    def _page_checkout_pay(self, form, id):
        session = self._page_object("checkout.session", id)
        if session["status"] != "open":
            return 400, {}, pages.closed_checkout_page(self._present(session))
        email = (form.get("email") or "").strip()
        try:
            target = self._complete_checkout(session, email or None)
        except StripeError as error:
            return self._checkout_view(session, email=email, error=error.message, status=400)
        return 303, {"Location": target}, ""

    @page("POST", "/checkout/{id}/cancel")
    def _page_checkout_cancel(self, form, id):
        session = self._page_object("checkout.session", id)
        return 303, {"Location": session["cancel_url"] or session["success_url"]}, ""

    # ---- helpers for tests ---------------------------------------------------------------

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
            self._settle_delayed_payment(self._objects[session["payment_intent"]], succeeded)
            if succeeded:
                session["payment_status"] = "paid"
                self._emit("checkout.session.async_payment_succeeded", session)
            else:
                self._emit("checkout.session.async_payment_failed", session)
            return self._present(session)

        return self._run(run)

    def expire_checkout_session(self, session_id: str) -> dict:
        """The session's day is over unpaid: checkout.session.expired."""

        def run():
            session = self._get("checkout.session", session_id)
            self._expire_session(session)
            return self._present(session)

        return self._run(run)
