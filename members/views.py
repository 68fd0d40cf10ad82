"""Joining, giving and the member's account page.

Nothing here grants access: the success pages only read what the Stripe webhooks have recorded
(members.webhooks). Pages that start a payment answer a double-click with the same Stripe
Checkout session (members.billing's idempotency keys) and are rate-limited against card testing.
"""

import json
import logging
import uuid
from datetime import timedelta

from allauth.account import app_settings as allauth_settings
from allauth.account.decorators import reauthentication_required
from allauth.account.models import EmailAddress
from allauth.account.utils import complete_signup
from allauth.account.views import SignupView
from allauth.core.ratelimit import consume, respond_429
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from . import billing
from .forms import DonationForm, JoinForm, SourceBlockField
from .models import Currency, Customer, Donation, Membership, Payment, Plan, Price, User

logger = logging.getLogger(__name__)

# Session keys of the join and donate flows.
JOIN_PRICE = "members_join_price"
JOIN_ATTEMPT = "members_join_attempt"
JOIN_USER = "members_join_user"
JOIN_CHECKOUT_STARTED = "members_join_checkout_started"
JOIN_SOURCE = "members_join_source"
DONATION_SESSION = "members_donation_checkout"

# How long the browser that created an account (not yet verified) may go on to pay for it.
PENDING_JOIN_WINDOW = timedelta(days=1)

# Subscriptions that a second Checkout would duplicate: the member manages them in the portal.
SUBSCRIBED_STATUSES = [*Membership.GRANTING_STATUSES, Membership.Status.PAST_DUE]


def absolute(request, name, **kwargs):
    return request.build_absolute_uri(reverse(name, **kwargs))


def unavailable(request, error):
    """Payments cannot start: tell the reader plainly, tell the operator why in the log."""
    if isinstance(error, billing.StripeNotConfigured):
        logger.error("Payments are not available: %s", error)
    else:
        logger.error("Payments are not available: %s", error, exc_info=error.__cause__)
    return render(request, "members/payments_unavailable.html", status=503)


def checkout_allowed(request, user):
    """Creating Checkout sessions is limited per address and per account (card testing)."""
    if not consume(request, action="checkout"):
        return False
    return user is None or consume(request, action="checkout_user", user=user)


def has_open_subscription(user):
    return Membership.objects.filter(user=user, status__in=SUBSCRIBED_STATUSES).exists()


def pending_join_user(request):
    """The account this browser created in the join flow and has not verified yet, if any.

    Until the address is verified the reader is not logged in; the session that signed up may
    still pay for that account (and see its welcome page), but nothing more.
    """
    user_id = request.session.get(JOIN_USER)
    if not user_id:
        return None
    return User.objects.filter(
        pk=user_id, is_active=True, date_joined__gte=timezone.now() - PENDING_JOIN_WINDOW
    ).first()


# Joining -------------------------------------------------------------------------------------


@require_safe
def plan_list(request):
    """The plans, priced in the chosen currency and interval (links, so no script is needed)."""
    currency = request.GET.get("currency")
    if currency not in Currency.values:
        currency = Currency.EUR
    interval = request.GET.get("interval")
    if interval not in Price.Interval.values:
        interval = Price.Interval.MONTH
    form = JoinForm(initial={"source": SourceBlockField().clean(request.GET.get("cta", ""))})
    return render_plans(request, form, currency=currency, interval=interval)


def render_plans(request, form, *, currency, interval, status=200):
    plans = []
    for plan in Plan.objects.filter(active=True).prefetch_related("prices"):
        price = next(
            (
                price
                for price in plan.prices.all()
                if price.active and price.currency == currency and price.interval == interval
            ),
            None,
        )
        plans.append((plan, price))
    user = request.user
    context = {
        "plans": plans,
        "form": form,
        "attempt": uuid.uuid4(),
        "currency": currency,
        "interval": interval,
        "currencies": Currency.choices,
        "intervals": Price.Interval.choices,
        "canceled": "canceled" in request.GET,
        "source": form["source"].value() or "",
        "is_subscribed": user.is_authenticated and has_open_subscription(user),
    }
    return render(request, "members/plan_list.html", context, status=status)


@require_POST
def join(request):
    """First submit of the join flow: the plan choice.

    Logged in: straight to Stripe Checkout, or to the Customer Portal for a reader who already
    pays for a membership. Anonymous: on to the sign-up form, which then goes to Checkout.
    """
    form = JoinForm(request.POST)
    if not form.is_valid():
        return render_plans(
            request, form, currency=Currency.EUR, interval=Price.Interval.MONTH, status=400
        )
    price = form.cleaned_data["price"]
    attempt = str(form.cleaned_data["attempt"])
    source = form.cleaned_data["source"]
    try:
        billing.check_can_sell(price)
    except billing.StripeNotConfigured as error:
        return unavailable(request, error)
    user = request.user if request.user.is_authenticated else pending_join_user(request)
    if user is None:
        request.session[JOIN_PRICE] = price.pk
        request.session[JOIN_ATTEMPT] = attempt
        request.session[JOIN_SOURCE] = source
        return redirect("members:join-signup")
    if has_open_subscription(user):
        if not request.user.is_authenticated:
            return redirect("members:welcome")
        # Stripe's portal opens from the account page, after the password is confirmed.
        messages.info(
            request, _("You are already a member: change or cancel your plan from this page.")
        )
        return redirect("members:account")
    return start_checkout(request, user, price, attempt, source)


