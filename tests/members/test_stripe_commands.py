"""`stripe_setup` and `stripe_reconcile` against the fake Stripe, and the demo plans.

The fake sends no webhooks here (`webhook_url=None`): for `stripe_reconcile` that is a site that
missed them all, which is exactly what the command repairs.
"""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from members import billing, sync
from members.access import is_donor, is_member
from members.models import Customer, Donation, Membership, Payment, Plan, Price
from newsroom.demo.membership import create_demo_plans
from tests.factories import MembershipFactory, UserFactory
from tests.fake_stripe import FakeStripe

pytestmark = pytest.mark.django_db


def run(command, *args, **options):
    """Run a management command; return what it printed on stdout."""
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def posts(fake):
    """The write requests Stripe received."""
    return fake.api_requests("POST")


def a_plan(
    slug="supporter", name="Supporter", name_ru="Сторонник", prices=((500, "eur", "month"),)
):
    plan = Plan.objects.create(
        slug=slug,
        name_en=name,
        name_ru=name_ru,
        description_en=f"{name}: keep independent reporting going.",
        description_ru="Поддержите независимую журналистику.",
        benefits_en="Members-only stories",
    )
    for amount, currency, interval in prices:
        Price.objects.create(plan=plan, amount=amount, currency=currency, interval=interval)
    return plan


def stripe_prices(fake):
    return {price["lookup_key"]: price for price in fake.objects("price") if price["lookup_key"]}


# stripe_setup ------------------------------------------------------------------------------------


def test_setup_creates_a_product_per_plan_and_a_price_per_row_and_stores_their_ids(stripe_api):
    a_plan(prices=[(500, "eur", "month"), (5000, "eur", "year"), (600, "usd", "month")])
    a_plan("sustainer", "Sustainer", "Меценат", prices=[(1200, "eur", "month")])

    output = run("stripe_setup")

    assert 'Product newsroom-plan-supporter "Supporter": created' in output
    assert 'Product newsroom-plan-sustainer "Sustainer": created' in output
    assert "Price newsroom-supporter-year-eur (€50/year): created (price_" in output
    assert "Products: 2 created; prices: 4 created." in output
    products = {product["id"]: product for product in stripe_api.objects("product")}
    assert products["newsroom-plan-supporter"]["name"] == "Supporter"
    assert products["newsroom-plan-supporter"]["description"].startswith("Supporter: keep")
    prices = stripe_prices(stripe_api)
    for row in Price.objects.all():
        stripe_price = prices[row.lookup_key]
        assert row.stripe_price_id == stripe_price["id"]
        assert stripe_price["product"] == f"newsroom-plan-{row.plan.slug}"
        assert (stripe_price["unit_amount"], stripe_price["currency"]) == (row.amount, row.currency)
        assert stripe_price["recurring"]["interval"] == row.interval
    assert all(r.idempotency_key.startswith("newsroom-stripe-setup-") for r in posts(stripe_api))


def test_a_second_run_changes_nothing_and_sends_no_write_to_stripe(stripe_api):
    a_plan(prices=[(500, "eur", "month"), (5000, "eur", "year")])
    run("stripe_setup")
    ids = dict(Price.objects.values_list("lookup_key", "stripe_price_id"))
    writes = len(posts(stripe_api))

    output = run("stripe_setup")

    assert len(posts(stripe_api)) == writes
    assert 'Product newsroom-plan-supporter "Supporter": unchanged' in output
    assert "Stripe already matches the 1 plan(s) and 2 price(s): nothing to change." in output
    assert dict(Price.objects.values_list("lookup_key", "stripe_price_id")) == ids


