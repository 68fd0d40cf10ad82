"""Products and prices: what ``stripe_setup`` creates from the site's plans.

Products: create (with ``default_price_data``), retrieve, update. Prices: create (with
``product_data``; a ``lookup_key`` is unique, ``transfer_lookup_key`` moves it), list (by
``active``, ``currency``, ``product``, ``type``, ``lookup_keys[]``, ``recurring[interval]``,
``created``), retrieve, update. Prices made inline by Checkout's ``price_data`` are inactive and
emit nothing, as at Stripe. Events: ``product.created/updated``, ``price.created/updated``.
"""

from __future__ import annotations

from .server import (
    StripeError,
    api,
    apply_metadata,
    diff,
    invalid,
    nullable,
    nulls,
    pname,
    required,
    to_bool,
    to_currency,
    to_int,
)


class Catalogue:
    # ==== Products ========================================================================

    def _new_product(self, p: dict, param_prefix: str = "") -> dict:
        if not p.get("name"):
            raise required(pname(param_prefix, "name"))
        now = self.now()
        product_id = p.get("id") or self._new_id("prod_", 14)
        if product_id in self._objects:
            raise invalid("id", f"Product already exists: {product_id}", "resource_already_exists")
        product = {
            "id": product_id,
            "object": "product",
            **nulls("default_price package_dimensions shippable"),
            "active": to_bool(p.get("active", "true"), "active"),
            "created": now,
            "description": nullable(p.get("description")),
            "images": list(p.get("images") or []),
            "livemode": self.livemode,
            "marketing_features": [],
            "metadata": apply_metadata({}, p.get("metadata")),
            "name": p["name"],
            "statement_descriptor": nullable(p.get("statement_descriptor")),
            "tax_code": nullable(p.get("tax_code")),
            "type": "service",
            "unit_label": nullable(p.get("unit_label")),
            "updated": now,
            "url": nullable(p.get("url")),
        }
        self._store(product)
        self._emit("product.created", product)
        return product

    @api("POST", "/v1/products", "ProductCreateParams")
    def _api_product_create(self, p):
        product = self._new_product(p)
        if isinstance(p.get("default_price_data"), dict):
            data = {**p["default_price_data"], "product": product["id"]}
            price = self._new_price(data, "default_price_data")
            before = self._present(product)
            product["default_price"] = price["id"]
            self._emit_update("product.updated", product, before)
        return self._expand(self._present(product), p.get("expand"))

    @api("GET", "/v1/products/{id}", "ProductRetrieveParams")
    def _api_product_retrieve(self, p, id):
        return self._retrieved("product", id, p)

    @api("POST", "/v1/products/{id}", "ProductUpdateParams")
    def _api_product_update(self, p, id):
        product = self._get("product", id)
        before = self._present(product)
        for key in ("name", "description", "statement_descriptor", "tax_code", "unit_label", "url"):
            if key in p:
                if key == "name" and not p[key]:
                    raise invalid("name", "You must provide a name.")
                product[key] = nullable(p[key])
        if "active" in p:
            product["active"] = to_bool(p["active"], "active")
        if "metadata" in p:
            product["metadata"] = apply_metadata(product["metadata"], p["metadata"])
        if "default_price" in p:
            price_id = nullable(p["default_price"])
            if price_id is not None:
                price = self._get("price", price_id, "default_price")
                if price["product"] != id:
                    raise invalid("default_price", "The price must belong to this product.")
            product["default_price"] = price_id
        if diff(before, self._present(product)):
            product["updated"] = self.now()
        self._emit_update("product.updated", product, before)
        return self._expand(self._present(product), p.get("expand"))

    # ==== Prices ==========================================================================

    def _price_amount(self, p: dict, prefix: str) -> int:
        def name(*keys):
            return pname(prefix, *keys)

        if "unit_amount" in p:
            return to_int(p["unit_amount"], name("unit_amount"), maximum=99999999)
        if "unit_amount_decimal" in p:
            try:
                value = float(p["unit_amount_decimal"])
            except ValueError:
                raise invalid(name("unit_amount_decimal"), "Invalid decimal") from None
            if value != int(value) or value < 0:
                raise invalid(
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

    def _take_lookup_key(self, lookup_key: str | None, p: dict, param: str, owner=None) -> None:
        """Free ``lookup_key`` for a price: refused if another price holds it, unless
        ``transfer_lookup_key`` moves it (``price.updated`` for the old holder)."""
        if lookup_key is None:
            return
        holder = next(
            (x for x in self._all("price") if x["lookup_key"] == lookup_key and x is not owner),
            None,
        )
        if holder is None:
            return
        if not to_bool(p.get("transfer_lookup_key", "false"), "transfer_lookup_key"):
            raise invalid(param, f"A price (`{holder['id']}`) already uses that lookup key.")
        before = self._present(holder)
        holder["lookup_key"] = None
        self._emit_update("price.updated", holder, before)

    def _new_price(
        self, p: dict, prefix: str = "", *, active: bool = True, emit: bool = True
    ) -> dict:
        def name(*keys):
            return pname(prefix, *keys)

        if "currency" not in p:
            raise required(name("currency"))
        currency = to_currency(p["currency"], name("currency"))
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
                raise invalid(
                    name("recurring", "interval"),
                    f"Invalid recurring[interval]: must be one of day, week, month, "
                    f"or year (got {interval!r})",
                )
            recurring = {
                "interval": interval,
                "interval_count": to_int(
                    p["recurring"].get("interval_count", 1),
                    name("recurring", "interval_count"),
                    minimum=1,
                ),
                "meter": None,
                "trial_period_days": None,
                "usage_type": "licensed",
            }
        lookup_key = nullable(p.get("lookup_key"))
        self._take_lookup_key(lookup_key, p, name("lookup_key"))
        price = {
            "id": self._new_id("price_"),
            "object": "price",
            **nulls("custom_unit_amount tiers_mode transform_quantity"),
            "active": to_bool(p.get("active", active), name("active")),
            "billing_scheme": "per_unit",
            "created": self.now(),
            "currency": currency,
            "livemode": self.livemode,
            "lookup_key": lookup_key,
            "metadata": apply_metadata({}, p.get("metadata"), name("metadata")),
            "nickname": nullable(p.get("nickname")),
            "product": product["id"],
            "recurring": recurring,
            "tax_behavior": p.get("tax_behavior", "unspecified"),
            "type": "recurring" if recurring else "one_time",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }
        self._store(price)
        if emit:
            self._emit("price.created", price)
        return price

    def _plan(self, price: dict) -> dict:
        """The legacy ``plan`` view of a recurring price, as subscription items still carry."""
        recurring = price["recurring"] or {}
        return {
            "id": price["id"],
            "object": "plan",
            **nulls("meter tiers_mode transform_usage trial_period_days"),
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
            "nickname": price["nickname"],
            "product": price["product"],
            "usage_type": "licensed",
        }

    @api("POST", "/v1/prices", "PriceCreateParams")
    def _api_price_create(self, p):
        return self._expand(self._present(self._new_price(p)), p.get("expand"))

    @api("GET", "/v1/prices/{id}", "PriceRetrieveParams")
    def _api_price_retrieve(self, p, id):
        return self._retrieved("price", id, p)

    @api("POST", "/v1/prices/{id}", "PriceUpdateParams")
    def _api_price_update(self, p, id):
        price = self._get("price", id)
        before = self._present(price)
        if "active" in p:
            price["active"] = to_bool(p["active"], "active")
        if "nickname" in p:
            price["nickname"] = nullable(p["nickname"])
        if "tax_behavior" in p:
            price["tax_behavior"] = p["tax_behavior"]
        if "metadata" in p:
            price["metadata"] = apply_metadata(price["metadata"], p["metadata"])
        if "lookup_key" in p:
            lookup_key = nullable(p["lookup_key"])
            self._take_lookup_key(lookup_key, p, "lookup_key", owner=price)
            price["lookup_key"] = lookup_key
        self._emit_update("price.updated", price, before)
        return self._expand(self._present(price), p.get("expand"))

    @api("GET", "/v1/prices", "PriceListParams")
    def _api_price_list(self, p):
        objs = self._all("price")
        if "active" in p:
            active = to_bool(p["active"], "active")
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
