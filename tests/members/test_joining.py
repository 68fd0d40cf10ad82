"""Joining and giving: the plans page, the two-submit join flow, Checkout, the portal, /donate/.

Stripe is the fake Stripe server (tests/fake_stripe) reached over real HTTP; it sends no webhooks
here (the webhook tests and the browser test cover those), so nothing in these tests may grant
access: only the pages and the Stripe calls are checked.
"""

import uuid

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from members.models import Customer, Membership, User
from tests import corpus
from tests.conftest import PASSWORD
from tests.factories import MembershipFactory, PlanFactory, PriceFactory
from tests.html import visible_text
from tests.members.test_signup_input import (
    HEADER_INJECTIONS,
    HEADER_INJECTIONS_ACCEPTED,
    INVALID,
    ISEMAIL_ERRORS,
    ISEMAIL_ERRORS_IN_SURROUNDING_WHITE_SPACE_ONLY,
    address_messages,
    password_messages,
    sample_of_naughty_strings,
)

pytestmark = pytest.mark.django_db


def stripe_price(fake, amount=500, currency="eur", interval="month", plan=None):
    """A plan price that exists both here and at the fake Stripe."""
    price = fake.client().v1.prices.create(
        params={
            "currency": currency,
            "unit_amount": amount,
            "recurring": {"interval": interval},
            "product_data": {"name": "Supporter"},
        }
    )
    return PriceFactory(
        plan=plan or PlanFactory(),
        amount=amount,
        currency=currency,
        interval=interval,
        stripe_price_id=price.id,
    )


@pytest.fixture
def price(stripe_api):
    return stripe_price(stripe_api)


def join(client, price, attempt=None):
    return client.post(
        "/membership/join/", {"price": price.pk, "attempt": str(attempt or uuid.uuid4())}
    )


def checkout_sessions(fake):
    return fake.objects("checkout.session")


# The plans page -------------------------------------------------------------------------------


def test_the_site_header_links_to_membership_and_donations(client, price):
    page = client.get("/").content.decode()
    assert 'href="/membership/"' in page and 'href="/donate/"' in page
    assert "Become a member" in page


def test_plans_page_shows_monthly_euro_prices_by_default_and_switches_without_script(
    client, stripe_api
):
    plan = PlanFactory(name="Supporter", benefits="Members-only stories\nA monthly letter")
    stripe_price(stripe_api, 500, "eur", "month", plan)
    stripe_price(stripe_api, 5000, "eur", "year", plan)
    stripe_price(stripe_api, 600, "usd", "month", plan)
    page = visible_text(client.get("/membership/").content)
    assert "Supporter" in page and "€5 per month" in page and "A monthly letter" in page
    page = visible_text(client.get("/membership/?interval=year").content)
    assert "€50 per year" in page
    page = visible_text(client.get("/membership/?currency=usd").content)
    assert "$6 per month" in page
    page = visible_text(client.get("/membership/?currency=usd&interval=year").content)
    assert "Not available with these options." in page


@pytest.mark.parametrize("query", ["?currency=gbp", "?interval=week", "?currency=%00", "?x=1"])
def test_plans_page_falls_back_to_defaults_on_odd_options(client, price, query):
    response = client.get("/membership/" + query)
    assert response.status_code == 200
    assert "€5 per month" in visible_text(response.content)


def test_plans_page_shows_plan_names_in_the_readers_language(client, price):
    price.plan.name_ru = "Сторонник"
    price.plan.save()
    assert "Сторонник" in visible_text(client.get("/ru/membership/").content)
    assert "Supporter" in visible_text(client.get("/membership/").content)


# Joining when logged in ------------------------------------------------------------------------