def test_a_changed_amount_replaces_the_stripe_price_and_moves_its_lookup_key(stripe_api):
    plan = a_plan()
    run("stripe_setup")
    row = Price.objects.get()
    old_id = row.stripe_price_id
    MembershipFactory(price=row, stripe_subscription_id="sub_paying_the_old_price")
    row.amount = 700
    row.save()

    output = run("stripe_setup")

    row.refresh_from_db()
    assert row.stripe_price_id != old_id
    assert (
        f"Price newsroom-supporter-month-eur (€7/month): replaced ({old_id} → "
        f"{row.stripe_price_id})" in output
    )
    assert f"1 membership(s) keep paying the old price {old_id}" in output
    old, new = stripe_api.get(old_id), stripe_api.get(row.stripe_price_id)
    assert (old["active"], old["lookup_key"]) == (False, None)
    assert (new["active"], new["lookup_key"], new["unit_amount"]) == (
        True,
        "newsroom-supporter-month-eur",
        700,
    )
    assert new["product"] == f"newsroom-plan-{plan.slug}"
    replacing = stripe_api.api_requests("POST", "/v1/prices")[-1]
    assert replacing.params["transfer_lookup_key"] == "true"


def test_renaming_a_plan_updates_its_product_with_the_english_texts(stripe_api):
    plan = a_plan()
    run("stripe_setup")
    plan.name_en, plan.name_ru = "Friend", "Друг"
    plan.description_en = ""
    plan.save()

    output = run("stripe_setup")

    assert 'Product newsroom-plan-supporter "Friend": updated (description, name)' in output
    assert "Products: 1 updated; prices: 1 unchanged." in output
    product = stripe_api.get("newsroom-plan-supporter")
    assert (product["name"], product["description"]) == ("Friend", None)


def test_inactive_prices_and_plans_deactivate_what_exists_at_stripe_and_create_nothing(stripe_api):
    supporter = a_plan(prices=[(500, "eur", "month"), (5000, "eur", "year")])
    patron = a_plan("patron", "Patron", "Меценат", prices=[(2500, "eur", "month")])
    run("stripe_setup")
    Price.objects.filter(plan=supporter, interval="year").update(active=False)
    Price.objects.create(plan=supporter, amount=600, currency="usd", interval="month", active=False)
    Plan.objects.filter(pk=patron.pk).update(active=False)

    output = run("stripe_setup")

    yearly = Price.objects.get(lookup_key="newsroom-supporter-year-eur")
    assert f"(€50/year): deactivated ({yearly.stripe_price_id})" in output
    assert "($6/month): unchanged (inactive, not at Stripe)" in output
    assert 'Product newsroom-plan-patron "Patron": archived (active)' in output
    assert "Price newsroom-patron-month-eur (€25/month): deactivated" in output
    prices = stripe_prices(stripe_api)
    assert not prices["newsroom-supporter-year-eur"]["active"]
    assert not prices["newsroom-patron-month-eur"]["active"]
    assert prices["newsroom-supporter-month-eur"]["active"]
    assert "newsroom-supporter-month-usd" not in prices
    assert not stripe_api.get("newsroom-plan-patron")["active"]

    Price.objects.filter(pk=yearly.pk).update(active=True)
    output = run("stripe_setup")
    assert f"(€50/year): reactivated ({yearly.stripe_price_id})" in output
    assert stripe_prices(stripe_api)["newsroom-supporter-year-eur"]["active"]


def test_a_stripe_price_that_already_has_the_lookup_key_is_linked_not_duplicated(stripe_api):
    a_plan()
    stripe_client = stripe_api.client()
    stripe_client.v1.products.create(params={"id": "newsroom-plan-supporter", "name": "Supporter"})
    made_by_hand = stripe_client.v1.prices.create(
        params={
            "product": "newsroom-plan-supporter",
            "unit_amount": 500,
            "currency": "eur",
            "recurring": {"interval": "month"},
            "lookup_key": "newsroom-supporter-month-eur",
        }
    )

    output = run("stripe_setup")

    assert f"(€5/month): linked ({made_by_hand.id})" in output
    assert Price.objects.get().stripe_price_id == made_by_hand.id
    assert len(stripe_api.objects("price")) == 1


