"""The membership desk in a real browser: a Membership manager finds the dashboard from the
admin index, reads it (accessible as axe-core checks it, its charts named images with their
tables), and refunds part of a member's payment, which Stripe's webhook then records."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from members.models import Payment
from tests.browser.conftest import logged_in_context
from tests.browser.test_accessibility import AXE_TAGS
from tests.factories import UserFactory
from tests.members.stripe_events import join_at, plan_price_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk_page(live_server, chromium, membership_manager):
    context = logged_in_context(chromium, live_server, membership_manager)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def paid_member(fake_stripe):
    """A member who paid €5 through the fake Stripe's Checkout; later events wait for
    `deliver_pending()` (the live server shares the test's SQLite connection)."""
    membership = join_at(
        fake_stripe, UserFactory(email="ana@example.com"), plan_price_at(fake_stripe)
    )
    fake_stripe.wait_for_webhooks()
    fake_stripe.auto_deliver = False
    return membership


def test_the_dashboard_is_found_from_the_admin_index_and_accessible(
    desk_page, live_server, paid_member
):
    desk_page.goto(f"{live_server.url}/admin/")
    desk_page.get_by_role("link", name="Membership dashboard").first.click()

    expect(desk_page.get_by_role("heading", name="Membership dashboard")).to_be_visible()
    # One paying member at €5 a month.
    expect(desk_page.locator(".figures")).to_contain_text("€5")
    chart = desk_page.get_by_role("img", name="New and cancelled members per month")
    expect(chart).to_be_visible()
    expect(desk_page.locator("table").first).to_be_visible()
    results = Axe().run(
        desk_page,
        context={"include": [["#content"]]},
        options={"runOnly": {"type": "tag", "values": AXE_TAGS}},
    )
    assert results.violations_count == 0, results.generate_report()
    assert desk_page.errors == []


def test_a_manager_refunds_part_of_a_payment_from_the_members_page(
    desk_page, live_server, paid_member, fake_stripe
):
    payment = Payment.objects.get()
    desk_page.goto(f"{live_server.url}/admin/members/membership/{paid_member.pk}/change/")
    desk_page.get_by_role("link", name="Refund…").click()

    expect(desk_page.get_by_role("heading", name="Refund a payment")).to_be_visible()
    desk_page.get_by_label("Amount").fill("2")
    desk_page.get_by_role("button", name="Refund").click()

    expect(desk_page.locator(".messagelist")).to_contain_text("Stripe has been asked to refund €2.")
    assert [refund["amount"] for refund in fake_stripe.objects("refund")] == [200]
    # The payment changes when Stripe's charge.refunded arrives, not before.
    payment.refresh_from_db()
    assert payment.amount_refunded == 0
    assert all(delivery.ok for delivery in fake_stripe.deliver_pending())
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == ("partially_refunded", 200)

    desk_page.reload()
    expect(desk_page.locator("#member-payments + table")).to_contain_text("partially refunded")
    assert desk_page.errors == []