def test_logged_in_reader_goes_from_the_plan_straight_to_checkout(
    client, reader, price, stripe_api
):
    client.force_login(reader)
    response = join(client, price)
    assert response.status_code == 302
    (session,) = checkout_sessions(stripe_api)
    assert response["Location"] == session["url"]
    assert session["mode"] == "subscription"
    assert session["client_reference_id"] == str(reader.pk)
    assert session["metadata"] == {
        "user_id": str(reader.pk),
        "kind": "membership",
        "price_id": price.stripe_price_id,
    }
    assert session["success_url"].startswith("http://testserver/membership/welcome/")
    assert session["customer"] == Customer.objects.get(user=reader).stripe_customer_id
    (request,) = stripe_api.api_requests("POST", "/v1/checkout/sessions")
    assert request.params["subscription_data"]["metadata"]["user_id"] == str(reader.pk)
    assert request.params["line_items"] == [{"price": price.stripe_price_id, "quantity": "1"}]
    assert request.idempotency_key.startswith("newsroom-checkout-")


def test_double_clicked_join_makes_one_customer_and_one_checkout(client, reader, price, stripe_api):
    client.force_login(reader)
    attempt = uuid.uuid4()
    first = join(client, price, attempt)
    second = join(client, price, attempt)
    assert first["Location"] == second["Location"]
    assert len(stripe_api.objects("customer")) == 1
    assert len(checkout_sessions(stripe_api)) == 1
    keys = {r.idempotency_key for r in stripe_api.api_requests("POST", "/v1/checkout/sessions")}
    assert len(keys) == 1
    assert Customer.objects.filter(user=reader).count() == 1


def test_a_later_join_reuses_the_readers_stripe_customer(client, reader, price, stripe_api):
    client.force_login(reader)
    join(client, price)
    join(client, price)
    assert len(stripe_api.objects("customer")) == 1
    assert len(checkout_sessions(stripe_api)) == 2
    assert {s["customer"] for s in checkout_sessions(stripe_api)} == {
        reader.stripe_customer.stripe_customer_id
    }


def test_a_member_who_pays_already_is_sent_to_their_account_not_a_second_checkout(
    client, member, stripe_api
):
    price = member.memberships.get().price
    customer = stripe_api.client().v1.customers.create(params={"email": member.email})
    Customer.objects.create(user=member, stripe_customer_id=customer.id)
    client.force_login(member)
    response = join(client, price)
    assert response["Location"] == "/membership/account/"
    page = visible_text(client.get(response["Location"]).content)
    assert "You are already a member: change or cancel your plan from this page." in page
    assert not checkout_sessions(stripe_api)
    assert not stripe_api.objects("billing_portal.session")


@pytest.mark.parametrize("value", ["", "999999", "abc", "1 OR 1=1", "\x00"])
def test_an_unknown_plan_choice_is_a_clear_error(client, reader, price, stripe_api, value):
    client.force_login(reader)
    response = client.post("/membership/join/", {"price": value, "attempt": str(uuid.uuid4())})
    assert response.status_code == 400
    assert not checkout_sessions(stripe_api)


def test_an_inactive_price_cannot_be_bought(client, reader, price, stripe_api):
    price.active = False
    price.save()
    client.force_login(reader)
    response = join(client, price)
    assert response.status_code == 400
    assert "That plan is not available" in visible_text(response.content)


def test_payments_without_stripe_keys_say_so_instead_of_failing(client, reader, price, settings):
    settings.STRIPE_SECRET_KEY = ""
    client.force_login(reader)
    response = join(client, price)
    assert response.status_code == 503
    assert "Payments are unavailable right now" in visible_text(response.content)


def test_without_stripe_no_one_is_asked_to_sign_up_for_a_payment_that_cannot_start(
    client, price, settings
):
    settings.STRIPE_SECRET_KEY = ""
    response = join(client, price)
    assert response.status_code == 503
    assert "Payments are unavailable right now" in visible_text(response.content)
    price.stripe_price_id = None
    price.save()
    settings.STRIPE_SECRET_KEY = "sk_test_newsroom"
    assert join(client, price).status_code == 503
    assert not User.objects.exists()


