"""`manage.py stripe_setup`: the Stripe products and prices of the membership plans.

Plans and prices are edited in the admin; this command makes Stripe match them. Run it after
adding or changing a plan or a price, in test mode first and then in live mode.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from members import billing
from members.models import Membership, Plan
from members.money import format_money

# Past tense for the report, and what a dry run says instead.
OUTCOMES = {
    "created": "would create",
    "updated": "would update",
    "replaced": "would replace",
    "reactivated": "would reactivate",
    "deactivated": "would deactivate",
    "archived": "would archive",
    "linked": "would link",
    "unchanged": "unchanged",
}


def product_id_for(plan):
    """The Stripe product id of a plan: chosen by us, so a re-run finds the product again."""
    return f"newsroom-plan-{plan.slug}"


def price_label(price):
    return f"{format_money(price.amount, price.currency)}/{price.interval}"


class Command(BaseCommand):
    """Create or update one Stripe product per plan and one Stripe price per plan price.

    A product has the id `newsroom-plan-<slug>` and the plan's English name and description.
    A price is found by its lookup key. Stripe prices cannot change, so a price whose amount,
    currency or interval differs from the row is replaced: a new price takes over the lookup key
    (`transfer_lookup_key`) and the old one is deactivated; existing subscriptions keep paying
    the old one until they change plan. Inactive rows and inactive plans deactivate what exists
    at Stripe and create nothing. Every row gets its Stripe price id stored. Running it again
    changes nothing and sends no write request to Stripe.
    """

    help = "Create or update the Stripe products and prices of the membership plans."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show what would change; change nothing at Stripe or in the database.",
        )

    def handle(self, *args, dry_run, verbosity, **options):
        try:
            billing.check_configured()
        except billing.StripeNotConfigured as error:
            raise CommandError(str(error)) from None
        self.dry_run = dry_run
        self.verbosity = verbosity
        self.counts = {"product": dict.fromkeys(OUTCOMES, 0), "price": dict.fromkeys(OUTCOMES, 0)}

        plans = list(Plan.objects.prefetch_related("prices").order_by("position", "slug"))
        if not plans:
            self.say(
                "There are no plans yet: add one in the admin (Members › Plans), or run "
                "`python manage.py demo` for sample plans, then run this command again."
            )
            return
        if dry_run:
            self.say("Dry run: nothing is changed at Stripe or in the database.")
        try:
            with billing.quiet_sdk_logs(verbosity):
                for plan in plans:
                    self.sync_plan(plan)
        except billing.StripeKeyRefused:
            raise CommandError(
                "Stripe refused the secret key: check STRIPE_SECRET_KEY (sk_test_… or sk_live_…, "
                "of the account that should hold the plans)."
            ) from None
        except billing.StripeUnreachable as error:
            raise CommandError(
                f"{error} What was done so far is kept; run the command again when Stripe can be "
                "reached."
            ) from None
        except billing.StripeUnavailable as error:
            raise CommandError(
                f"{error} What was done so far is kept; fix the cause and run the command again."
            ) from None
        self.summarise(len(plans))

    # Plans and products ---------------------------------------------------------------------

    def sync_plan(self, plan):
        product_id = product_id_for(plan)
        # Stripe shows one name per product (receipts, the portal): the English one.
        with translation.override("en"):
            name, description = plan.name.strip(), plan.description.strip()
        if not name:
            raise CommandError(
                f'Plan "{plan.slug}" has no English name, which Stripe shows on receipts and in '
                "the billing portal: add one in the admin (Members › Plans)."
            )
        product = billing.retrieve_product(product_id)
        if product is None and not plan.active:
            self.report("product", f'Product {product_id} "{name}"', "unchanged", "inactive plan")
        elif product is None:
            params = {"id": product_id, "name": name, "metadata": {"newsroom_plan": plan.slug}}
            if description:
                params["description"] = description
            self.post(
                billing.create_product,
                params,
                idempotency_key=billing.idempotency_key(
                    "stripe-setup-product", product_id, params=params
                ),
            )
            self.report("product", f'Product {product_id} "{name}"', "created")
        else:
            changes = {}
            if product["name"] != name:
                changes["name"] = name
            if (product.get("description") or "") != description:
                changes["description"] = description  # An empty string clears it at Stripe.
            if product["active"] != plan.active:
                changes["active"] = plan.active
            if not changes:
                outcome = "unchanged"
            elif list(changes) == ["active"] and not plan.active:
                outcome = "archived"
            else:
                outcome = "updated"
            if changes:
                self.post(billing.update_product, product_id, changes)
            self.report(
                "product", f'Product {product_id} "{name}"', outcome, ", ".join(sorted(changes))
            )

        rows = list(plan.prices.all())
        found = billing.prices_by_lookup_key([row.lookup_key for row in rows])
        for row in rows:
            self.sync_price(row, plan, product_id, found.get(row.lookup_key))

    # Prices ------------------------------------------------------------------------------------

    def sync_price(self, row, plan, product_id, existing):
        label = f"  Price {row.lookup_key} ({price_label(row)})"
        if not (row.active and plan.active):
            self.deactivate_price(row, label, existing)
            return
        if existing is None:
            new_id = self.create_price(row, product_id, replacing=None)
            self.report("price", label, "created", new_id or "")
            self.store(row, new_id)
            return
        if not self.matches(existing, row, product_id):
            new_id = self.create_price(row, product_id, replacing=existing["id"])
            if existing["active"]:
                self.post(billing.set_price_active, existing["id"], False)
            self.report("price", label, "replaced", f"{existing['id']} → {new_id or 'a new price'}")
            self.warn_about_subscribers(row, existing["id"])
            self.store(row, new_id)
            return
        if not existing["active"]:
            self.post(billing.set_price_active, existing["id"], True)
            self.report("price", label, "reactivated", existing["id"])
        elif row.stripe_price_id != existing["id"]:
            self.report("price", label, "linked", existing["id"])
        else:
            self.report("price", label, "unchanged", existing["id"])
        self.store(row, existing["id"])

    def deactivate_price(self, row, label, existing):
        if existing is None and row.stripe_price_id:
            existing = billing.retrieve_price(row.stripe_price_id)
        if existing is None:
            self.report("price", label, "unchanged", "inactive, not at Stripe")
            return
        if existing["active"]:
            self.post(billing.set_price_active, existing["id"], False)
            self.report("price", label, "deactivated", existing["id"])
        else:
            self.report("price", label, "unchanged", f"{existing['id']}, inactive")
        self.store(row, existing["id"])

    @staticmethod
    def matches(existing, row, product_id):
        recurring = existing.get("recurring") or {}
        return (
            existing["product"] == product_id
            and existing["unit_amount"] == row.amount
            and existing["currency"] == row.currency
            and recurring.get("interval") == row.interval
            and recurring.get("interval_count") == 1
        )

    def create_price(self, row, product_id, *, replacing):
        params = {
            "product": product_id,
            "unit_amount": row.amount,
            "currency": row.currency,
            "recurring": {"interval": row.interval},
            "lookup_key": row.lookup_key,
            # Names the row even after a later replacement moves the lookup key away, for
            # subscriptions that keep paying this price.
            "metadata": {"newsroom_plan": row.plan.slug, "newsroom_lookup_key": row.lookup_key},
        }
        if replacing:
            params["transfer_lookup_key"] = True
        # The price being replaced is part of the key: replacing 5 € by 6 €, back, and again
        # within Stripe's 24 hours must create a new price each time, not replay an old answer.
        key = billing.idempotency_key(
            "stripe-setup-price", row.lookup_key, replacing, params=params
        )
        price = self.post(billing.create_price, params, idempotency_key=key)
        return price["id"] if price is not None else None

    def warn_about_subscribers(self, row, old_price_id):
        paying = row.memberships.exclude(status__in=Membership.TERMINAL_STATUSES).count()
        if paying:
            self.say(
                self.style.WARNING(
                    f"    {paying} membership(s) keep paying the old price {old_price_id}: Stripe "
                    "does not move existing subscriptions to a new price."
                )
            )

    def store(self, row, price_id):
        if self.dry_run or price_id is None or row.stripe_price_id == price_id:
            return
        row.stripe_price_id = price_id
        row.save(update_fields=["stripe_price_id"])

    # Output and dry run ------------------------------------------------------------------------

    def post(self, method, *args, **kwargs):
        """Call a Stripe method that writes, unless this is a dry run."""
        if self.dry_run:
            return None
        return method(*args, **kwargs)

    def report(self, kind, label, outcome, detail=""):
        self.counts[kind][outcome] += 1
        shown = OUTCOMES[outcome] if self.dry_run else outcome
        line = f"{label}: {shown}" + (f" ({detail})" if detail else "")
        self.say(self.style.SUCCESS(line) if outcome != "unchanged" else line)

    def say(self, message):
        if self.verbosity >= 1:
            self.stdout.write(message)

    def summarise(self, plan_count):
        def phrase(kind):
            counts = self.counts[kind]
            parts = [f"{n} {OUTCOMES[o] if self.dry_run else o}" for o, n in counts.items() if n]
            return f"{kind}s: " + ", ".join(parts) if parts else f"{kind}s: none"

        changed = sum(
            n for kind in self.counts.values() for o, n in kind.items() if o != "unchanged"
        )
        prices = sum(self.counts["price"].values())
        if not changed:
            self.say(
                self.style.SUCCESS(
                    f"Stripe already matches the {plan_count} plan(s) and {prices} price(s): "
                    "nothing to change."
                )
            )
            return
        summary = f"{phrase('product').capitalize()}; {phrase('price')}."
        if self.dry_run:
            summary += " Dry run: nothing was changed."
        self.say(self.style.SUCCESS(summary))
