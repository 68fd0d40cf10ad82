"""Customers: ``POST /v1/customers`` and ``GET /v1/customers/{id}``.

Checkout also creates one when a subscription is paid for without an existing customer.
Events: ``customer.created``.
"""

from __future__ import annotations

import secrets

from .server import api, apply_metadata, nullable, nulls, to_email


class Customers:
    def _new_customer(self, p: dict) -> dict:
        address = p.get("address")
        customer = {
            "id": self._new_id("cus_", 14),
            "object": "customer",
            **nulls(
                "business_name currency customer_account default_source discount individual_name "
                "shipping test_clock"
            ),
            "address": (
                {
                    k: address.get(k)
                    for k in ("city", "country", "line1", "line2", "postal_code", "state")
                }
                if isinstance(address, dict)
                else None
            ),
            "balance": 0,
            "created": self.now(),
            "delinquent": False,
            "description": nullable(p.get("description")),
            "email": to_email(p["email"], "email") if p.get("email") else None,
            "invoice_prefix": secrets.token_hex(4).upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": self.livemode,
            "metadata": apply_metadata({}, p.get("metadata")),
            "name": nullable(p.get("name")),
            "next_invoice_sequence": 1,
            "phone": nullable(p.get("phone")),
            "preferred_locales": list(p.get("preferred_locales") or []),
            "tax_exempt": "none",
        }
        self._store(customer)
        self._emit("customer.created", customer)
        return customer

    @api("POST", "/v1/customers", "CustomerCreateParams")
    def _api_customer_create(self, p):
        return self._expand(self._present(self._new_customer(p)), p.get("expand"))

    @api("GET", "/v1/customers/{id}", "CustomerRetrieveParams")
    def _api_customer_retrieve(self, p, id):
        return self._retrieved("customer", id, p)