def test_dry_run_shows_what_would_change_and_neither_writes_to_stripe_nor_saves(stripe_api):
    a_plan(prices=[(500, "eur", "month"), (5000, "eur", "year")])

    output = run("stripe_setup", dry_run=True)

    assert output.startswith("Dry run: nothing is changed at Stripe or in the database.")
    assert 'Product newsroom-plan-supporter "Supporter": would create' in output
    assert "(€5/month): would create" in output
    assert "Products: 1 would create; prices: 2 would create. Dry run: nothing was changed." in (
        output
    )
    assert posts(stripe_api) == []
    assert not Price.objects.exclude(stripe_price_id=None).exists()


def test_idempotency_keys_are_the_same_when_the_same_setup_is_repeated(stripe_api):
    a_plan(prices=[(500, "eur", "month"), (5000, "eur", "year")])
    run("stripe_setup")
    first = [r.idempotency_key for r in posts(stripe_api)]
    # As if the first run's answers had been lost: Stripe would answer the same keys with the
    # objects it made then instead of making them twice.
    stripe_api.reset()
    Price.objects.update(stripe_price_id=None)

    run("stripe_setup")

    assert [r.idempotency_key for r in posts(stripe_api)] == first
    assert len(set(first)) == 3


def test_without_plans_the_command_says_where_to_add_them(stripe_api):
    output = run("stripe_setup")
    assert "There are no plans yet: add one in the admin (Members › Plans)" in output
    assert posts(stripe_api) == []


def test_a_plan_without_an_english_name_is_refused_with_what_to_do(stripe_api):
    a_plan(name="", name_ru="Сторонник")
    with pytest.raises(CommandError, match='Plan "supporter" has no English name'):
        run("stripe_setup")
    assert posts(stripe_api) == []


@pytest.mark.parametrize("command", ["stripe_setup", "stripe_reconcile"])
def test_without_a_secret_key_the_commands_say_what_to_set(settings, command):
    settings.STRIPE_SECRET_KEY = ""
    a_plan()
    with pytest.raises(CommandError, match="set STRIPE_SECRET_KEY"):
        run(command)


@pytest.mark.parametrize("command", ["stripe_setup", "stripe_reconcile"])
def test_a_key_stripe_refuses_is_reported_as_such(settings, command):
    with FakeStripe(webhook_url=None, api_key="sk_test_the_right_one") as fake:
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_SECRET_KEY = "sk_test_an_old_one"
        a_plan()
        with pytest.raises(
            CommandError, match="Stripe refused the secret key: check STRIPE_SECRET_KEY"
        ):
            run(command)


def test_demo_plans_are_set_up_in_stripe_with_english_names(stripe_api):
    plans = create_demo_plans()

    output = run("stripe_setup")

    assert [plan.slug for plan in plans] == ["supporter", "sustainer", "patron"]
    assert "Products: 3 created; prices: 12 created." in output
    assert {product["name"] for product in stripe_api.objects("product")} == {
        "Supporter",
        "Sustainer",
        "Patron",
    }
    assert not Price.objects.filter(stripe_price_id=None).exists()


# Demo plans --------------------------------------------------------------------------------------


def test_demo_plans_have_russian_texts_and_monthly_and_yearly_prices_in_two_currencies():
    create_demo_plans()

    supporter = Plan.objects.get(slug="supporter")
    assert (supporter.name_en, supporter.name_ru) == ("Supporter", "Сторонник")
    with translation.override("ru"):
        assert supporter.benefit_list[0] == "Материалы только для участников"
    assert {(p.currency, p.interval) for p in supporter.prices.all()} == {
        ("eur", "month"),
        ("eur", "year"),
        ("usd", "month"),
        ("usd", "year"),
    }
    assert Price.objects.count() == 12


def test_demo_plans_leave_a_site_that_has_plans_alone():
    a_plan("members", "Members")
    assert create_demo_plans() == []
    assert list(Plan.objects.values_list("slug", flat=True)) == ["members"]


# stripe_reconcile --------------------------------------------------------------------------------

SITE = "https://news.example"


@pytest.fixture
def monthly(stripe_api):
    """The Supporter plan's monthly euro price, set up in the fake Stripe."""
    a_plan(prices=[(500, "eur", "month"), (5000, "eur", "year")])
    run("stripe_setup")
    return Price.objects.get(lookup_key="newsroom-supporter-month-eur")