def test_stripe_being_down_is_a_clear_page(client, reader, price, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    client.force_login(reader)
    response = join(client, price)
    assert response.status_code == 503
    assert "Nothing was charged" in visible_text(response.content)


def test_creating_checkouts_is_rate_limited_with_a_clear_page(client, reader, price, settings):
    settings.ACCOUNT_RATE_LIMITS = {"checkout": "100/h/ip", "checkout_user": "2/h/user"}
    client.force_login(reader)
    assert join(client, price).status_code == 302
    assert join(client, price).status_code == 302
    response = join(client, price)
    assert response.status_code == 429
    assert "Too many attempts" in visible_text(response.content)


# Joining as a new reader: two submits ---------------------------------------------------------


def sign_up(client, email="new.member@example.com", password=PASSWORD):
    return client.post(
        "/membership/join/sign-up/",
        {"email": email, "password1": password, "password2": password},
    )


def test_new_reader_signs_up_in_the_join_flow_and_goes_on_to_checkout(
    client, price, stripe_api, mailoutbox
):
    response = join(client, price)
    assert response.status_code == 302 and response["Location"] == "/membership/join/sign-up/"
    page = visible_text(client.get("/membership/join/sign-up/").content)
    assert "You chose Supporter, €5 per month" in page

    response = sign_up(client)
    (session,) = checkout_sessions(stripe_api)
    assert response.status_code == 302 and response["Location"] == session["url"]
    user = Customer.objects.get(stripe_customer_id=session["customer"]).user
    assert user.email == "new.member@example.com"
    assert session["client_reference_id"] == str(user.pk)
    # Verification stays mandatory for logging in: the mail went out, nobody is logged in.
    assert not EmailAddress.objects.get(user=user).verified
    assert "_auth_user_id" not in client.session
    (mail,) = mailoutbox
    assert mail.to == ["new.member@example.com"] and "/accounts/confirm-email/" in mail.body


def test_the_language_a_reader_joins_in_is_remembered_for_their_emails(client, price, stripe_api):
    client.post("/ru/membership/join/", {"price": price.pk, "attempt": str(uuid.uuid4())})
    client.post(
        "/ru/membership/join/sign-up/",
        {"email": "chitatel@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert User.objects.get(email="chitatel@example.com").language == "ru"
    other = Client()
    join(other, price)
    sign_up(other, email="reader.en@example.com")
    assert User.objects.get(email="reader.en@example.com").language == "en"


def test_signing_up_twice_in_a_row_pays_for_the_same_account(client, price, stripe_api):
    join(client, price)
    first = sign_up(client)
    second = sign_up(client)
    assert first["Location"] == second["Location"]
    assert len(stripe_api.objects("customer")) == 1 and len(checkout_sessions(stripe_api)) == 1


def test_coming_back_from_checkout_to_join_again_pays_for_the_new_account(
    client, price, stripe_api
):
    join(client, price)
    sign_up(client)
    response = join(client, price)
    assert response.status_code == 302
    assert response["Location"].startswith(stripe_api.url + "/checkout/")
    assert len(stripe_api.objects("customer")) == 1


def test_signing_up_with_a_taken_address_reveals_nothing_and_starts_no_payment(
    client, reader, price, stripe_api, mailoutbox
):
    join(client, price)
    response = sign_up(client, email="reader@example.com")
    assert response.status_code == 302
    assert "/accounts/confirm-email/" in response["Location"]
    assert not checkout_sessions(stripe_api)


def test_sign_up_page_without_a_chosen_plan_goes_back_to_the_plans(client, price):
    response = client.get("/membership/join/sign-up/")
    assert response.status_code == 302 and response["Location"] == "/membership/"


@pytest.mark.parametrize("text", sample_of_naughty_strings())
def test_join_sign_up_refuses_naughty_strings_as_the_address_and_starts_no_payment(
    client, price, stripe_api, mailoutbox, text
):
    join(client, price)
    response = sign_up(client, email=text)
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert dict(response.context["form"].errors) == {"email": address_messages(text)}
    assert not User.objects.exists()
    assert not checkout_sessions(stripe_api)
    assert not mailoutbox


@pytest.mark.parametrize("text", sample_of_naughty_strings())
def test_join_sign_up_takes_naughty_strings_as_the_password_unless_a_password_rule_refuses_them(
    client, price, stripe_api, mailoutbox, text
):
    join(client, price)
    response = sign_up(client, email="reader@example.com", password=text)
    messages = password_messages(text)
    if messages:
        assert response.status_code == 200
        assert dict(response.context["form"].errors) == {"password1": messages}
        assert not User.objects.exists()
        assert not checkout_sessions(stripe_api)
    else:
        (session,) = checkout_sessions(stripe_api)
        assert response.status_code == 302 and response["Location"] == session["url"]
        user = User.objects.get()
        assert user.email == "reader@example.com" and user.check_password(text)
        assert session["client_reference_id"] == str(user.pk)
        assert [mail.to for mail in mailoutbox] == [["reader@example.com"]]
    for mail in mailoutbox:
        assert "\n" not in mail.subject and "\r" not in mail.subject


@pytest.mark.parametrize("spelling", ["as written", "with control characters"])
def test_join_sign_up_refuses_the_invalid_addresses_of_the_isemail_set(price, stripe_api, spelling):
    for case in ISEMAIL_ERRORS:
        address = case["address"]
        if spelling == "with control characters":
            address = corpus.with_control_characters(address)
        browser = Client()
        join(browser, price)
        response = sign_up(browser, email=address)
        if (
            spelling == "with control characters"
            and case["id"] in ISEMAIL_ERRORS_IN_SURROUNDING_WHITE_SPACE_ONLY
        ):
            # Only white space around test@iana.org, which Django strips: on to Checkout.
            assert response.status_code == 302, address
            assert response["Location"].startswith(stripe_api.url + "/checkout/"), address
            assert User.objects.get().email == "test@iana.org"
            User.objects.all().delete()
        else:
            assert response.status_code == 200, address
            assert "errorlist" in response.content.decode(), address
            errors = dict(response.context["form"].errors)
            assert errors == {"email": address_messages(address)}, address
            assert not User.objects.exists(), address
    checkouts = len(ISEMAIL_ERRORS_IN_SURROUNDING_WHITE_SPACE_ONLY)
    assert len(checkout_sessions(stripe_api)) == (checkouts if spelling != "as written" else 0)


@pytest.mark.parametrize("email", HEADER_INJECTIONS)
def test_join_sign_up_never_puts_cr_or_lf_into_a_mail_header(
    client, price, stripe_api, mailoutbox, email
):
    join(client, price)
    response = sign_up(client, email=email)
    if email in HEADER_INJECTIONS_ACCEPTED:
        assert response.status_code == 302
        assert [mail.to for mail in mailoutbox] == [[HEADER_INJECTIONS_ACCEPTED[email]]]
        assert len(checkout_sessions(stripe_api)) == 1
    else:
        assert dict(response.context["form"].errors) == {"email": [INVALID]}
        assert not mailoutbox and not checkout_sessions(stripe_api)
    for mail in mailoutbox:
        assert not any(char in mail.to[0] for char in "\r\n\u2028")


# The welcome page never grants --------------------------------------------------------------


def test_welcome_page_says_activating_until_the_webhook_has_made_a_member(
    client, price, stripe_api
):
    join(client, price)
    sign_up(client)
    response = client.get("/membership/welcome/")
    page = visible_text(response.content)
    assert "activating your membership" in page
    assert "We have sent a link to new.member@example.com" in page
    assert '<meta http-equiv="refresh"' in response.content.decode()
    assert not Membership.objects.exists()

    user = Customer.objects.get().user
    MembershipFactory(user=user, price=price)  # what the webhook does
    response = client.get("/membership/welcome/")
    assert "You are a member" in visible_text(response.content)
    assert "refresh" not in response.content.decode()


def test_welcome_page_shows_nothing_to_a_stranger(client):
    response = client.get("/membership/welcome/")
    assert response.status_code == 302 and response["Location"] == "/membership/"


def test_welcome_page_does_not_wait_for_a_payment_nobody_started(client, reader):
    client.force_login(reader)
    response = client.get("/membership/welcome/")
    assert response.status_code == 302 and response["Location"] == "/membership/"


# The portal ---------------------------------------------------------------------------------


def confirm_password(client, user):
    """Sign in and confirm the password, as the portal asks (see
    tests/security/test_reauthentication.py)."""
    client.force_login(user)
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302


def test_portal_opens_for_the_session_users_customer_whatever_the_form_says(
    client, reader, stripe_api
):
    mine = stripe_api.client().v1.customers.create(params={"email": reader.email})
    theirs = stripe_api.client().v1.customers.create(params={"email": "someone@example.com"})
    Customer.objects.create(user=reader, stripe_customer_id=mine.id)
    confirm_password(client, reader)
    response = client.post("/membership/account/portal/", {"customer": theirs.id})
    (portal,) = stripe_api.objects("billing_portal.session")
    assert response["Location"] == portal["url"]
    assert portal["customer"] == mine.id
    assert portal["return_url"] == "http://testserver/membership/account/"


def test_portal_for_someone_who_never_paid_explains_instead_of_failing(client, reader, stripe_api):
    confirm_password(client, reader)
    response = client.post("/membership/account/portal/", follow=True)
    assert "nothing to manage" in visible_text(response.content)
    assert not stripe_api.objects("billing_portal.session")


def test_portal_needs_a_login_and_a_post(client, reader):
    assert client.post("/membership/account/portal/")["Location"].startswith("/accounts/login/")
    client.force_login(reader)
    assert client.get("/membership/account/portal/").status_code == 405


# Donations ------------------------------------------------------------------------------------


def donate(client, **data):
    form = {"frequency": "once", "currency": "eur", "preset": "10", "attempt": str(uuid.uuid4())}
    form.update(data)
    return client.post("/donate/", form)


def test_anonymous_one_off_gift_goes_to_checkout_in_payment_mode(client, stripe_api):
    response = donate(client, preset="25")
    (session,) = checkout_sessions(stripe_api)
    assert response.status_code == 302 and response["Location"] == session["url"]
    assert session["mode"] == "payment" and session["amount_total"] == 2500
    assert session["currency"] == "eur" and session["customer"] is None
    assert session["metadata"] == {"kind": "donation"}
    assert session["success_url"] == "http://testserver/donate/thanks/"


def test_monthly_custom_gift_is_a_subscription_that_is_not_a_membership(client, reader, stripe_api):
    client.force_login(reader)
    donate(client, frequency="monthly", currency="usd", preset="other", custom_amount="12.50")
    (session,) = checkout_sessions(stripe_api)
    assert session["mode"] == "subscription"
    assert session["metadata"] == {"kind": "donation", "user_id": str(reader.pk)}
    (request,) = stripe_api.api_requests("POST", "/v1/checkout/sessions")
    item = request.params["line_items"][0]["price_data"]
    assert item["unit_amount"] == "1250" and item["currency"] == "usd"
    assert item["recurring"] == {"interval": "month"}
    assert request.params["subscription_data"]["metadata"]["kind"] == "donation"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"preset": "other", "custom_amount": "1"}, "greater than or equal to 2"),
        ({"preset": "other", "custom_amount": "50000"}, "less than or equal to 5000"),
        ({"preset": "other", "custom_amount": ""}, "Enter the amount"),
        ({"preset": "other", "custom_amount": "NaN"}, "Enter a number"),
        ({"preset": "other", "custom_amount": "1e9"}, "less than or equal to 5000"),
        ({"preset": "other", "custom_amount": "3.333"}, "no more than 2 decimal places"),
        ({"preset": "7"}, "Select a valid choice"),
        ({"currency": "gbp"}, "Select a valid choice"),
        ({"frequency": "yearly"}, "Select a valid choice"),
        ({"attempt": "x"}, "This form has expired. Please send it again."),
    ],
)
def test_bad_gifts_are_clear_form_errors_and_start_no_payment(client, stripe_api, data, message):
    response = donate(client, **data)
    assert response.status_code == 400
    assert message in visible_text(response.content)
    assert not checkout_sessions(stripe_api)


