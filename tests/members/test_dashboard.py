"""The membership dashboard: its figures from a small fixed history, worked out by hand from
the definitions (docs/membership-desk.md), the page and who may see it, and its query count.

The site's time zone in tests is Asia/Tbilisi (UTC+4): every moment below is local, at noon
unless said otherwise, and one payment falls on a month's boundary in UTC but not locally.
"""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members import reporting
from members.models import Donation, Membership, Payment, Price
from newsroom.models import CallToActionCount
from tests.factories import (
    CallToActionFactory,
    CampaignFactory,
    MembershipFactory,
    PlanFactory,
    PriceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TBILISI = ZoneInfo("Asia/Tbilisi")
NOW = datetime(2026, 3, 15, 12, tzinfo=TBILISI)
URL = "/admin/members/membership/dashboard/"


def at(year, month, day, hour=12):
    return datetime(year, month, day, hour, tzinfo=TBILISI)


def jan(day):
    return at(2026, 1, day)


def feb(day):
    return at(2026, 2, day)


def mar(day):
    return at(2026, 3, day)


def dec(day):
    return at(2025, 12, day)


def subscription(price, started, status="active", *, ended=None, reason="", feedback="", **kw):
    return MembershipFactory(
        price=price,
        status=status,
        started_at=started,
        ended_at=ended,
        canceled_at=ended,
        cancellation_reason=reason,
        cancellation_feedback=feedback,
        **kw,
    )


def pay(membership, paid_at, amount, *, refunded=0, status="paid"):
    return Payment.objects.create(
        stripe_id=f"in_{Payment.objects.count() + 1}",
        membership=membership,
        user=membership.user,
        kind=Payment.Kind.MEMBERSHIP,
        amount=amount,
        currency=membership.price.currency,
        amount_refunded=refunded,
        status=status,
        paid_at=paid_at,
    )


def give(currency, amount, paid_at, *, recurring, donation=None, refunded=0, status="paid"):
    donation = donation or Donation.objects.create(
        amount=amount, currency=currency, recurring=recurring, status="paid"
    )
    Payment.objects.create(
        stripe_id=f"pi_{Payment.objects.count() + 1}",
        donation=donation,
        kind=Payment.Kind.DONATION,
        amount=amount,
        currency=currency,
        amount_refunded=refunded,
        status=status,
        paid_at=paid_at,
    )
    return donation


@pytest.fixture
def history():
    """Three months of a small newsroom's members, payments, gifts and fundraiser blocks."""
    plan = PlanFactory()
    eur_month = PriceFactory(plan=plan, amount=500, currency="eur", interval="month")
    eur_year = PriceFactory(plan=plan, amount=6000, currency="eur", interval="year")
    usd_month = PriceFactory(plan=plan, amount=700, currency="usd", interval="month")

    # M1: monthly €5 since December (its first payment at an older price €3); €2 of
    # February's refunded.
    m1 = subscription(eur_month, dec(10))
    pay(m1, dec(10), 300)
    pay(m1, jan(10), 500)
    pay(m1, feb(10), 500, refunded=200, status="partially_refunded")
    pay(m1, mar(10), 500)
    # M2: yearly €60 since January: €5 of MRR.
    pay(subscription(eur_year, jan(5)), jan(5), 6000)
    # M3: monthly $7 since December; January's payment disputed.
    m3 = subscription(usd_month, dec(20))
    pay(m3, dec(20), 700)
    pay(m3, jan(20), 700, status="disputed")
    pay(m3, feb(20), 700)
    # M4: trialing since February, nothing paid.
    subscription(usd_month, feb(3), "trialing")
    # M5: past due, its period ended 3 days ago: within the 7 days' grace, still paying.
    m5 = subscription(eur_month, jan(12), "past_due", current_period_end=mar(12))
    pay(m5, jan(12), 500)
    pay(m5, feb(12), 500)
    # M6: past due for two weeks: beyond the grace period, not paying now (not ended either).
    m6 = subscription(eur_month, dec(1), "past_due", current_period_end=mar(1))
    for day in (dec(1), jan(1), feb(1)):
        pay(m6, day, 500)
    # M7: cancelled by the member in January (too expensive).
    m7 = subscription(
        eur_month,
        dec(5),
        "canceled",
        ended=jan(25),
        reason="cancellation_requested",
        feedback="too_expensive",
    )
    pay(m7, dec(5), 500)
    pay(m7, jan(5), 500)
    # M8: ended in February after failed payments; January's payment fully refunded.
    m8 = subscription(usd_month, dec(8), "canceled", ended=feb(8), reason="payment_failed")
    pay(m8, dec(8), 700)
    pay(m8, jan(8), 700, refunded=700, status="refunded")
    # M9: ended in March after a dispute ("other").
    m9 = subscription(eur_month, jan(15), "canceled", ended=mar(2), reason="payment_disputed")
    pay(m9, jan(15), 500)
    pay(m9, feb(15), 500)
    # M10: ended in March with no reason recorded ("other").
    pay(subscription(eur_month, feb(20), "canceled", ended=mar(5)), feb(20), 500)
    # M11: Checkout never paid: counts nowhere.
    subscription(eur_month, feb(25), "incomplete_expired", ended=feb(26))
    # M12: started and paid at 22:00 UTC on 31 January, which is 1 February in Tbilisi.
    m12 = subscription(usd_month, datetime(2026, 1, 31, 22, tzinfo=ZoneInfo("UTC")))
    pay(m12, m12.started_at, 700)
    # M13: a trial cancelled by the member in March (doesn't use it), nothing paid.
    subscription(
        eur_month,
        mar(1),
        "canceled",
        ended=mar(10),
        reason="cancellation_requested",
        feedback="unused",
    )
    # M14: a year ago, long before the twelve months.
    m14 = subscription(
        eur_month, at(2025, 1, 10), "canceled", ended=at(2025, 3, 10), reason="payment_failed"
    )
    pay(m14, at(2025, 1, 10), 500)
    pay(m14, at(2025, 2, 10), 500)
    # M15: started yesterday, its first invoice not recorded yet: MRR counts its price.
    subscription(usd_month, mar(14))

    # Complimentary grants: one in December that has run out, one in January with the plan,
    # one in March with none.
    def grant(started, until, plan=None):
        Membership.objects.create(
            user=UserFactory(),
            kind="complimentary",
            status="complimentary",
            plan=plan,
            started_at=started,
            complimentary_until=until,
        )

    grant(dec(15), feb(28))
    grant(jan(20), at(2026, 12, 31), plan)
    grant(mar(3), at(2026, 4, 30))

    # Donations: one-off €25 in January; $10 a month from January, $4 of February's
    # refunded; a one-off $50 in February, disputed; €3 a month from February; a one-off €10
    # in March, refunded in full.
    give("eur", 2500, jan(18), recurring=False)
    monthly_usd = give("usd", 1000, jan(22), recurring=True)
    give("usd", 1000, feb(22), recurring=True, donation=monthly_usd, refunded=400)
    give("usd", 1000, mar(12), recurring=True, donation=monthly_usd)
    give("usd", 5000, feb(14), recurring=False, status="disputed")
    monthly_eur = give("eur", 300, feb(1), recurring=True)
    give("eur", 300, mar(1), recurring=True, donation=monthly_eur)
    give("eur", 1000, mar(8), recurring=False, refunded=1000, status="refunded")

    # Fundraiser blocks: two of one campaign, one of none; a count from before the months.
    spring = CampaignFactory(name="Spring drive")
    banner = CallToActionFactory(name="Spring banner", campaign=spring)
    story_end = CallToActionFactory(name="Spring story end", campaign=spring)
    inline = CallToActionFactory(name="Collective fundraiser inline")
    for block, language, day, views, clicks, conversions in [
        (banner, "en", jan(10), 1000, 50, 5),
        (banner, "ru", feb(2), 400, 10, 1),
        (story_end, "en", mar(1), 600, 30, 3),
        (inline, "en", feb(14), 200, 20, 0),
        (inline, "en", at(2025, 3, 1), 9999, 999, 99),
    ]:
        CallToActionCount.objects.create(
            block=block,
            language=language,
            day=day.date(),
            views=views,
            clicks=clicks,
            conversions=conversions,
        )


def month(figures, year, number):
    return next(m for m in figures.months if (m.start.year, m.start.month) == (year, number))


def test_members_now_and_mrr(history):
    figures = reporting.dashboard(NOW)

    rows = {(r.interval, r.currency): (r.paid, r.trialing, r.in_grace) for r in figures.active_now}
    assert rows == {
        ("month", "eur"): (1, 0, 1),  # M1 paid; M5 in grace (M6 is beyond it)
        ("year", "eur"): (1, 0, 0),  # M2
        ("month", "usd"): (3, 1, 0),  # M3, M12, M15 paid; M4 trialing
    }
    assert {r.plan for r in figures.active_now} == {"Supporter"}
    assert [(r.plan, r.count) for r in figures.complimentary_now] == [("", 1), ("Supporter", 1)]
    assert (figures.paying_now, figures.trialing_now, figures.complimentary_total) == (6, 1, 2)

    # EUR: M1's latest €5 + M2's €60 / 12 + M5's latest €5. USD: M3's and M12's latest $7,
    # and M15's price $7 (no payment yet).
    assert figures.mrr == {"eur": Decimal(1500), "usd": Decimal(2100)}


def test_mrr_counts_a_twelfth_of_a_yearly_price_to_the_fraction():
    price = PriceFactory(amount=5000, currency="eur", interval=Price.Interval.YEAR)
    pay(subscription(price, jan(5)), jan(5), 5000)
    figures = reporting.dashboard(NOW)
    assert figures.mrr == {"eur": Decimal(5000) / 12}
    assert figures.mrr_rounded == {"eur": 417}


def test_new_cancelled_net_and_churn_per_month(history):
    figures = reporting.dashboard(NOW)

    assert [m.start.isoformat() for m in figures.months] == [
        f"{year}-{number:02}-01"
        for year, number in [(2025, n) for n in range(4, 13)] + [(2026, 1), (2026, 2), (2026, 3)]
    ]
    expected = {
        # month: new, complimentary, voluntary, failed, other, net, paying at start
        (2025, 12): (5, 1, 0, 0, 0, 5, 0),  # M1, M3, M6, M7, M8
        (2026, 1): (3, 1, 1, 0, 0, 2, 5),  # M2, M5, M9; M7 left; paying: M1 M3 M6 M7 M8
        (2026, 2): (3, 0, 0, 1, 0, 2, 7),  # M4, M10, M12; M8 failed; + M2 M5 M9, − M7
        (2026, 3): (2, 1, 1, 0, 2, -1, 8),  # M13, M15; M13 / M9, M10; + M10 M12, − M8
    }
    for (year, number), figures_of_month in expected.items():
        m = month(figures, year, number)
        assert (
            m.new,
            m.complimentary,
            m.cancelled_voluntary,
            m.cancelled_failed_payment,
            m.cancelled_other,
            m.net,
            m.paying_at_start,
        ) == figures_of_month, (year, number)
    assert month(figures, 2025, 12).churn_rate is None
    assert month(figures, 2026, 1).churn_rate == 1 / 5
    assert month(figures, 2026, 2).churn_rate == 1 / 7
    assert month(figures, 2026, 3).churn_rate == 3 / 8
    for m in figures.months[:8]:  # April to November 2025: nothing happened
        assert (m.new, m.cancelled, m.paying_at_start, m.churn_rate) == (0, 0, 0, None)


def test_donations_and_revenue_per_month(history):
    figures = reporting.dashboard(NOW)
    D, R = reporting.Donations, reporting.Revenue

    assert month(figures, 2025, 12).donations == {}
    assert month(figures, 2026, 1).donations == {"eur": D(1, 2500, 0, 0), "usd": D(0, 0, 1, 1000)}
    assert month(figures, 2026, 2).donations == {"eur": D(0, 0, 1, 300), "usd": D(1, 5000, 1, 1000)}
    assert month(figures, 2026, 3).donations == {
        "eur": D(1, 1000, 1, 300),
        "usd": D(0, 0, 1, 1000),
    }

    # December: M1 €3, M6 €5, M7 €5 / M3 $7, M8 $7.
    assert month(figures, 2025, 12).revenue == {"eur": R(1300, 0), "usd": R(1400, 0)}
    # January: €5 ×5 + €60 and the €25 gift / M3's disputed, M8's refunded; the $10 gift.
    assert month(figures, 2026, 1).revenue == {"eur": R(8500, 2500), "usd": R(0, 1000)}
    # February: M1 €5 − €2, M5, M6, M9, M10 €5; €3 gift / M3 and M12 $7; $10 − $4 (the
    # disputed $50 left out).
    assert month(figures, 2026, 2).revenue == {"eur": R(2300, 300), "usd": R(1400, 600)}
    # March: M1 €5; €3 gift and a refunded €10 / the $10 gift.
    assert month(figures, 2026, 3).revenue == {"eur": R(500, 300), "usd": R(0, 1000)}
    assert month(figures, 2026, 1).revenue["eur"].total == 11000


def test_conversions_per_block_and_campaign_and_cancellation_reasons(history):
    figures = reporting.dashboard(NOW)

    assert [(b.name, b.views, b.clicks, b.conversions) for b in figures.blocks] == [
        ("Spring banner", 1400, 60, 6),
        ("Spring story end", 600, 30, 3),
        ("Collective fundraiser inline", 200, 20, 0),
    ]
    assert [(c.name, c.views, c.clicks, c.conversions) for c in figures.campaigns] == [
        ("Spring drive", 2000, 90, 9)
    ]
    assert figures.campaigns[0].conversion_rate == 0.1
    assert figures.campaigns[0].click_rate == 0.045
    assert figures.blocks[2].conversion_rate == 0

    reasons = {r.code: r.count for r in figures.cancellation_reasons}
    assert reasons == {
        "cancellation_requested": 2,  # M7, M13
        "payment_failed": 1,  # M8 (M14 ended before the months)
        "payment_disputed": 1,  # M9
        "": 1,  # M10
    }
    feedback = {r.code: r.count for r in figures.cancellation_feedback if r.count}
    assert feedback == {"too_expensive": 1, "unused": 1, "": 3}


def test_the_whole_dashboard_takes_the_same_queries_for_10_and_100_members():
    price = PriceFactory()

    def members(count):
        for n in range(count):
            membership = subscription(price, jan(1 + n % 28))
            pay(membership, jan(1 + n % 28), 500)
            pay(membership, feb(1 + n % 28), 500)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            reporting.dashboard(NOW)
        return len(captured)

    members(10)
    with_10 = queries()
    members(90)
    assert queries() == with_10 <= 12
    assert reporting.dashboard(NOW).paying_now == 100


@pytest.fixture
def frozen(monkeypatch):
    """The page's figures as of NOW, the fixed history's present."""
    real = reporting.dashboard
    monkeypatch.setattr(reporting, "dashboard", lambda now=None: real(NOW))


@pytest.mark.parametrize("persona", ["membership_manager", "superuser"])
def test_managers_see_the_figures_the_charts_and_the_definitions(
    client, history, frozen, persona, request
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Membership dashboard" in page
    assert "€15" in page and "$21" in page  # MRR
    assert "March 2026" in page and "December 2025" in page
    assert "37.5%" in page  # March's churn: 3 of 8
    assert "14.3%" in page  # February's: 1 of 7, rounded
    assert "€110" in page  # January's EUR revenue in all: €85 + €25
    assert "Spring drive" in page and "Collective fundraiser inline" in page
    assert "How these figures are counted" in page
    assert page.count('role="img"') == 3  # members, revenue in EUR, revenue in USD
    assert 'aria-labelledby="chart-members-title chart-members-desc"' in page
    assert '<title id="chart-members-title">New and cancelled members per month</title>' in page
    assert "<script" not in page.split('id="content-main"')[1]


def test_the_page_is_in_the_reader_s_language_and_its_charts_keep_svg_numbers(
    client, history, frozen, membership_manager
):
    client.force_login(membership_manager)
    page = client.get(f"/ru{URL}").content.decode()
    assert "Март 2026" in page
    assert "37,5%" in page
    assert "15 €" in page.replace("\xa0", " ")
    svg = page.split('<svg class="chart"', 1)[1].split("</svg>", 1)[0]
    coordinates = [value.split('"')[0] for value in svg.split(' x="')[1:]]
    # Coordinates keep their decimal point in Russian (whose decimal separator is a comma).
    assert any("." in value for value in coordinates)
    assert not any("," in value for value in coordinates)


@pytest.mark.parametrize("persona", ["editor", "contributor"])
def test_editors_and_contributors_may_not_see_the_dashboard(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(URL).status_code == 403
    index = client.get("/admin/").content.decode()
    assert URL not in index


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_dashboard_is_linked_from_the_admin_index_and_the_membership_list(
    client, membership_manager
):
    client.force_login(membership_manager)
    assert URL in client.get("/admin/").content.decode()
    assert URL in client.get("/admin/members/membership/").content.decode()


@pytest.mark.parametrize(
    "persona, modules",
    [
        ("superuser", ["membership-dashboard-module", "page-cache-module"]),
        ("membership_manager", ["membership-dashboard-module"]),
        ("editor", ["page-cache-module"]),
        ("contributor", []),
    ],
)
def test_the_admin_index_sidebar_is_one_column_with_each_roles_modules(
    client, request, persona, modules
):
    user = request.getfixturevalue(persona)
    LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(user),
        object_id=str(user.pk),
        object_repr="A change of mine",
        action_flag=CHANGE,
    )
    client.force_login(user)

    page = BeautifulSoup(client.get("/admin/").content, "html.parser")

    [column] = page.select("#content-related")
    assert [module["id"] for module in column.select(".module")] == [
        *modules,
        "recent-actions-module",
    ]
    assert "A change of mine" in column.select_one("#recent-actions-module").get_text()