def pay_checkout(fake, checkout, email=None):
    """Pay a session made by members.billing (the session, or its URL) on the fake's hosted
    page; return the completed session."""
    session_id = checkout["id"] if isinstance(checkout, dict) else checkout.rsplit("/", 1)[-1]
    fake.complete_checkout(session_id, email)
    return fake.get(session_id)


def join(fake, user, price, attempt="join"):
    checkout = billing.membership_checkout(
        user,
        price,
        attempt=f"{attempt}-{user.pk}",
        success_url=f"{SITE}/membership/thanks/",
        cancel_url=f"{SITE}/membership/",
        language="en",
    )
    return pay_checkout(fake, checkout)


def give(fake, *, user=None, email=None, amount=1000, recurring=False, attempt="gift"):
    checkout = billing.donation_checkout(
        user=user,
        amount=amount,
        currency="eur",
        recurring=recurring,
        attempt=attempt,
        success_url=f"{SITE}/donate/thanks/",
        cancel_url=f"{SITE}/donate/",
        language="en",
    )
    return pay_checkout(fake, checkout, email)


def test_reconcile_repairs_a_membership_whose_webhooks_never_arrived(stripe_api, monthly):
    user = UserFactory(email="joiner@example.com")
    session = join(stripe_api, user, monthly)
    subscription = stripe_api.get(session["subscription"])
    assert not Membership.objects.exists()  # No webhook came.

    output = run("stripe_reconcile")

    sub = subscription["id"]
    assert f"membership {sub} of joiner@example.com recorded (incomplete)" in output
    assert f"membership {sub} of joiner@example.com: incomplete → active" in output
    invoice = subscription["latest_invoice"]
    assert f"payment {invoice} recorded (€5, joiner@example.com)" in output
    assert "Repaired 2: 1 membership, 1 payment. Checked 1 checkout session(s)" in output
    membership = Membership.objects.get()
    assert (membership.user, membership.price, membership.status) == (user, monthly, "active")
    period_end = subscription["items"]["data"][0]["current_period_end"]
    assert membership.current_period_end.timestamp() == period_end
    payment = Payment.objects.get()
    assert (payment.stripe_id, payment.amount, payment.membership) == (invoice, 500, membership)
    assert is_member(user)


def test_a_second_reconcile_finds_nothing_to_repair_and_writes_nothing(stripe_api, monthly):
    join(stripe_api, UserFactory(), monthly)
    run("stripe_reconcile")
    before = list(Membership.objects.values("status", "stripe_updated", "updated"))

    output = run("stripe_reconcile")

    assert "Checked 1 checkout session(s), 1 subscription(s), 1 invoice(s): nothing to repair." in (
        output
    )
    assert list(Membership.objects.values("status", "stripe_updated", "updated")) == before
    assert Payment.objects.count() == 1


def test_reconcile_records_a_missed_one_off_donation_and_its_payment(stripe_api):
    session = give(stripe_api, email="giver@example.com", amount=2500)

    output = run("stripe_reconcile")

    assert f"donation {session['id']} recorded (€25 one-off from giver@example.com, paid)" in output
    assert f"payment {session['payment_intent']} recorded (€25, giver@example.com)" in output
    donation = Donation.objects.get()
    assert (donation.email, donation.amount, donation.status) == ("giver@example.com", 2500, "paid")
    assert Payment.objects.get().donation == donation


def test_reconcile_records_a_missed_monthly_gift_as_a_donation_not_a_membership(stripe_api):
    user = UserFactory(email="monthly.giver@example.com")
    session = give(stripe_api, user=user, recurring=True, amount=800)

    output = run("stripe_reconcile")

    assert f"donation {session['id']} recorded (€8 monthly" in output
    assert f"donation {session['id']} of monthly.giver@example.com: incomplete → active" in output
    donation = Donation.objects.get()
    assert (donation.status, donation.stripe_subscription_id) == ("active", session["subscription"])
    assert Payment.objects.get().kind == "donation"
    assert not Membership.objects.exists()
    assert is_donor(user) and not is_member(user)