def join_attempt(request):
    """The join button press this session's sign-up continues (kept with the chosen price)."""
    return request.session.setdefault(JOIN_ATTEMPT, str(uuid.uuid4()))


def start_checkout(request, user, price, attempt, source=None):
    if not checkout_allowed(request, user):
        return respond_429(request)
    try:
        session = billing.membership_checkout(
            user,
            price,
            attempt=attempt,
            success_url=absolute(request, "members:welcome"),
            cancel_url=absolute(request, "members:plans") + "?canceled",
            language=get_language(),
            source=source,
        )
    except billing.BillingError as error:
        return unavailable(request, error)
    request.session[JOIN_CHECKOUT_STARTED] = True
    return redirect(session["url"])


class JoinSignupView(SignupView):
    """Second (and last) submit of the join flow for a new reader: sign up, then pay.

    allauth's own sign-up form, rate limit and verification mail; the verification is still
    mandatory for logging in, but the flow goes on to Checkout at once, tied to the new account
    by `client_reference_id`. Following the mailed link in this browser logs the member in.
    """

    template_name = "members/join_signup.html"

    def dispatch(self, request, *args, **kwargs):
        self.price = (
            Price.objects.filter(pk=request.session.get(JOIN_PRICE), active=True, plan__active=True)
            .select_related("plan")
            .first()
        )
        if self.price is None or request.user.is_authenticated:
            return redirect("members:plans")
        pending = pending_join_user(request)
        if pending is not None:
            # A second press of "Sign up and pay" (or a return from Stripe's page): the account
            # exists and belongs to this browser; pay for it rather than refuse the address.
            return start_checkout(
                request,
                pending,
                self.price,
                join_attempt(request),
                request.session.get(JOIN_SOURCE),
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["price"] = self.price
        context["login_url"] = reverse("account_login") + "?next=" + reverse("members:plans")
        return context

    def form_valid(self, form):
        user, response = form.try_save(self.request)
        if response is not None:
            # The address already has an account: allauth mails its owner and shows the usual
            # "check your inbox" page, revealing nothing here.
            return response
        # Sends the verification mail and remembers, in this session, that following its link
        # completes the log-in; allauth's own "check your inbox" response is not shown.
        complete_signup(
            self.request,
            user,
            allauth_settings.EMAIL_VERIFICATION,
            reverse("members:account"),
        )
        self.request.session[JOIN_USER] = user.pk
        return start_checkout(
            self.request,
            user,
            self.price,
            join_attempt(self.request),
            self.request.session.get(JOIN_SOURCE),
        )


join_signup = JoinSignupView.as_view()


@never_cache
@require_safe
def welcome(request):
    """Where Checkout returns: "activating" until the webhook has made the reader a member."""
    user = request.user if request.user.is_authenticated else pending_join_user(request)
    if user is None:
        return redirect("members:plans")
    membership = Membership.objects.active().filter(user=user).select_related("plan").first()
    if membership is None and not request.session.get(JOIN_CHECKOUT_STARTED):
        # Nothing to wait for: no payment was started from this browser.
        return redirect("members:plans")
    verified = EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True)
    return render(
        request,
        "members/welcome.html",
        {
            "member": user,
            "membership": membership,
            "logged_in": request.user.is_authenticated,
            "verified": verified.exists(),
        },
    )


# Giving --------------------------------------------------------------------------------------


def donate(request):
    """/donate/: one-off or monthly gifts, anonymous donors welcome (Stripe asks their email)."""
    if request.method == "POST":
        form = DonationForm(request.POST)
        if form.is_valid():
            return start_donation(request, form)
        status = 400
    else:
        form = DonationForm(initial=donation_initial(request.GET))
        status = 200
    return render(
        request, "members/donate.html", {"form": form, "attempt": uuid.uuid4()}, status=status
    )


def donation_initial(query):
    """What a link to /donate/ may choose in advance: the amount (`?amount=`, whole units) and
    the fundraiser block it came from (`?cta=`)."""
    initial = {"source": SourceBlockField().clean(query.get("cta", ""))}
    amount = query.get("amount", "")
    if amount.isdecimal() and len(amount) < 7:
        if int(amount) in settings.DONATION_PRESETS:
            initial["preset"] = str(int(amount))
        elif settings.DONATION_MIN <= int(amount) <= settings.DONATION_MAX:
            initial |= {"preset": DonationForm.OTHER, "custom_amount": int(amount)}
    return initial


