import functools

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import BooleanField, Case, Exists, OuterRef, Prefetch, Q, Value, When
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TranslationAdmin

from . import access, desk
from .exports import DonationsExport, ExportMixin, MembersExport, PaymentsExport
from .models import (
    Customer,
    DataExport,
    Donation,
    Membership,
    Payment,
    Plan,
    Price,
    StripeEvent,
    User,
)
from .money import format_money
from .webhooks import process_event, record_failure


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class AudienceFilter(admin.SimpleListFilter):
    """Who a reader is to the newsroom now, by the rules of members.access."""

    title = _("membership")
    parameter_name = "audience"

    def lookups(self, request, model_admin):
        return [
            (access.MEMBER, _("member now")),
            (access.LAPSED_MEMBER, _("lapsed member")),
            (access.DONOR, _("donor")),
            ("disputed", _("payment disputed")),
        ]

    def queryset(self, request, queryset):
        if self.value() in (access.MEMBER, access.LAPSED_MEMBER, access.DONOR):
            return queryset.filter(access.users_in(self.value()))
        if self.value() == "disputed":
            disputed = Payment.objects.filter(user=OuterRef("pk"), status=Payment.Status.DISPUTED)
            return queryset.filter(Q(payment_disputed_at__isnull=False) | Exists(disputed))
        return queryset


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Accounts, with each reader's membership at a glance for the membership desk."""

    add_form = UserCreationForm
    form = UserEditForm
    ordering = ["email"]
    list_display = [
        "email",
        "first_name",
        "last_name",
        "member_now",
        "membership_status",
        "membership_plan",
        "is_staff",
        "is_active",
        "date_joined",
    ]
    list_filter = [AudienceFilter, "is_staff", "is_superuser", "is_active", "groups"]
    # Stripe ids are matched exactly: a pasted id finds its one reader, and an exact match
    # across the joined tables stays cheap.
    search_fields = [
        "email",
        "first_name",
        "last_name",
        "=stripe_customer__stripe_customer_id",
        "=memberships__stripe_subscription_id",
        "=memberships__stripe_customer_id",
        "=donations__stripe_subscription_id",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name", "language"]}),
        (
            _("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]},
        ),
    ]

    def get_queryset(self, request):
        # Every membership of the page's users in one query, the current one first, then the
        # newest: the columns below read the first.
        memberships = (
            Membership.objects.select_related("plan")
            .annotate(
                is_current=Case(
                    When(Membership.objects.member_condition(timezone.now()), then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                )
            )
            .order_by("-is_current", "-created")
        )
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("memberships", queryset=memberships, to_attr="memberships_by_relevance")
            )
        )

    @staticmethod
    def main_membership(user):
        memberships = getattr(user, "memberships_by_relevance", None)
        return memberships[0] if memberships else None

    @admin.display(boolean=True, description=_("member now"))
    def member_now(self, user):
        membership = self.main_membership(user)
        return bool(membership and membership.is_current)

    @admin.display(description=_("membership"))
    def membership_status(self, user):
        membership = self.main_membership(user)
        return membership.get_status_display() if membership else None

    @admin.display(description=_("plan"))
    def membership_plan(self, user):
        membership = self.main_membership(user)
        return membership.plan if membership else None


class PriceInline(admin.TabularInline):
    model = Price
    extra = 0
    fields = ["amount", "currency", "interval", "lookup_key", "stripe_price_id", "active"]
    readonly_fields = ["stripe_price_id"]