def test_reconcile_ends_a_membership_canceled_while_webhooks_were_down(stripe_api, monthly):
    user = UserFactory(email="leaver@example.com")
    sub = join(stripe_api, user, monthly)["subscription"]
    run("stripe_reconcile")
    stripe_api.cancel_subscription(sub)

    output = run("stripe_reconcile")

    assert f"membership {sub} of leaver@example.com: active → canceled, canceled at none → " in (
        output
    )
    assert Membership.objects.get().status == "canceled"
    assert not is_member(user)


def test_reconcile_dates_existing_memberships_from_stripes_start(stripe_api, monthly):
    # Rows written before the start was stored hold a guess: the day they were written.
    user = UserFactory(email="old.member@example.com")
    sub = join(stripe_api, user, monthly)["subscription"]
    run("stripe_reconcile")
    guess = timezone.now() - timedelta(days=400)
    Membership.objects.update(started_at=guess)
    start = stripe_api.get(sub)["start_date"]

    output = run("stripe_reconcile")

    membership = Membership.objects.get()
    assert membership.started_at == datetime.fromtimestamp(start, tz=UTC)
    started = timezone.localtime(membership.started_at).date().isoformat()
    assert (
        f"membership {sub} of old.member@example.com: started "
        f"{timezone.localtime(guess).date().isoformat()} → {started}" in output
    )
    assert "Repaired 1: 1 membership." in output
    assert "nothing to repair" in run("stripe_reconcile")


def test_reconcile_records_why_a_member_left_while_webhooks_were_down(stripe_api, monthly):
    user = UserFactory(email="leaver@example.com")
    sub = join(stripe_api, user, monthly)["subscription"]
    run("stripe_reconcile")
    stripe_api.cancel_subscription(sub, feedback="too_expensive", comment="Prices went up.\n" * 9)

    output = run("stripe_reconcile")

    membership = Membership.objects.get()
    assert (membership.cancellation_reason, membership.cancellation_feedback) == (
        "cancellation_requested",
        "too_expensive",
    )
    assert membership.cancellation_comment == ("Prices went up.\n" * 9).strip()
    assert "cancellation reason none → cancellation_requested" in output
    assert "feedback none → too_expensive" in output
    # The report shows the start of a long comment, on one line.
    shown = "comment none → " + ("Prices went up. " * 4)[:59] + "…\n"
    assert shown in output


def test_reconcile_records_a_missed_renewal_and_the_new_period(stripe_api, monthly):
    user = UserFactory(email="renewer@example.com")
    sub = join(stripe_api, user, monthly)["subscription"]
    run("stripe_reconcile")
    renewed = stripe_api.advance_subscription(sub)

    output = run("stripe_reconcile")

    assert f"membership {sub} of renewer@example.com: current period end" in output
    assert f"payment {renewed['latest_invoice']} recorded (€5, renewer@example.com)" in output
    assert Payment.objects.count() == 2


def test_a_subscription_that_is_not_the_sites_is_skipped_with_a_note(stripe_api, monthly):
    stripe_client = stripe_api.client()
    stripe_client.v1.products.create(params={"id": "tote-bag-club", "name": "Tote bag club"})
    tote = stripe_client.v1.prices.create(
        params={
            "product": "tote-bag-club",
            "unit_amount": 900,
            "currency": "eur",
            "recurring": {"interval": "month"},
        }
    )
    customer = stripe_client.v1.customers.create(params={"email": "shopper@example.com"})
    foreign = stripe_api.create_subscription(customer.id, tote.id)

    output = run("stripe_reconcile")

    assert (
        f"Note: subscription {foreign['id']} (price {tote.id}) is not a plan of this site or a "
        "donation; skipped." in output
    )
    assert "nothing to repair. Skipped 1 that are not this site's." in output
    assert not Membership.objects.exists() and not Payment.objects.exists()


def test_a_plan_subscription_nobody_here_can_be_tied_to_is_noted_and_not_an_error(
    stripe_api, monthly
):
    customer = stripe_api.client().v1.customers.create(params={"email": "stranger@example.com"})
    stray = stripe_api.create_subscription(customer.id, monthly.stripe_price_id)

    output = run("stripe_reconcile")

    assert f"Note: {stray['id']} cannot be placed" in output
    assert "1 could not be placed (see the notes)." in output
    assert not Membership.objects.exists()


