"""A reader becomes a member and a donor gives, in a real browser, against a fake Stripe.

The fake Stripe (tests/fake_stripe) serves the hosted Checkout and Customer Portal pages and
delivers correctly signed webhooks to the live server before it sends the browser back, so every
page the browser lands on already knows what Stripe knows.
"""

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import dateformat, timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from members.models import Donation, Membership, Payment
from tests.factories import ArticleFactory, PlanFactory, PriceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long passphrase for the member"
STORY_BODY = "The council signed the contract two days before the tender closed."
GATE = "This story is for members"
# The events docs/stripe.md tells the operator to enable on the webhook endpoint, and only those:
# the fake would otherwise also deliver events such as customer.created in the background, while
# the request that caused them is still writing (SQLite's in-memory test database then refuses).
ENABLED_EVENTS = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "invoice.paid",
    "invoice_payment.paid",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "charge.refunded",
    "charge.dispute.created",
]


@pytest.fixture
def stripe_webhook_events():
    """The fake Stripe (tests/conftest.py's `fake_stripe`) sends only these types."""
    return ENABLED_EVENTS


@pytest.fixture
def supporter_price(fake_stripe):
    """The "Supporter" plan at €5 a month, with its price created in (fake) Stripe."""
    stripe_price = fake_stripe.client().v1.prices.create(
        params={
            "currency": "eur",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Supporter"},
            "lookup_key": "newsroom-supporter-month-eur",
        }
    )
    return PriceFactory(
        plan=PlanFactory(name="Supporter", slug="supporter"),
        amount=500,
        currency="eur",
        interval="month",
        stripe_price_id=stripe_price.id,
    )


@pytest.fixture
def browser_errors(page):
    """What the browser reports in its console (a refused form submission, say)."""
    errors = []

    def console(message):
        if message.type == "error":
            errors.append(message.text)

    page.on("console", console)
    return errors


def wait_for_stripe(page, url, errors):
    """Wait for one of Stripe's hosted pages; when the browser does not get there, say why."""
    try:
        page.wait_for_url(url)
        return
    except PlaywrightTimeoutError:
        pass
    pytest.fail(f"The browser did not reach {url}; it reported: {errors or 'nothing'}")


def local_date(timestamp):
    """A Stripe timestamp as the account page prints it (the site's time zone)."""
    moment = timezone.localtime(datetime.fromtimestamp(timestamp, tz=UTC))
    return dateformat.format(moment, "j E Y")


def verification_path(message):
    """The path of the confirmation link in allauth's mail.

    The link is built for HTTPS (production); the live server speaks plain HTTP, so the test
    follows the same path on it.
    """
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
    assert link, message.body
    return urlsplit(link.group(0)).path