# Naughty strings the amount field reads as a number from DONATION_MIN to DONATION_MAX with at
# most two decimals (Python's Decimal, as Django's DecimalField): the gift each one makes, in cents.
NAUGHTY_AMOUNTS = {
    "1E2": 10000,  # exponent notation, which <input type="number"> allows too
    "1E02": 10000,
    "1E+02": 10000,
    "01000": 100000,  # leading zeros
    "08": 800,
    "09": 900,
    "１２３": 12300,  # full-width digits
    "١٢٣": 12300,  # Arabic-Indic digits
}
MIN = "Ensure this value is greater than or equal to 2."
MAX = "Ensure this value is less than or equal to 5000."
DIGITS = "Ensure that there are no more than 9 digits in total."
WHOLE_DIGITS = "Ensure that there are no more than 7 digits before the decimal point."
# Naughty strings that are numbers the amount field refuses, with its rules' messages.
NAUGHTY_NUMBERS_REFUSED = {
    **{
        number: [MIN]
        for number in "0 1 1.00 -1 -1.00 -1E2 -1E02 -1E+02 -0 -0.0 +0 +0.0 0.00".split()
    },
    "9" * 96: [DIGITS, MAX],
    "123456789012345678901234567890123456789": [DIGITS, MAX],
    "2.2250738585072011e-308": [DIGITS, MIN],
    "٠١٢٣٤٥٦٧٨٩": [WHOLE_DIGITS, MAX],
}


