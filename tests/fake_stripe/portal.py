"""Billing portal sessions and the hosted portal page.

API: ``POST /v1/billing_portal/sessions`` (``customer``, ``return_url``, ``locale``; a
``flow_data`` deep link is refused as not faked). Event: ``billing_portal.session.created``.

The page ``/portal/{id}`` lists the customer's subscriptions. For one that renews: "Cancel at
period end" and "Cancel now" (with an optional reason from Stripe's list, ``feedback``, and a
``comment``, which end up in ``cancellation_details``), and "Switch to …" each other active
recurring price of the same product and currency; for one set to cancel: "Renew" and "Cancel
now". "Return" redirects to ``return_url``. After an action the page shows what happened.
"""

from __future__ import annotations

from . import pages
from .server import api, invalid, page, required, to_url
from .subscriptions import ENDED, FEEDBACK


class Portal:
    @api("POST", "/v1/billing_portal/sessions", "billing_portal.SessionCreateParams")
    def _api_portal_create(self, p):
        if "flow_data" in p:
            raise invalid("flow_data", "The fake does not support flow_data deep links.")
        if not p.get("customer"):
            raise required("customer")
        customer = self._get("customer", p["customer"], "customer")
        return_url = to_url(p["return_url"], "return_url") if p.get("return_url") else None
        portal_id = self._new_id("bps_")
        portal = {
            "id": portal_id,
            "object": "billing_portal.session",
            "configuration": p.get("configuration") or self.portal_configuration,
            "created": self.now(),
            "customer": customer["id"],
            "customer_account": None,
            "flow": None,
            "livemode": self.livemode,
            "locale": p.get("locale"),
            "on_behalf_of": None,
            "return_url": return_url,
            "url": f"{self.url}/portal/{portal_id}",
        }
        self._store(portal)
        self._emit("billing_portal.session.created", portal)
        return self._expand(self._present(portal), p.get("expand"))

    # ---- the hosted page -----------------------------------------------------------------

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
            price = self._objects[sub["items"]["data"][0]["price"]]
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
                    "subscription": self._present(sub),
                    "label": self._price_label(price),
                    "alternatives": alternatives,
                }
            )
        return pages.portal_page(
            self._present(portal), self._present(customer), entries, FEEDBACK, message
        )

    def _portal_action(self, portal: dict, form: dict):
        sub = self._objects.get(form.get("subscription", ""))
        if sub is None or sub["object"] != "subscription" or sub["customer"] != portal["customer"]:
            return 400, {}, self._portal_view(portal, "That subscription is not yours.")
        if sub["status"] in ENDED:
            return 400, {}, self._portal_view(portal, "This subscription has ended.")
        action = form.get("action")
        feedback = form.get("feedback") or None
        comment = (form.get("comment") or "").strip() or None
        if feedback is not None and feedback not in FEEDBACK:
            return 400, {}, self._portal_view(portal, f"Unknown reason {feedback!r}.")
        if action == "cancel_at_period_end":
            self._schedule_cancel(sub, feedback=feedback, comment=comment)
            message = "Your subscription will be canceled at the end of the period."
        elif action == "renew":
            self._unschedule_cancel(sub)
            message = "Your subscription has been renewed."
        elif action == "cancel_now":
            self._cancel_subscription(sub, feedback=feedback, comment=comment)
            message = "Your subscription has been canceled."
        elif action == "switch":
            self._switch_price(sub, form.get("price", ""))
            message = "Your plan has been updated."
        else:
            return 400, {}, self._portal_view(portal, f"Unknown action {action!r}.")
        return 200, {}, self._portal_view(portal, message)

    @page("GET", "/portal/{id}")
    def _page_portal(self, form, id):
        return 200, {}, self._portal_view(self._page_object("billing_portal.session", id))

    @page("POST", "/portal/{id}")
    def _page_portal_action(self, form, id):
        return self._portal_action(self._page_object("billing_portal.session", id), form)

    @page("POST", "/portal/{id}/return")
    def _page_portal_return(self, form, id):
        portal = self._page_object("billing_portal.session", id)
        return 303, {"Location": portal["return_url"] or self.url + "/"}, ""

    # ---- helpers for tests ---------------------------------------------------------------

    def portal_action(
        self,
        portal_session_id: str,
        action: str,
        subscription_id: str,
        price_id: str | None = None,
        *,
        feedback: str | None = None,
        comment: str | None = None,
    ) -> None:
        """What the portal's buttons do, without HTML: ``cancel_at_period_end``, ``renew``,
        ``cancel_now`` or ``switch`` (with ``price_id``); ``feedback`` and ``comment`` as the
        customer gives them when canceling."""

        def run():
            portal = self._get("billing_portal.session", portal_session_id)
            form = {"action": action, "subscription": subscription_id}
            if price_id:
                form["price"] = price_id
            if feedback:
                form["feedback"] = feedback
            if comment:
                form["comment"] = comment
            status, _, _ = self._portal_action(portal, form)
            if status >= 400:
                raise ValueError(f"portal action {action} failed")

        self._run(run)