@admin.register(Plan)
class PlanAdmin(TranslationAdmin):
    """Plans with a name, description and benefits per site language (untabbed: the tabbed
    variant loads jQuery UI from a CDN, which the admin's CSP refuses)."""

    list_display = ["name", "slug", "position", "active"]
    list_editable = ["position", "active"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [PriceInline]


STRIPE_MEMBERSHIP_FIELDS = [
    "kind",
    "plan",
    "price",
    "status",
    "stripe_subscription_id",
    "stripe_customer_id",
    "current_period_end",
    "cancel_at_period_end",
    "canceled_at",
    "ended_at",
    "stripe_updated",
]
CANCELLATION_FIELDS = ["cancellation_reason", "cancellation_feedback", "cancellation_comment"]


def desk_url(model_admin, route, view, name):
    """An action of the membership desk (members.desk) under the admin: staff only, with the
    admin's CSP; the view checks its own permission."""
    opts = model_admin.opts
    return path(
        route,
        model_admin.admin_site.admin_view(functools.partial(view, model_admin=model_admin)),
        name=f"{opts.app_label}_{opts.model_name}_{name}",
    )


class ComplimentaryMembershipForm(forms.ModelForm):
    """Granting a complimentary membership: who, which plan (optional) and until when."""

    class Meta:
        model = Membership
        fields = ["user", "plan", "complimentary_until"]

    def clean_complimentary_until(self):
        until = self.cleaned_data.get("complimentary_until")
        if until is None:
            raise forms.ValidationError(_("A complimentary membership needs an end date."))
        return until


@admin.register(Membership)
class MembershipAdmin(ExportMixin, admin.ModelAdmin):
    """Subscriptions mirror Stripe and are read-only here; complimentary memberships are
    granted by adding one, extended, or ended early by moving their end date.

    A membership's page is the member's page for the membership desk: their payments, other
    memberships and notes, links to Stripe, and the desk's actions (members.desk)."""

    export = MembersExport()

    list_display = ["user", "plan", "kind", "status", "current_period_end", "complimentary_until"]
    list_filter = ["kind", "status", "plan"]
    search_fields = ["user__email", "stripe_subscription_id", "stripe_customer_id"]
    list_select_related = ["user", "plan"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created", "updated"]
    change_form_template = "admin/members/membership/change_form.html"

    def get_urls(self):
        from .dashboard import dashboard_view

        # Before the model's own patterns, whose "<object_id>/" would answer first.
        return [
            path(
                "dashboard/",
                self.admin_site.admin_view(
                    functools.partial(dashboard_view, admin_site=self.admin_site)
                ),
                name="members_dashboard",
            ),
            desk_url(self, "<int:pk>/note/", desk.add_note, "note"),
            desk_url(self, "<int:pk>/extend/", desk.extend, "extend"),
            desk_url(self, "<int:pk>/cancel/", desk.cancel_at_period_end, "cancel"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context.update(desk.member_page_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    @staticmethod
    def cancellation_fields(obj):
        """Why it was cancelled, shown once Stripe has said."""
        return [field for field in CANCELLATION_FIELDS if getattr(obj, field)]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ComplimentaryMembershipForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "plan", "complimentary_until"]
        if obj.kind == Membership.Kind.COMPLIMENTARY:
            return ["user", "plan", "complimentary_until", "started_at", "created", "updated"]
        return [
            "user",
            *STRIPE_MEMBERSHIP_FIELDS,
            "started_at",
            *self.cancellation_fields(obj),
            "created",
            "updated",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.kind == Membership.Kind.COMPLIMENTARY:
            return ["user", "started_at", "created", "updated"]
        return [
            "user",
            *STRIPE_MEMBERSHIP_FIELDS,
            "started_at",
            *self.cancellation_fields(obj),
            "created",
            "updated",
        ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.kind = Membership.Kind.COMPLIMENTARY
            obj.status = Membership.Status.COMPLIMENTARY
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that come from Stripe: viewed here, never added, edited or deleted."""

    @admin.display(description=_("amount"), ordering="amount")
    def money(self, obj):
        return format_money(obj.amount, obj.currency)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    """Which Stripe customer belongs to which user (one per user, ever): read-only."""

    list_display = ["user", "stripe_customer_id", "created"]
    list_select_related = ["user"]
    search_fields = ["user__email", "stripe_customer_id"]


@admin.register(Donation)
class DonationAdmin(ExportMixin, ReadOnlyAdmin):
    """One-off and monthly gifts, as Stripe reported them: read-only."""

    export = DonationsExport()

    list_display = ["created", "email", "user", "money", "recurring", "status"]
    list_select_related = ["user"]
    list_filter = ["recurring", "status", "currency"]
    search_fields = [
        "email",
        "user__email",
        "stripe_checkout_session_id",
        "stripe_subscription_id",
        "stripe_payment_intent_id",
    ]
    date_hierarchy = "created"


@admin.register(Payment)
class PaymentAdmin(ExportMixin, ReadOnlyAdmin):
    """Money received, as Stripe reported it: read-only. A refund is asked of Stripe from the
    payment's page (members.desk.refund) and recorded when Stripe's event arrives."""

    export = PaymentsExport()

    list_display = ["paid_at", "stripe_id", "user", "kind", "money", "status"]
    list_select_related = ["user"]
    list_filter = ["kind", "status", "currency"]
    search_fields = ["stripe_id", "stripe_charge_id", "stripe_payment_intent_id", "user__email"]
    date_hierarchy = "paid_at"
    change_form_template = "admin/members/payment/change_form.html"

    def get_urls(self):
        return [desk_url(self, "<int:pk>/refund/", desk.refund, "refund"), *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and request.user.has_perm("members.refund_payment"):
            if desk.refund_problem(obj) is None:
                context["refund_url"] = reverse("admin:members_payment_refund", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(DataExport)
class DataExportAdmin(ReadOnlyAdmin):
    """Every CSV export of members, donations or payments: who took it, when, with which
    filters, and how many rows (empty when the download did not finish). Read-only."""

    list_display = ["created", "user", "what", "filters", "rows"]
    list_select_related = ["user"]
    list_filter = ["what"]
    search_fields = ["user__email", "filters"]
    date_hierarchy = "created"


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    """Every webhook delivery, read-only; failed ones can be processed again."""

    list_display = ["created", "type", "stripe_id", "livemode", "processed_at", "attempts", "note"]
    list_filter = ["type", "livemode", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["stripe_id", "type"]
    date_hierarchy = "created"
    actions = ["process_again"]

    # Viewing only (ReadOnlyAdmin); the "process again" action checks the change permission.

    def has_process_permission(self, request):
        return request.user.has_perm("members.change_stripeevent")

    @admin.action(description=_("Process again"), permissions=["process"])
    def process_again(self, request, queryset):
        done = failed = 0
        for event in queryset.filter(processed_at__isnull=True):
            try:
                if process_event(event.pk):
                    done += 1
            except Exception:
                record_failure(event.pk)
                failed += 1
        if done:
            self.message_user(
                request,
                ngettext("%d event processed.", "%d events processed.", done) % done,
                messages.SUCCESS,
            )
        if failed:
            self.message_user(
                request,
                ngettext(
                    "%d event failed again; see its last error.",
                    "%d events failed again; see their last errors.",
                    failed,
                )
                % failed,
                messages.ERROR,
            )
        if not done and not failed:
            self.message_user(request, _("Nothing to do: those events were already processed."))