def test_naughty_strings_as_the_amount_give_that_amount_or_a_clear_error(client, stripe_api):
    """Every other string is not a number at all ("Enter a number.")."""
    for text in corpus.naughty_strings():
        response = donate(client, preset="other", custom_amount=text)
        if text in NAUGHTY_AMOUNTS:
            assert response.status_code == 302, text
            [session] = [
                s for s in checkout_sessions(stripe_api) if s["url"] == response["Location"]
            ]
            assert (session["amount_total"], session["currency"]) == (NAUGHTY_AMOUNTS[text], "eur")
        else:
            assert response.status_code == 400, text
            expected = NAUGHTY_NUMBERS_REFUSED.get(text, ["Enter a number."])
            assert dict(response.context["form"].errors) == {"custom_amount": expected}, text
    assert len(checkout_sessions(stripe_api)) == len(NAUGHTY_AMOUNTS)
    assert set(NAUGHTY_AMOUNTS) | set(NAUGHTY_NUMBERS_REFUSED) <= set(corpus.naughty_strings())


def test_naughty_strings_are_none_of_the_donation_choices(client, stripe_api):
    """Choices are matched exactly (none is a naughty string), so the sample used for the other
    multi-field flows covers them."""
    for text in sample_of_naughty_strings():
        response = donate(client, frequency=text, currency=text, preset=text)
        assert response.status_code == 400, text
        errors = response.context["form"].errors
        assert set(errors) == {"frequency", "currency", "preset"}, text
        for field, messages in errors.items():
            assert messages == [
                f"Select a valid choice. {text} is not one of the available choices."
            ], (field, text)
    assert not checkout_sessions(stripe_api)