def test_reader_joins_reads_cancels_and_loses_access(
    live_server, page, browser_errors, fake_stripe, supporter_price
):
    story = ArticleFactory(
        headline="How the bridge contract was awarded",
        slug="how-the-bridge-contract-was-awarded",
        visibility="members",
        body=f"<p>{STORY_BODY}</p><p>The mayor's office declined to comment.</p>",
    )
    story_url = live_server.url + story.get_absolute_url()

    # Form submissions (navigations that POST) on the way from the header to Stripe's page.
    submits = []

    def count_submits(request):
        if request.method == "POST" and request.is_navigation_request():
            submits.append(request.url)

    page.on("request", count_submits)

    page.goto(live_server.url + "/")
    page.locator(".site-header").get_by_role("link", name="Become a member").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Become a member")

    page.get_by_role("button", name="Join as Supporter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your account")
    expect(page.locator(".join-summary")).to_contain_text("Supporter")
    expect(page.locator(".join-summary")).to_contain_text("€5")

    page.get_by_label("Email").fill("new.member@example.com")
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_label(re.compile(r"^Password \(again\):?$")).fill(PASSWORD)
    page.get_by_role("button", name="Sign up and continue to payment").click()

    # Stripe's hosted page: the plan and the address the reader signed up with.
    wait_for_stripe(page, fake_stripe.url + "/checkout/**", browser_errors)
    assert submits == [
        live_server.url + "/membership/join/",
        live_server.url + "/membership/join/sign-up/",
    ]  # the plan choice and the sign-up, nothing more
    page.remove_listener("request", count_submits)
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribe €5.00")
    expect(page.get_by_label("Email")).to_have_value("new.member@example.com")
    page.get_by_role("button", name="Pay").click()

    # Back on the site: the webhooks have already landed.
    page.wait_for_url(live_server.url + "/membership/welcome/**")
    expect(page.get_by_role("heading", level=1)).to_have_text("You are a member")
    expect(page.locator(".membership-welcome")).to_contain_text("new.member@example.com")

    membership = Membership.objects.get(user__email="new.member@example.com")
    subscription = fake_stripe.get(membership.stripe_subscription_id)
    period_end = local_date(subscription["items"]["data"][0]["current_period_end"])

    # The verification link, opened in the browser that signed up, logs the member in.
    confirmations = [m for m in mail.outbox if "/accounts/confirm-email/" in m.body]
    assert len(confirmations) == 1, [m.subject for m in mail.outbox]
    page.goto(live_server.url + verification_path(confirmations[0]))
    page.get_by_role("button", name="Confirm").click()

    page.goto(live_server.url + "/membership/account/")
    panel = page.locator(".account-panel").first
    expect(panel).to_contain_text("Supporter · €5 per month")
    expect(panel).to_contain_text("Active")
    expect(panel.locator(".renews")).to_have_text(period_end)
    expect(page.locator("table.history")).to_contain_text("€5")

    page.goto(story_url)
    expect(page.locator(".article-body")).to_contain_text(STORY_BODY)
    expect(page.get_by_text(GATE)).to_have_count(0)

    # The portal: cancel at the end of the period, then come back to the account page.
    page.goto(live_server.url + "/membership/account/")
    page.get_by_role("button", name="Manage payments and plan").click()
    # The portal changes plans and payment methods: the password first.
    page.wait_for_url(live_server.url + "/accounts/reauthenticate/**")
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    wait_for_stripe(page, fake_stripe.url + "/portal/**", browser_errors)
    page.get_by_role("button", name="Cancel at period end").click()
    expect(page.get_by_role("status")).to_contain_text("canceled at the end of the period")
    page.get_by_role("button", name="Return").click()
    page.wait_for_url(live_server.url + "/membership/account/")
    expect(page.locator(".cancels")).to_have_text(f"Cancels on {period_end}")

    # Until then the member still reads in full.
    page.goto(story_url)
    expect(page.locator(".article-body")).to_contain_text(STORY_BODY)

    # The period is over: Stripe deletes the subscription and access ends.
    fake_stripe.cancel_subscription(membership.stripe_subscription_id)
    page.goto(story_url)
    expect(page.get_by_role("heading", name=GATE)).to_be_visible()
    expect(page.locator(".article-body")).to_have_count(0)
    expect(page.get_by_text(STORY_BODY)).to_have_count(0)

    page.goto(live_server.url + "/membership/account/")
    expect(page.locator(".account-panel").first).to_contain_text(
        "You are not a member at the moment."
    )
    membership.refresh_from_db()
    assert membership.status == Membership.Status.CANCELED
    assert Payment.objects.filter(membership=membership).count() == 1


def test_donor_gives_a_custom_amount_without_an_account(
    live_server, page, browser_errors, fake_stripe
):
    page.goto(live_server.url + "/")
    page.locator(".site-header").get_by_role("link", name="Donate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Support our journalism")

    page.get_by_role("radio", name="Once").check()
    page.get_by_role("radio", name="EUR").check()
    page.get_by_role("radio", name="Other amount").check()
    page.get_by_role("spinbutton", name="Other amount").fill("17.50")
    page.get_by_role("button", name="Continue to payment").click()

    wait_for_stripe(page, fake_stripe.url + "/checkout/**", browser_errors)
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay €17.50")
    page.get_by_label("Email").fill("donor@example.com")
    page.get_by_role("button", name="Pay").click()

    page.wait_for_url(live_server.url + "/donate/thanks/**")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your gift")
    expect(page.locator("main")).to_contain_text("We received your gift of €17.50.")

    donation = Donation.objects.get()
    assert (donation.amount, donation.currency, donation.recurring, donation.user) == (
        1750,
        "eur",
        False,
        None,
    )
    assert donation.email == "donor@example.com"
    assert donation.status == Donation.Status.PAID
    assert Payment.objects.get(donation=donation).amount == 1750