def test_dry_run_reports_the_repairs_and_saves_nothing(stripe_api, monthly):
    join(stripe_api, UserFactory(email="joiner@example.com"), monthly)

    output = run("stripe_reconcile", dry_run=True)

    assert output.startswith("Dry run: what would be repaired is shown; nothing is saved.")
    assert "of joiner@example.com: incomplete → active" in output
    assert "Would repair 2: 1 membership, 1 payment." in output
    assert output.rstrip().endswith("Dry run: nothing was saved.")
    assert not Membership.objects.exists() and not Payment.objects.exists()
    assert not Customer.objects.exclude(user__email="joiner@example.com").exists()

    assert "Repaired 2: 1 membership, 1 payment." in run("stripe_reconcile")


def test_a_dry_run_queues_no_email_and_a_real_run_welcomes_the_member_it_repairs(
    stripe_api, monthly, settings
):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    join(stripe_api, UserFactory(email="joiner@example.com"), monthly)

    run("stripe_reconcile", dry_run=True)
    assert not DBTaskResult.objects.exists()

    run("stripe_reconcile")
    queued = list(DBTaskResult.objects.values_list("task_path", flat=True))
    assert queued == ["members.tasks.send_welcome_email"]
    run("stripe_reconcile")
    assert DBTaskResult.objects.count() == 1  # Nothing repaired, nobody welcomed twice.


def test_days_limits_how_far_back_checkout_sessions_are_read(settings):
    forty_days_ago = timezone.now() - timedelta(days=40)
    with FakeStripe(webhook_url=None, now=lambda: forty_days_ago) as fake:
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_SECRET_KEY = "sk_test_fake"
        give(fake, email="early.giver@example.com")

        assert "nothing to repair" in run("stripe_reconcile")
        output = run("stripe_reconcile", days=60)

    assert "donation cs_" in output and "recorded (€10 one-off" in output
    # The gift is dated by its checkout session, not by the day it was repaired.
    assert abs(Payment.objects.get().paid_at - forty_days_ago) < timedelta(seconds=2)


def test_every_page_of_subscriptions_is_read(stripe_api, monthly, monkeypatch):
    monkeypatch.setattr(billing, "PAGE_SIZE", 2)
    users = [UserFactory() for _ in range(5)]
    for user in users:
        join(stripe_api, user, monthly)

    run("stripe_reconcile")

    assert all(is_member(user) for user in users)
    pages = stripe_api.api_requests("GET", "/v1/subscriptions")
    assert len(pages) == 3 and pages[-1].params["starting_after"].startswith("sub_")


def test_an_object_that_fails_is_noted_the_rest_is_repaired_and_the_command_fails(
    stripe_api, monthly, monkeypatch
):
    join(stripe_api, UserFactory(), monthly)
    give(stripe_api, email="giver@example.com")

    def broken(subscription, event):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(sync, "subscription_changed", broken)
    out = StringIO()
    with pytest.raises(CommandError, match="1 Stripe object"):
        call_command("stripe_reconcile", stdout=out, stderr=StringIO())

    assert "could not be applied: RuntimeError('database on fire')" in out.getvalue()
    assert Donation.objects.get().status == "paid"
    assert Membership.objects.get().status == "incomplete"


class Terminal(StringIO):
    def isatty(self):
        return True


def test_a_progress_bar_shows_on_a_terminal_but_not_in_crons_mail(stripe_api, monthly, monkeypatch):
    join(stripe_api, UserFactory(), monthly)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    run("stripe_reconcile")
    assert "Subscriptions: " in terminal.getvalue()

    piped = StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    output = run("stripe_reconcile")
    assert piped.getvalue() == ""
    assert "nothing to repair" in output

    monkeypatch.setattr("sys.stderr", terminal := Terminal())
    assert run("stripe_reconcile", verbosity=0) == ""
    assert terminal.getvalue() == ""
