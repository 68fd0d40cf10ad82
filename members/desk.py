"""The membership desk's actions on one member, from the membership's page in the admin.

What the page shows besides the membership's fields (`member_page_context`): the member's
payments, other memberships, notes and links to Stripe's Dashboard. The actions, each a view
served under the admin (`MembershipAdmin.get_urls`, `PaymentAdmin.get_urls`) that checks its
own permission and writes who did what to the admin log:

- add a note about the member (`members.add_membernote`);
- extend a complimentary membership (`members.change_membership`);
- cancel a subscription at the end of its period, on the member's behalf
  (`members.cancel_membership`);
- refund a payment (`members.refund_payment`).

Cancellations and refunds are asked of Stripe; the rows here change when Stripe's events arrive
through the webhook, as for any other change made in the portal or the Dashboard. Both pages
carry an attempt token made when the page is shown: a double-click sends the same idempotency
key, so Stripe acts once.
"""

import datetime
import re
import uuid
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from . import billing
from .forms import ATTEMPT_ERRORS
from .models import Customer, MemberNote, Membership, Payment, months_before
from .money import format_money

# At most this many payments on the member's page; the payment list has the rest.
PAYMENTS_SHOWN = 50

# Subscriptions that may still be set to end at period end: they have a period (not
# incomplete) and have not ended.
CANCELLABLE_STATUSES = [
    Membership.Status.ACTIVE,
    Membership.Status.TRIALING,
    Membership.Status.PAST_DUE,
    Membership.Status.UNPAID,
    Membership.Status.PAUSED,
]


def _day(value):
    return date_format(timezone.localtime(value), "j F Y") if value else ""


def _iso_day(value):
    """The day as the admin log records it, whatever the language of the person acting."""
    return timezone.localtime(value).date().isoformat() if value else "?"


def _require(request, permission):
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _membership_page(membership):
    return reverse("admin:members_membership_change", args=[membership.pk])


def _posted(request):
    # An empty POST is still a POST: its form is bound, and says what is missing.
    return request.POST if request.method == "POST" else None


def _page(request, model_admin, template, title, obj, **context):
    """An action's page in the admin's frame, with breadcrumbs back to `obj`."""
    opts = model_admin.opts
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "opts": opts,
            "title": title,
            "object": obj,
            "object_url": reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]
            ),
            **context,
        },
    )


# The member's page ------------------------------------------------------------------------------


def refund_problem(payment):
    """Why `payment` cannot be refunded from here, or None when it can."""
    if payment.status == Payment.Status.DISPUTED:
        return _(
            "This payment is disputed: the bank holds the money until the dispute is settled, "
            "so it cannot be refunded. Answer the dispute in Stripe's dashboard."
        )
    if payment.status == Payment.Status.REFUNDED or payment.amount_refunded >= payment.amount:
        return _("This payment has already been refunded in full.")
    if billing.refund_target(payment) is None:
        return _(
            "Stripe's payment intent or charge of this payment is not known here: refund it in "
            "Stripe's dashboard."
        )
    return None


def cancel_problem(membership):
    """Why `membership` cannot be set to end at period end from here, or None when it can."""
    if membership.kind == Membership.Kind.COMPLIMENTARY:
        return _(
            "A complimentary membership is not a Stripe subscription: change its end date instead."
        )
    if membership.cancel_at_period_end:
        return _("This subscription is already set to end on %(day)s.") % {
            "day": _day(membership.current_period_end)
        }
    if membership.status not in CANCELLABLE_STATUSES or membership.ended_at:
        return _("This subscription has ended or never started: there is nothing to cancel.")
    if not membership.stripe_subscription_id:
        return _("This membership names no Stripe subscription: cancel it in Stripe's dashboard.")
    return None


