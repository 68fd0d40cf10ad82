"""CSV exports of the membership desk's lists: members, donations and payments.

`ExportMixin` gives a model admin an `export/` address beside its list. The export holds the
rows the list shows with its current filters, search and ordering (the admin's own changelist
builds the query), all of them, not one page. Rows are read with `.values()` in chunks and
written as they come (`StreamingHttpResponse`), so 100,000 members take as little memory as 100;
every figure is computed by the database in the same query (no query per row).

The file opens cleanly in spreadsheet programs: UTF-8 with a byte order mark, RFC 4180 quoting
(Python's `csv`), and every cell that a spreadsheet would take for a formula (one beginning with
`=`, `+`, `-`, `@`, a tab, a carriage return or a NUL, or their full-width forms) starts with
an apostrophe, which makes it text. Each export is recorded (`DataExport`: who, what, which
filters, how many rows once the download has finished) and logged.
"""

import csv
import logging

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from modeltranslation.utils import build_localized_fieldname

from .models import DataExport, Donation, Membership, Payment, Price
from .money import decimal_amount

logger = logging.getLogger(__name__)

PERMISSION = "members.export_members"
BOM = "\ufeff"
#: Rows read from the database per round trip (and written to the response per chunk).
CHUNK_SIZE = 2000
#: What makes a spreadsheet read a cell as a formula, when it comes first (OWASP's list, plus
#: NUL and the full-width forms some spreadsheet programs also accept).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value):
    """A cell's text, with an apostrophe in front when a spreadsheet would read it as a
    formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class Echo:
    """A file-like object whose `write` returns what it is given: `csv.writer` formats a row,
    the response sends it (the pattern of Django's "Streaming large CSV files")."""

    def write(self, value):
        return value


def net_paid(**link):
    """The sum of the linked payments net of refunds, in minor units (0 when none). Disputed
    payments are left out, as in the dashboard's revenue: the bank has taken the money back."""
    payments = (
        Payment.objects.filter(**link)
        .exclude(status=Payment.Status.DISPUTED)
        .order_by()
        .values(*link)
        .annotate(total=Sum(F("amount") - F("amount_refunded")))
        .values("total")
    )
    return Coalesce(Subquery(payments, output_field=IntegerField()), Value(0))


def labels(choices):
    """{value: label} of a TextChoices, in the active language."""
    return {value: str(label) for value, label in choices.choices}


class Export:
    """One kind of export: what it records, the values it reads and the columns it writes."""

    what = None

    def values(self, queryset):
        """The changelist's queryset as plain rows (dicts) with everything the columns read."""
        raise NotImplementedError

    def columns(self, tz):
        """[(header, function of a row giving the cell)], built in the request's language and
        time zone (the file is written after the view has returned)."""
        raise NotImplementedError

    def filename(self):
        return f"{self.what}-{timezone.localdate():%Y-%m-%d}.csv"

    def stream(self, queryset, record, tz):
        """The file, chunk by chunk; counts the rows onto `record` once all are written."""
        columns = self.columns(tz)
        writer = csv.writer(Echo())
        yield BOM + writer.writerow([neutralise(header) for header, _cell in columns])
        count = 0
        chunk = []
        for row in self.values(queryset).iterator(chunk_size=CHUNK_SIZE):
            chunk.append(writer.writerow([neutralise(cell(row)) for _header, cell in columns]))
            count += 1
            if len(chunk) == CHUNK_SIZE:
                yield "".join(chunk)
                chunk = []
        if chunk:
            yield "".join(chunk)
        DataExport.objects.filter(pk=record.pk).update(rows=count)
        logger.info("Data export %s finished: %d %s rows.", record.pk, count, self.what)


def local_date(tz, value):
    return timezone.localtime(value, tz).date().isoformat() if value else ""


def local_time(tz, value):
    return timezone.localtime(value, tz).strftime("%Y-%m-%d %H:%M") if value else ""


def money(amount_key, currency_key):
    def cell(row):
        amount = row[amount_key]
        return "" if amount is None else decimal_amount(amount, row[currency_key])

    return cell


def key(name):
    return lambda row: row[name]


class MembersExport(Export):
    """One row per membership (a member with two memberships has two rows)."""

    what = DataExport.What.MEMBERS
    #: Statuses of a subscription that Stripe will renew at the period end unless it was set to
    #: cancel then (past due: Stripe is still retrying the renewal).
    RENEWING = [Membership.Status.ACTIVE, Membership.Status.TRIALING, Membership.Status.PAST_DUE]

    def values(self, queryset):
        plan_name = build_localized_fieldname("name", get_language() or "en")
        return queryset.values(
            "kind",
            "status",
            "started_at",
            "current_period_end",
            "cancel_at_period_end",
            "ended_at",
            "complimentary_until",
            email=F("user__email"),
            first_name=F("user__first_name"),
            last_name=F("user__last_name"),
            language=F("user__language"),
            interval=F("price__interval"),
            currency=F("price__currency"),
            plan_name=Coalesce(NullIf(F(f"plan__{plan_name}"), Value("")), F("plan__name")),
            total_paid=net_paid(membership=OuterRef("pk")),
        )

    @classmethod
    def renews(cls, row):
        return (
            row["kind"] == Membership.Kind.SUBSCRIPTION
            and row["status"] in cls.RENEWING
            and not row["cancel_at_period_end"]
        )

    @classmethod
    def renews_or_ends(cls, row):
        """The renewal date of a renewing subscription; otherwise the day it ends or ended."""
        if row["kind"] == Membership.Kind.COMPLIMENTARY:
            return row["complimentary_until"]
        if row["ended_at"]:
            return row["ended_at"]
        if row["status"] in cls.RENEWING:
            return row["current_period_end"]
        return None

    def columns(self, tz):
        status = labels(Membership.Status)
        interval = labels(Price.Interval)
        yes, no = str(_("yes")), str(_("no"))
        return [
            (_("email"), key("email")),
            (_("first name"), key("first_name")),
            (_("last name"), key("last_name")),
            (_("plan"), key("plan_name")),
            (_("interval"), lambda row: interval.get(row["interval"], "")),
            (_("currency"), lambda row: (row["currency"] or "").upper()),
            (_("status"), lambda row: status.get(row["status"], row["status"])),
            (_("member since"), lambda row: local_date(tz, row["started_at"])),
            (_("renews or ends"), lambda row: local_date(tz, self.renews_or_ends(row))),
            (_("renews"), lambda row: yes if self.renews(row) else no),
            (_("total paid"), money("total_paid", "currency")),
            (_("language"), key("language")),
        ]


class DonationsExport(Export):
    """One row per gift: a monthly gift is one row, with what it has brought in so far."""

    what = DataExport.What.DONATIONS

    def values(self, queryset):
        return queryset.values(
            "created",
            "amount",
            "currency",
            "recurring",
            "status",
            email_address=Coalesce(NullIf(F("email"), Value("")), F("user__email")),
            first_name=F("user__first_name"),
            last_name=F("user__last_name"),
            language=F("user__language"),
            total_paid=net_paid(donation=OuterRef("pk")),
        )

    def columns(self, tz):
        status = labels(Donation.Status)
        monthly, one_off = str(_("monthly")), str(_("one-off"))
        return [
            (_("date"), lambda row: local_time(tz, row["created"])),
            (_("email"), key("email_address")),
            (_("first name"), key("first_name")),
            (_("last name"), key("last_name")),
            (_("amount"), money("amount", "currency")),
            (_("currency"), lambda row: row["currency"].upper()),
            (_("one-off or monthly"), lambda row: monthly if row["recurring"] else one_off),
            (_("status"), lambda row: status.get(row["status"], row["status"])),
            (_("total paid"), money("total_paid", "currency")),
            (_("language"), key("language")),
        ]


class PaymentsExport(Export):
    """One row per payment received (an invoice paid, a one-off gift)."""

    what = DataExport.What.PAYMENTS

    def values(self, queryset):
        return queryset.values(
            "paid_at",
            "stripe_id",
            "kind",
            "amount",
            "amount_refunded",
            "currency",
            "status",
            email=Coalesce(F("user__email"), NullIf(F("donation__email"), Value(""))),
        )

    def columns(self, tz):
        kind = labels(Payment.Kind)
        status = labels(Payment.Status)
        return [
            (_("paid at"), lambda row: local_time(tz, row["paid_at"])),
            (_("Stripe id"), key("stripe_id")),
            (_("email"), key("email")),
            (_("kind"), lambda row: kind.get(row["kind"], row["kind"])),
            (_("amount"), money("amount", "currency")),
            (_("refunded"), money("amount_refunded", "currency")),
            (_("currency"), lambda row: row["currency"].upper()),
            (_("status"), lambda row: status.get(row["status"], row["status"])),
        ]


class ExportMixin:
    """For a ModelAdmin: an "Export CSV" button on its list (`export` names the Export) that
    downloads what the list shows, for staff with the `members.export_members` permission."""

    export = None

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        return [
            path("export/", self.admin_site.admin_view(require_GET(self.export_view)), name=name),
            *super().get_urls(),
        ]

    def has_export_permission(self, request):
        return self.has_view_or_change_permission(request) and request.user.has_perm(PERMISSION)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        if not self.has_export_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            messages.error(request, _("Those filters do not apply to this list: nothing exported."))
            return redirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        # The list's filters and search as in its address (without its page number).
        filters = changelist.get_query_string().removeprefix("?")
        max_length = DataExport._meta.get_field("filters").max_length
        record = DataExport.objects.create(
            user=request.user, what=self.export.what, filters=filters[:max_length]
        )
        logger.info(
            "Data export %s: %s exports %s, filters %r.",
            record.pk,
            request.user.email,
            self.export.what,
            filters,
        )
        response = StreamingHttpResponse(
            self.export.stream(changelist.queryset, record, timezone.get_current_timezone()),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{self.export.filename()}"'
        patch_cache_control(response, private=True, no_store=True)
        return response
