"""The membership dashboard page in the admin (figures: members.reporting; charts:
newsroom.charts). Routed by MembershipAdmin.get_urls(); Membership managers and superusers
only."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.template.defaultfilters import date as format_date
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from newsroom import charts

from . import reporting
from .models import Membership
from .money import format_money

# Bar colours readable on the admin's light and dark themes.


def dashboard_view(request, *, admin_site):
    if not request.user.has_perm("members.view_dashboard"):
        raise PermissionDenied
    figures = reporting.dashboard(timezone.now())
    currencies = figures.currencies
    months = [
        {
            "month": month,
            "donations": [(c, month.donations.get(c, reporting.Donations())) for c in currencies],
            "revenue": [(c, month.revenue.get(c, reporting.Revenue())) for c in currencies],
        }
        for month in figures.months
    ]
    context = {
        **admin_site.each_context(request),
        "title": _("Membership dashboard"),
        "opts": Membership._meta,
        "dashboard": figures,
        "currencies": currencies,
        "mrr": [(currency, figures.mrr_rounded[currency]) for currency in figures.mrr],
        "months": months,
        "conversion_tables": [
            (_("Each fundraiser block"), figures.blocks),
            (_("Each campaign (its blocks together)"), figures.campaigns),
        ],
        "time_zone": settings.TIME_ZONE,
        "members_chart": members_chart(figures),
        "revenue_charts": [
            (currency, revenue_chart(figures, currency, index))
            for index, currency in enumerate(currencies)
        ],
    }
    return TemplateResponse(request, "admin/members/dashboard.html", context)


def _categories(figures):
    """Each month on a chart's axis: its short name, with the year under the first month shown
    and under January; and its full name for the bars' titles."""
    return [
        (
            [format_date(month.start, "M")]
            + ([format_date(month.start, "Y")] if index == 0 or month.start.month == 1 else []),
            format_date(month.start, "F Y"),
        )
        for index, month in enumerate(figures.months)
    ]


def members_chart(figures):
    return charts.bar_chart(
        chart_id="chart-members",
        title=_("New and cancelled members per month"),
        description=_(
            "Bars for each of the last 12 months: new members, and members who cancelled. "
            "The table below gives the same figures."
        ),
        categories=_categories(figures),
        series=[
            (_("New"), [month.new for month in figures.months], charts.BLUE),
            (_("Cancelled"), [month.cancelled for month in figures.months], charts.RED),
        ],
    )


def revenue_chart(figures, currency, index):
    def money(value):
        return format_money(value, currency)

    return charts.bar_chart(
        chart_id=f"chart-revenue-{index}",
        title=_("Revenue per month in %(currency)s") % {"currency": currency.upper()},
        description=_(
            "Bars for each of the last 12 months: what memberships and donations brought in, "
            "net of refunds, disputed payments left out. The revenue table gives the same "
            "figures."
        ),
        categories=_categories(figures),
        series=[
            (
                _("Memberships"),
                [m.revenue.get(currency, reporting.Revenue()).membership for m in figures.months],
                charts.BLUE,
            ),
            (
                _("Donations"),
                [m.revenue.get(currency, reporting.Revenue()).donation for m in figures.months],
                charts.GREEN,
            ),
        ],
        format_value=money,
    )