def member_page_context(request, membership):
    """What the membership's change page shows about the member, in a fixed number of
    queries whatever the number of payments, memberships and notes."""
    user = membership.user
    may_refund = request.user.has_perm("members.refund_payment")
    payments = list(
        Payment.objects.filter(Q(membership=membership) | Q(user=user)).order_by("-paid_at")[
            : PAYMENTS_SHOWN + 1
        ]
    )
    rows = [
        {
            "payment": payment,
            "amount": format_money(payment.amount, payment.currency),
            "refunded": format_money(payment.amount_refunded, payment.currency)
            if payment.amount_refunded
            else "",
            "this_membership": payment.membership_id == membership.pk,
            "refund_url": reverse("admin:members_payment_refund", args=[payment.pk])
            if may_refund and refund_problem(payment) is None
            else None,
        }
        for payment in payments[:PAYMENTS_SHOWN]
    ]
    customer_id = membership.stripe_customer_id or (
        Customer.objects.filter(user=user).values_list("stripe_customer_id", flat=True).first()
    )
    context = {
        "member": user,
        "payment_rows": rows,
        "more_payments_url": (
            f"{reverse('admin:members_payment_changelist')}?user__id__exact={user.pk}"
            if len(payments) > PAYMENTS_SHOWN
            else None
        ),
        "other_memberships": user.memberships.exclude(pk=membership.pk)
        .select_related("plan")
        .order_by("-created"),
        "stripe_customer_url": billing.dashboard_url("customers", customer_id),
        "stripe_subscription_url": billing.dashboard_url(
            "subscriptions", membership.stripe_subscription_id
        ),
        "may_view_notes": request.user.has_perm("members.view_membernote"),
        "note_form": NoteForm() if request.user.has_perm("members.add_membernote") else None,
        "extend_url": reverse("admin:members_membership_extend", args=[membership.pk])
        if membership.kind == Membership.Kind.COMPLIMENTARY
        and request.user.has_perm("members.change_membership")
        else None,
        "cancel_url": reverse("admin:members_membership_cancel", args=[membership.pk])
        if cancel_problem(membership) is None and request.user.has_perm("members.cancel_membership")
        else None,
    }
    if context["may_view_notes"]:
        context["notes"] = MemberNote.objects.filter(member=user).select_related("author")
    return context


# Notes ------------------------------------------------------------------------------------------


class NoteForm(forms.ModelForm):
    class Meta:
        model = MemberNote
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3, "cols": 60})}
        labels = {"text": gettext_lazy("Add a note")}
        help_texts = {
            "text": gettext_lazy(
                "Seen by the membership desk only, with your name and the date. At most 5,000 "
                "characters."
            )
        }
        error_messages = {"text": {"required": gettext_lazy("Write the note first.")}}


@require_http_methods(["GET", "POST"])
def add_note(request, pk, *, model_admin):
    _require(request, "members.add_membernote")
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk)
    form = NoteForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        note = form.save(commit=False)
        note.member = membership.user
        note.author = request.user
        note.save()
        model_admin.log_change(request, membership, _("Added a note about the member."))
        messages.success(request, _("The note is saved."))
        return redirect(_membership_page(membership) + "#member-notes")
    return _page(
        request,
        model_admin,
        "admin/members/membership/note.html",
        _("A note about %(member)s") % {"member": membership.user},
        membership,
        membership=membership,
        form=form,
    )


# Extending a complimentary membership -----------------------------------------------------------