def start_donation(request, form):
    user = request.user if request.user.is_authenticated else None
    if not checkout_allowed(request, user):
        return respond_429(request)
    try:
        session = billing.donation_checkout(
            user=user,
            amount=form.cleaned_data["amount_minor"],
            currency=form.cleaned_data["currency"],
            recurring=form.recurring,
            attempt=str(form.cleaned_data["attempt"]),
            success_url=absolute(request, "members:donation-thanks"),
            cancel_url=absolute(request, "members:donate"),
            language=get_language(),
            source=form.cleaned_data["source"],
        )
    except billing.BillingError as error:
        return unavailable(request, error)
    request.session[DONATION_SESSION] = session["id"]
    return redirect(session["url"])


@never_cache
@require_safe
def donation_thanks(request):
    """Where a gift's Checkout returns; the donation itself is recorded by the webhook."""
    session_id = request.session.get(DONATION_SESSION)
    donation = (
        Donation.objects.filter(stripe_checkout_session_id=session_id).first()
        if session_id
        else None
    )
    return render(
        request,
        "members/donation_thanks.html",
        {"donation": donation, "confirming": bool(session_id) and donation is None},
    )


# The member's account ----------------------------------------------------------------------


@login_required
@never_cache
@require_safe
def account(request):
    """Membership, renewal or end, payments and gifts, and the way to Stripe's portal."""
    user = request.user
    now = timezone.now()
    current = Membership.objects.active(now).filter(user=user).select_related("plan", "price")
    past = (
        Membership.objects.filter(user=user)
        .exclude(pk__in=current.values("pk"))
        .select_related("plan")
    )
    context = {
        "membership": current.order_by("-current_period_end").first(),
        "past_memberships": past,
        "payments": Payment.objects.filter(user=user).select_related("membership__plan"),
        "donations": Donation.objects.filter(user=user),
        "has_billing_account": Customer.objects.filter(user=user).exists(),
        "unverified": not EmailAddress.objects.filter(
            user=user, email__iexact=user.email, verified=True
        ).exists(),
    }
    return render(request, "members/account.html", context)


@login_required
@require_POST
@reauthentication_required
def portal(request):
    """Open Stripe's Customer Portal for the logged-in user's own customer, whatever was posted,
    once the password has been confirmed in the last few minutes (the portal changes and
    cancels plans and shows payment methods)."""
    try:
        url = billing.portal_url(
            request.user, return_url=absolute(request, "members:account"), language=get_language()
        )
    except billing.NoBillingAccount:
        messages.info(
            request, _("You have not paid us through Stripe yet, so there is nothing to manage.")
        )
        return redirect("members:account")
    except billing.BillingError as error:
        return unavailable(request, error)
    return redirect(url)


@login_required
@never_cache
@require_safe
@reauthentication_required
def account_data(request):
    """Everything stored about the user, as a JSON download, once the password has been
    confirmed in the last few minutes."""
    user = request.user
    data = {
        "exported_at": timezone.now(),
        "account": {
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
        },
        "email_addresses": list(
            EmailAddress.objects.filter(user=user).values("email", "verified", "primary")
        ),
        "stripe_customer_id": Customer.objects.filter(user=user)
        .values_list("stripe_customer_id", flat=True)
        .first(),
        "memberships": list(
            Membership.objects.filter(user=user).values(
                "kind",
                "plan__name",
                "status",
                "current_period_end",
                "cancel_at_period_end",
                "canceled_at",
                "ended_at",
                "complimentary_until",
                "stripe_subscription_id",
                "created",
            )
        ),
        "payments": list(
            Payment.objects.filter(user=user).values(
                "stripe_id", "kind", "amount", "currency", "status", "amount_refunded", "paid_at"
            )
        ),
        "donations": list(
            Donation.objects.filter(user=user).values(
                "amount", "currency", "recurring", "status", "email", "created"
            )
        ),
    }
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    filename = f"newsroom-account-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@never_cache
@reauthentication_required(allow_get=True)
def account_delete(request):
    """Delete the account after re-authentication: Stripe subscriptions are canceled first, and
    payment records are kept (the law requires them) without the person's name or address."""
    user = request.user
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            messages.error(
                request, _("Tick the box to confirm that the account should be deleted.")
            )
            return redirect("members:account-delete")
        try:
            billing.cancel_subscriptions(user)
        except billing.BillingError as error:
            return unavailable(request, error)
        with transaction.atomic():
            Donation.objects.filter(user=user).update(user=None, email="")
            # Payment.user and Donation.user are SET_NULL: the amounts stay, the person goes.
            user.delete()
        logout(request)
        messages.success(request, _("Your account has been deleted."))
        return redirect("newsroom:home")
    return render(
        request,
        "members/account_delete.html",
        {"subscriptions": billing.open_subscription_ids(user)},
    )
