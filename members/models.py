import enum
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .money import format_money


class UserManager(BaseUserManager):
    """Users are identified by email; there are no usernames."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractUser):
    """A reader, member or member of staff; they log in with their email address."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("The site language they signed up in; emails to them are written in it."),
    )
    payment_disputed_at = models.DateTimeField(
        _("payment disputed"),
        null=True,
        blank=True,
        help_text=_("Set when a bank dispute (chargeback) is opened on one of their payments."),
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="members_user_email_ci_unique"),
        ]

    def __str__(self):
        return self.email


class Currency(models.TextChoices):
    EUR = "eur", "EUR"
    USD = "usd", "USD"


class Plan(models.Model):
    """A membership tier readers choose on /membership/ (e.g. "Supporter"); priced by `Price` rows."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), unique=True)
    description = models.TextField(_("description"), blank=True)
    benefits = models.TextField(_("benefits"), blank=True, help_text=_("One benefit per line."))
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self):
        return self.name

    @property
    def benefit_list(self):
        return [line.strip() for line in self.benefits.splitlines() if line.strip()]


class Price(models.Model):
    """What a plan costs in one currency per month or year; mirrors one Stripe Price.

    `lookup_key` is the business key `stripe_setup` uses to find or create the Stripe price;
    `stripe_price_id` is what webhooks carry.
    """

    class Interval(models.TextChoices):
        MONTH = "month", _("monthly")
        YEAR = "year", _("yearly")

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="prices"
    )
    amount = models.PositiveIntegerField(_("amount"), help_text=_("In minor units (cents)."))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    interval = models.CharField(_("interval"), max_length=5, choices=Interval.choices)
    lookup_key = models.CharField(
        _("lookup key"),
        max_length=200,
        unique=True,
        blank=True,
        help_text=_("Left empty: newsroom-<plan>-<interval>-<currency>."),
    )
    stripe_price_id = models.CharField(
        _("Stripe price id"), max_length=255, unique=True, null=True, blank=True
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["plan", "currency", "interval"]
        verbose_name = _("price")
        verbose_name_plural = _("prices")

    def __str__(self):
        return f"{self.plan} · {format_money(self.amount, self.currency)}/{self.interval}"

    def save(self, *args, **kwargs):
        if not self.lookup_key:
            self.lookup_key = f"newsroom-{self.plan.slug}-{self.interval}-{self.currency}"
        if not self.stripe_price_id:
            self.stripe_price_id = None  # unique: several prices may lack one
        super().save(*args, **kwargs)


class Customer(models.Model):
    """The one Stripe customer of a user, ever: reused for every checkout and the portal."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="stripe_customer", verbose_name=_("user")
    )
    stripe_customer_id = models.CharField(_("Stripe customer id"), max_length=255, unique=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("Stripe customer")
        verbose_name_plural = _("Stripe customers")

    def __str__(self):
        return f"{self.user} ({self.stripe_customer_id})"


def months_before(moment, months):
    """`moment` minus whole calendar months, the day clipped to the target month's length."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = moment.replace(day=1, year=year + (month == 12), month=month % 12 + 1)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


class StateChange(enum.Enum):
    """What applying a Stripe subscription's state did to a membership."""

    SKIPPED = "skipped"
    CHANGED = "changed"
    STARTED = "started"
    ENDED = "ended"


class MirrorsStripeSubscription:
    """Rules for a row that copies a Stripe subscription's status (a membership, a monthly
    gift), whatever brings the state: a webhook event, or `stripe_reconcile` reading Stripe.

    Stripe's events can arrive late and out of order. `stripe_updated` holds the time of the
    newest state applied, so an older one is skipped; an end is final whatever its time.
    """

    # Stripe never brings a subscription back from these.
    TERMINAL_STATUSES = ["canceled", "incomplete_expired"]

    def takes_stripe_state(self, status, as_of):
        """Whether Stripe's `status`, as of `as_of`, may replace what this row holds."""
        if self.status in self.TERMINAL_STATUSES:
            return status == self.status
        # Stripe's times have one-second resolution: a state of the same second is applied,
        # and the rule above keeps a same-second "updated" from undoing a cancellation.
        return (
            self.pk is None
            or status in self.TERMINAL_STATUSES
            or self.stripe_updated is None
            or as_of >= self.stripe_updated
        )

    def note_stripe_state_time(self, as_of):
        """Remember `as_of` as the time of the newest state applied."""
        if self.stripe_updated is None or as_of > self.stripe_updated:
            self.stripe_updated = as_of


class CancellationReason(models.TextChoices):
    """Why Stripe ended a subscription (`cancellation_details.reason`)."""

    REQUESTED = "cancellation_requested", _("the member cancelled")
    PAYMENT_FAILED = "payment_failed", _("payments failed")
    PAYMENT_DISPUTED = "payment_disputed", _("a payment was disputed")


class CancellationFeedback(models.TextChoices):
    """The reasons Stripe's Customer Portal offers a cancelling member
    (`cancellation_details.feedback`)."""

    CUSTOMER_SERVICE = "customer_service", _("customer service was not good enough")
    LOW_QUALITY = "low_quality", _("quality was lower than expected")
    MISSING_FEATURES = "missing_features", _("some features are missing")
    OTHER = "other", _("other reason")
    SWITCHED_SERVICE = "switched_service", _("switched to another service")
    TOO_COMPLEX = "too_complex", _("ease of use was lower than expected")
    TOO_EXPENSIVE = "too_expensive", _("it is too expensive")
    UNUSED = "unused", _("they don't use it enough")


class MembershipQuerySet(models.QuerySet):
    """The audience rules (ARCHITECTURE.md §4), computed at query time from `now`."""

    @staticmethod
    def member_condition(now):
        grace_start = now - timedelta(days=settings.MEMBERSHIP_GRACE_DAYS)
        subscription = Q(kind=Membership.Kind.SUBSCRIPTION, price__isnull=False)
        return (
            (subscription & Q(status__in=Membership.GRANTING_STATUSES))
            # Stripe retries a failed renewal for a while; the member keeps reading meanwhile.
            | (
                subscription
                & Q(status=Membership.Status.PAST_DUE, current_period_end__gt=grace_start)
            )
            | Q(kind=Membership.Kind.COMPLIMENTARY, complimentary_until__gt=now)
        )

    @staticmethod
    def lapsed_condition(now):
        """Memberships that once gave access and ended since the lapsed window began."""
        since = months_before(now, settings.MEMBERSHIP_LAPSED_MONTHS)
        ended_subscription = Q(
            kind=Membership.Kind.SUBSCRIPTION, status__in=Membership.ENDED_STATUSES
        ) & (Q(ended_at__gte=since) | Q(ended_at__isnull=True, current_period_end__gte=since))
        ended_complimentary = Q(
            kind=Membership.Kind.COMPLIMENTARY,
            complimentary_until__lte=now,
            complimentary_until__gte=since,
        )
        return ended_subscription | ended_complimentary

    def active(self, now=None):
        return self.filter(self.member_condition(now or timezone.now()))

    def lapsed(self, now=None):
        """Ended within the lapsed window (whether or not the user is a member again since)."""
        return self.filter(self.lapsed_condition(now or timezone.now()))

    def subscriptions(self):
        return self.filter(kind=Membership.Kind.SUBSCRIPTION)


class Membership(MirrorsStripeSubscription, models.Model):
    """A user's membership: a Stripe subscription to a plan price, or a complimentary grant.

    Stripe is the source of truth for subscriptions; webhooks copy its state here, and
    `stripe_updated` (the `created` time of the newest event applied) keeps an older, late event
    from overwriting newer state. Access is decided by `Membership.objects.active(now)`.
    """

    class Kind(models.TextChoices):
        SUBSCRIPTION = "subscription", _("subscription")
        COMPLIMENTARY = "complimentary", _("complimentary")

    class Status(models.TextChoices):
        TRIALING = "trialing", _("trialing")
        ACTIVE = "active", _("active")
        PAST_DUE = "past_due", _("past due")
        CANCELED = "canceled", _("canceled")
        UNPAID = "unpaid", _("unpaid")
        INCOMPLETE = "incomplete", _("incomplete")
        INCOMPLETE_EXPIRED = "incomplete_expired", _("incomplete, expired")
        PAUSED = "paused", _("paused")
        COMPLIMENTARY = "complimentary", _("complimentary")

    GRANTING_STATUSES = [Status.ACTIVE, Status.TRIALING]
    # Statuses a membership can only reach after it gave access; ending from one of them is news.
    HAD_ACCESS_STATUSES = [*GRANTING_STATUSES, Status.PAST_DUE, Status.UNPAID, Status.PAUSED]
    # Statuses of a subscription that once gave access and no longer does (or soon won't).
    ENDED_STATUSES = [Status.CANCELED, Status.UNPAID, Status.PAUSED, Status.PAST_DUE]

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    plan = models.ForeignKey(
        Plan,
        verbose_name=_("plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
    )
    price = models.ForeignKey(
        Price,
        verbose_name=_("price"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        help_text=_("The plan price being paid; empty for complimentary memberships."),
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.SUBSCRIPTION
    )
    stripe_subscription_id = models.CharField(
        _("Stripe subscription id"), max_length=255, unique=True, null=True, blank=True
    )
    stripe_customer_id = models.CharField(_("Stripe customer id"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.INCOMPLETE
    )
    current_period_end = models.DateTimeField(_("current period ends"), null=True, blank=True)
    cancel_at_period_end = models.BooleanField(_("cancels at period end"), default=False)
    canceled_at = models.DateTimeField(_("canceled at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    complimentary_until = models.DateTimeField(_("complimentary until"), null=True, blank=True)
    started_at = models.DateTimeField(
        _("started"),
        null=True,
        blank=True,
        help_text=_(
            "When the membership began: the subscription's start at Stripe, or the day a "
            "complimentary membership was granted."
        ),
    )
    cancellation_reason = models.CharField(
        _("why it was cancelled"),
        max_length=30,
        choices=CancellationReason.choices,
        blank=True,
        help_text=_("Stripe's reason: asked for by the member, or payments failed."),
    )
    cancellation_feedback = models.CharField(
        _("member's feedback"),
        max_length=30,
        choices=CancellationFeedback.choices,
        blank=True,
        help_text=_("The reason the member picked when cancelling in the Customer Portal."),
    )
    cancellation_comment = models.TextField(
        _("member's comment"),
        blank=True,
        help_text=_("What the member wrote when cancelling, as Stripe collected it."),
    )
    stripe_updated = models.DateTimeField(
        _("Stripe state as of"),
        null=True,
        blank=True,
        help_text=_("Creation time of the newest Stripe event applied."),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        indexes = [
            models.Index(fields=["user", "status"]),
            # The dashboard's months: memberships by when they started and when they ended.
            models.Index(fields=["started_at"]),
            models.Index(fields=["ended_at"]),
        ]
        permissions = [
            ("view_dashboard", _("Can see the membership dashboard")),
            ("export_members", _("Can export members, donations and payments")),
            ("cancel_membership", _("Can cancel a member's subscription at period end")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="subscription") | Q(complimentary_until__isnull=False),
                name="members_membership_complimentary_has_end",
            ),
        ]

    def __str__(self):
        plan = self.plan or _("no plan")
        return f"{self.user} · {plan} · {self.get_status_display()}"

    def save(self, *args, **kwargs):
        # A complimentary membership starts when it is granted; a subscription's start comes
        # from Stripe (`apply_stripe_state`).
        if self.kind == self.Kind.COMPLIMENTARY and self.started_at is None:
            self.started_at = timezone.now()
        super().save(*args, **kwargs)

    def apply_stripe_state(
        self,
        *,
        status,
        price,
        customer_id,
        current_period_end,
        cancel_at_period_end,
        canceled_at,
        ended_at,
        as_of,
        started_at=None,
        cancellation=None,
    ):
        """Copy a Stripe subscription's state, as of `as_of`, onto this membership and save it.

        `started_at` is the subscription's start at Stripe, which replaces the stored one (rows
        written before it was known hold a guess); None keeps what is stored. `cancellation` is
        Stripe's (reason, feedback, comment), cleared when Stripe clears it (the member renewed
        after all), or None to keep what is stored. A reason or feedback that is not one of the
        known choices is stored blank.

        Returns what it means for the member: STARTED when the membership gives access for the
        first time (coming back from past due or paused is not a start), ENDED when it ends
        after it gave access or took money (once: an end is final), CHANGED otherwise, or
        SKIPPED when the state is older than the stored one or would revive an ended
        subscription. A `price` of None (not a plan price) keeps the row but gives no access.
        """
        if not self.takes_stripe_state(status, as_of):
            return StateChange.SKIPPED
        if status not in self.Status.values or status == self.Status.COMPLIMENTARY:
            raise ValueError(f"Unknown subscription status {status!r}.")
        previous = self.status if self.pk else None
        self.plan = price.plan if price else None
        self.price = price
        self.status = status
        self.stripe_customer_id = customer_id or ""
        self.current_period_end = current_period_end
        self.cancel_at_period_end = cancel_at_period_end
        self.canceled_at = canceled_at
        self.ended_at = ended_at
        if started_at is not None:
            self.started_at = started_at
        if cancellation is not None:
            reason, feedback, comment = cancellation
            self.cancellation_reason = reason if reason in CancellationReason.values else ""
            self.cancellation_feedback = feedback if feedback in CancellationFeedback.values else ""
            self.cancellation_comment = comment
        self.note_stripe_state_time(as_of)
        self.save()
        if (
            price is not None
            and status in self.GRANTING_STATUSES
            and previous in (None, self.Status.INCOMPLETE)
        ):
            return StateChange.STARTED
        if (
            status in self.TERMINAL_STATUSES
            and previous not in self.TERMINAL_STATUSES
            and (previous in self.HAD_ACCESS_STATUSES or self.payments.exists())
        ):
            return StateChange.ENDED
        return StateChange.CHANGED


class Donation(MirrorsStripeSubscription, models.Model):
    """A one-off or recurring gift. A recurring donation is a Stripe subscription, not a membership."""

    class Status(models.TextChoices):
        # One-off gifts: Checkout's payment status. Recurring ones: the subscription's status.
        PAID = "paid", _("paid")
        UNPAID = "unpaid", _("unpaid")
        TRIALING = "trialing", _("trialing")
        ACTIVE = "active", _("active")
        PAST_DUE = "past_due", _("past due")
        CANCELED = "canceled", _("canceled")
        INCOMPLETE = "incomplete", _("incomplete")
        INCOMPLETE_EXPIRED = "incomplete_expired", _("incomplete, expired")
        PAUSED = "paused", _("paused")

    RECURRING_GIVING = [Status.ACTIVE, Status.TRIALING, Status.PAST_DUE]

    user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="donations",
        verbose_name=_("user"),
    )
    email = models.EmailField(_("email"), blank=True)
    amount = models.PositiveIntegerField(_("amount"), help_text=_("In minor units (cents)."))
    currency = models.CharField(_("currency"), max_length=3)
    recurring = models.BooleanField(_("recurring"), default=False)
    stripe_checkout_session_id = models.CharField(
        _("Stripe checkout session id"), max_length=255, unique=True, null=True, blank=True
    )
    stripe_subscription_id = models.CharField(
        _("Stripe subscription id"), max_length=255, unique=True, null=True, blank=True
    )
    stripe_payment_intent_id = models.CharField(
        _("Stripe payment intent id"), max_length=255, unique=True, null=True, blank=True
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    stripe_updated = models.DateTimeField(_("Stripe state as of"), null=True, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        constraints = [
            models.CheckConstraint(
                condition=Q(recurring=True) | Q(stripe_subscription_id__isnull=True),
                name="members_donation_subscription_only_when_recurring",
            ),
        ]

    def __str__(self):
        kind = _("monthly") if self.recurring else _("one-off")
        return f"{format_money(self.amount, self.currency)} {kind} · {self.email or self.user}"

    def apply_stripe_status(self, status, as_of):
        """Copy a monthly gift's subscription status, as of `as_of`, and save; returns False
        when the status is older than the stored one or would revive an ended gift."""
        if status not in self.Status.values:
            raise ValueError(f"Unknown subscription status {status!r}.")
        if not self.takes_stripe_state(status, as_of):
            return False
        self.status = status
        self.note_stripe_state_time(as_of)
        self.save()
        return True


class Payment(models.Model):
    """Money received: one row per paid invoice (membership or recurring donation) or one-off
    payment, unique by its Stripe id, so a duplicated or replayed event never counts it twice."""

    class Kind(models.TextChoices):
        MEMBERSHIP = "membership", _("membership")
        DONATION = "donation", _("donation")

    class Status(models.TextChoices):
        PAID = "paid", _("paid")
        REFUNDED = "refunded", _("refunded")
        PARTIALLY_REFUNDED = "partially_refunded", _("partially refunded")
        DISPUTED = "disputed", _("disputed")

    stripe_id = models.CharField(
        _("Stripe id"),
        max_length=255,
        unique=True,
        help_text=_("The invoice id (in_…), or the payment intent id (pi_…) of a one-off payment."),
    )
    stripe_charge_id = models.CharField(
        _("Stripe charge id"), max_length=255, unique=True, null=True, blank=True
    )
    stripe_payment_intent_id = models.CharField(
        _("Stripe payment intent id"), max_length=255, unique=True, null=True, blank=True
    )
    user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("user"),
    )
    membership = models.ForeignKey(
        Membership,
        verbose_name=_("membership"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="payments",
    )
    donation = models.ForeignKey(
        Donation,
        verbose_name=_("donation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="payments",
    )
    amount = models.PositiveIntegerField(_("amount"), help_text=_("In minor units (cents)."))
    currency = models.CharField(_("currency"), max_length=3)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PAID
    )
    amount_refunded = models.PositiveIntegerField(_("amount refunded"), default=0)
    paid_at = models.DateTimeField(_("paid at"))
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-paid_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(fields=["kind", "paid_at"]),
            # A membership's last paid invoice (MRR) and what it paid in all.
            models.Index(fields=["membership", "paid_at"]),
        ]
        permissions = [("refund_payment", _("Can refund a payment through Stripe"))]

    def __str__(self):
        return f"{self.stripe_id} · {format_money(self.amount, self.currency)}"


class StripeEvent(models.Model):
    """Every verified webhook delivery, stored before it is processed: idempotency and audit.

    `processed_at` is set in the same transaction as the handler's changes; a failure leaves it
    empty and records `last_error`, so Stripe's retry or the admin's "process again" runs it again.
    """

    stripe_id = models.CharField(_("Stripe event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    api_version = models.CharField(_("API version"), max_length=50, blank=True)
    created = models.DateTimeField(_("created at Stripe"))
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        indexes = [models.Index(fields=["processed_at"])]

    def __str__(self):
        return f"{self.type} {self.stripe_id}"


class MemberNote(models.Model):
    """A note the membership desk keeps about a reader ("asked for a receipt in March")."""

    member = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="member_notes", verbose_name=_("member")
    )
    author = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("written by"),
    )
    text = models.TextField(_("note"), max_length=5000)
    created = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("note about a member")
        verbose_name_plural = _("notes about members")

    def __str__(self):
        return f"{self.member} · {self.created:%Y-%m-%d}"


class DataExport(models.Model):
    """One CSV export of members, donations or payments: who took it, when, and which filters
    and search of the admin's list it honoured. Kept for the privacy record."""

    class What(models.TextChoices):
        MEMBERS = "members", _("members")
        DONATIONS = "donations", _("donations")
        PAYMENTS = "payments", _("payments")

    user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("exported by"),
    )
    what = models.CharField(_("what"), max_length=20, choices=What.choices)
    filters = models.CharField(
        _("filters"),
        max_length=2000,
        blank=True,
        help_text=_("The list's filters and search, as in its address."),
    )
    rows = models.PositiveIntegerField(
        _("rows"), null=True, blank=True, help_text=_("Empty until the download has finished.")
    )
    created = models.DateTimeField(_("exported"), auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")

    def __str__(self):
        return f"{self.get_what_display()} · {self.user} · {self.created:%Y-%m-%d %H:%M}"