class ExtendForm(forms.Form):
    months = forms.TypedChoiceField(
        label=gettext_lazy("Extend by"),
        coerce=int,
        empty_value=None,
        required=False,
        choices=[
            ("", gettext_lazy("—")),
            (1, gettext_lazy("1 month")),
            (3, gettext_lazy("3 months")),
            (6, gettext_lazy("6 months")),
            (12, gettext_lazy("12 months")),
        ],
        help_text=gettext_lazy("Counted from its current end, or from today if it has ended."),
    )
    until = forms.DateField(
        label=gettext_lazy("Or until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("The last day of the membership."),
    )

    # The end date the page showed: a second press of the button, or a colleague's extension
    # meanwhile, finds another end and is refused instead of extending twice.
    shown_end = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership
        self.fields["shown_end"].initial = membership.complimentary_until.isoformat()

    def base(self):
        """Where an extension starts: the current end, or now if that is past."""
        return max(timezone.now(), self.membership.complimentary_until)

    def clean(self):
        cleaned = super().clean()
        months, until = cleaned.get("months"), cleaned.get("until")
        if self.errors:
            return cleaned
        if cleaned.get("shown_end") != self.membership.complimentary_until.isoformat():
            raise forms.ValidationError(
                _(
                    "This membership's end date changed since the page was shown (to %(day)s): "
                    "check it, then extend again if needed."
                )
                % {"day": _day(self.membership.complimentary_until)}
            )
        if (months is None) == (until is None):
            raise forms.ValidationError(_("Choose a number of months or a date (one of them)."))
        if months is not None:
            # `months_before` with a negative count moves forward, clipping the day as Stripe
            # does (31 January + 1 month is 28 or 29 February).
            cleaned["new_end"] = months_before(self.base(), -months)
        else:
            end_of_day = datetime.datetime.combine(until, datetime.time(23, 59, 59))
            new_end = timezone.make_aware(end_of_day)
            if new_end <= self.base():
                raise forms.ValidationError(
                    _(
                        "Choose a day after %(day)s, when it ends now; to end it earlier, change "
                        "its end date on the membership's page."
                    )
                    % {"day": _day(self.base())}
                )
            cleaned["new_end"] = new_end
        return cleaned


@require_http_methods(["GET", "POST"])
def extend(request, pk, *, model_admin):
    _require(request, "members.change_membership")
    with transaction.atomic():
        # Locked while the form compares the end date it showed with the stored one.
        membership = get_object_or_404(
            Membership.objects.select_for_update(of=("self",)).select_related("user", "plan"),
            pk=pk,
        )
        return _extend(request, membership, model_admin)


def _extend(request, membership, model_admin):
    if membership.kind != Membership.Kind.COMPLIMENTARY:
        messages.error(
            request,
            _("Only a complimentary membership is extended here; a subscription renews at Stripe."),
        )
        return redirect(_membership_page(membership))
    form = ExtendForm(_posted(request), membership=membership)
    if request.method == "POST" and form.is_valid():
        membership.complimentary_until = form.cleaned_data["new_end"]
        membership.save(update_fields=["complimentary_until", "updated"])
        until = membership.complimentary_until
        model_admin.log_change(request, membership, f"Extended until {_iso_day(until)}.")
        messages.success(
            request,
            _("The complimentary membership now runs until %(day)s.") % {"day": _day(until)},
        )
        return redirect(_membership_page(membership))
    return _page(
        request,
        model_admin,
        "admin/members/membership/extend.html",
        _("Extend a complimentary membership"),
        membership,
        membership=membership,
        current_end=_day(membership.complimentary_until),
        form=form,
    )


# Cancelling at period end -----------------------------------------------------------------------


class AttemptForm(forms.Form):
    # One token per showing of a confirmation page: a double-click sends the same one, which
    # makes the same idempotency key, and Stripe acts once.
    attempt = forms.UUIDField(widget=forms.HiddenInput, error_messages=ATTEMPT_ERRORS)


@require_http_methods(["GET", "POST"])
def cancel_at_period_end(request, pk, *, model_admin):
    _require(request, "members.cancel_membership")
    membership = get_object_or_404(Membership.objects.select_related("user", "plan"), pk=pk)
    problem = cancel_problem(membership)
    form = AttemptForm(_posted(request), initial={"attempt": uuid.uuid4()})
    if request.method == "POST" and problem is None and form.is_valid():
        ends = _day(membership.current_period_end)
        try:
            billing.cancel_at_period_end(
                membership.stripe_subscription_id,
                staff_email=request.user.email,
                attempt=str(form.cleaned_data["attempt"]),
            )
        except billing.BillingError as error:
            messages.error(request, _("Stripe did not cancel: %(error)s") % {"error": error})
        else:
            model_admin.log_change(
                request,
                membership,
                "Asked Stripe to cancel the subscription at period end "
                f"({_iso_day(membership.current_period_end)}).",
            )
            messages.success(
                request,
                _(
                    "Stripe has been asked to end the subscription on %(day)s. This page shows "
                    "the change as soon as Stripe confirms it (usually within seconds)."
                )
                % {"day": ends},
            )
            return redirect(_membership_page(membership))
    return _page(
        request,
        model_admin,
        "admin/members/membership/cancel.html",
        _("Cancel at the end of the period"),
        membership,
        membership=membership,
        ends=_day(membership.current_period_end),
        problem=problem,
        form=form,
    )


# Refunds ----------------------------------------------------------------------------------------


class RefundForm(AttemptForm):
    amount = forms.CharField(
        label=gettext_lazy("Amount to refund"),
        max_length=20,
        help_text=gettext_lazy("In euros or dollars, like 12.50."),
    )
    reason = forms.ChoiceField(
        label=gettext_lazy("Reason"),
        choices=[
            ("requested_by_customer", gettext_lazy("requested by the member")),
            ("duplicate", gettext_lazy("duplicate payment")),
            ("fraudulent", gettext_lazy("fraudulent payment")),
        ],
    )

    # Plain ASCII figures with at most two decimals: Decimal() would also take "1E2",
    # "١٢", "NaN" or "Infinity".
    AMOUNT = re.compile(r"([0-9]+)(?:[.,]([0-9]{1,2}))?")

    def __init__(self, *args, payment, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.left = payment.amount - payment.amount_refunded

    def clean_amount(self):
        text = self.cleaned_data["amount"].strip()
        if text.startswith("-"):
            raise forms.ValidationError(_("The amount must be more than zero."))
        match = self.AMOUNT.fullmatch(text)
        if not match:
            if re.fullmatch(r"[0-9]+[.,][0-9]{3,}", text):
                raise forms.ValidationError(_("At most two decimals (cents), like 12.50."))
            raise forms.ValidationError(_("Write the amount in figures, like 12.50."))
        whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
        minor = int(whole) * 100 + int(cents)
        if minor <= 0:
            raise forms.ValidationError(_("The amount must be more than zero."))
        if minor > self.left:
            raise forms.ValidationError(
                _("At most %(left)s is left to refund on this payment.")
                % {"left": format_money(self.left, self.payment.currency)}
            )
        return minor


def major_units(minor):
    """12.50 for 1250: what the amount field shows (EUR and USD have two decimals)."""
    return f"{Decimal(minor).scaleb(-2):.2f}"


@require_http_methods(["GET", "POST"])
def refund(request, pk, *, model_admin):
    _require(request, "members.refund_payment")
    payment = get_object_or_404(
        Payment.objects.select_related("user", "membership__plan", "donation"), pk=pk
    )
    problem = refund_problem(payment)
    left = payment.amount - payment.amount_refunded
    form = RefundForm(
        _posted(request),
        payment=payment,
        initial={
            "attempt": uuid.uuid4(),
            "amount": major_units(left),
            "reason": "requested_by_customer",
        },
    )
    back = (
        _membership_page(payment.membership)
        if payment.membership_id
        else reverse("admin:members_payment_change", args=[payment.pk])
    )
    if request.method == "POST" and problem is None and form.is_valid():
        amount = form.cleaned_data["amount"]
        reason = form.cleaned_data["reason"]
        money = format_money(amount, payment.currency, language=settings.LANGUAGE_CODE)
        try:
            billing.refund_payment(
                payment,
                amount,
                reason,
                str(form.cleaned_data["attempt"]),
                staff_email=request.user.email,
            )
        except billing.BillingError as error:
            messages.error(request, _("No refund was made: %(error)s") % {"error": error})
        else:
            model_admin.log_change(
                request, payment, f"Asked Stripe to refund {money} (reason: {reason})."
            )
            messages.success(
                request,
                _(
                    "Stripe has been asked to refund %(amount)s. The payment shows the refund as "
                    "soon as Stripe confirms it (usually within seconds)."
                )
                % {"amount": format_money(amount, payment.currency)},
            )
            return redirect(back)
    return _page(
        request,
        model_admin,
        "admin/members/payment/refund.html",
        _("Refund a payment"),
        payment,
        payment=payment,
        amount=format_money(payment.amount, payment.currency),
        refunded=format_money(payment.amount_refunded, payment.currency),
        left=format_money(left, payment.currency),
        paid_on=_day(payment.paid_at),
        problem=problem,
        form=form,
        back=back,
    )