def test_donate_page_offers_presets_and_a_custom_amount(client):
    page = visible_text(client.get("/donate/").content)
    for text in ("Once", "Monthly", "EUR", "USD", "10", "25", "Other amount"):
        assert text in page


def test_thank_you_page_confirms_once_the_donation_is_recorded(client, stripe_api):
    from members.models import Donation

    donate(client, preset="25")
    (session,) = checkout_sessions(stripe_api)
    response = client.get("/donate/thanks/")
    assert "being confirmed" in visible_text(response.content)
    Donation.objects.create(
        stripe_checkout_session_id=session["id"], amount=2500, currency="eur", status="paid"
    )
    assert "We received your gift of €25." in visible_text(client.get("/donate/thanks/").content)


def test_checkout_limit_applies_to_anonymous_gifts_per_address(client, stripe_api, settings):
    settings.ACCOUNT_RATE_LIMITS = {"checkout": "1/h/ip", "checkout_user": "5/h/user"}
    assert donate(client).status_code == 302
    assert donate(client).status_code == 429


def test_a_stranger_cannot_see_another_donors_gift(client, stripe_api):
    from members.models import Donation

    Donation.objects.create(
        stripe_checkout_session_id="cs_someone", amount=99900, currency="eur", status="paid"
    )
    page = visible_text(client.get("/donate/thanks/?session_id=cs_someone").content)
    assert "999" not in page
