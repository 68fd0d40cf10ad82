"""Fundraiser calls to action: campaigns and the blocks that ask readers for support.

A `CallToAction` is one block (a site banner, an inline block inside a story, an end-of-story
block, a block between the items of a listing) aimed at an audience, on a schedule; its words
live in one `CallToActionCopy` per language. A `Campaign` groups blocks and may have a goal,
whose progress is counted from real memberships and payments (members.models).
"""

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Count, F, FilteredRelation, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_prose_editor.fields import ProseEditorField

from members import access
from members.models import Currency, Membership, Payment
from members.money import format_money

from ..richtext import BIO_EXTENSIONS, clean_bio
from .articles import Section


def campaign_progress(now, *, through=""):
    """Annotations counting a campaign's progress from the rows themselves, for one query:
    `members_so_far`, subscriptions started from its start (until its deadline) and current
    now, and `amount_so_far`, payments in the goal's currency (membership invoices and gifts
    alike, net of refunds; disputed ones not while the bank holds them) over the same time.
    `through` leads from the queried model to the campaign ("campaign__" from a block)."""
    # Each subquery counts its rows as one group (and so must not be ordered, for PostgreSQL).
    starts = OuterRef(f"{through}starts_at")
    until = Coalesce(OuterRef(f"{through}deadline"), Value(now + timedelta(days=1)))
    members = (
        Membership.objects.active(now)
        .filter(kind=Membership.Kind.SUBSCRIPTION, started_at__gte=starts)
        .exclude(started_at__gte=until)
        .order_by()
        .values(group=Value(1))
        .annotate(count=Count("pk"))
        .values("count")
    )
    money = (
        Payment.objects.filter(currency=OuterRef(f"{through}goal_currency"), paid_at__gte=starts)
        .exclude(paid_at__gte=until)
        .exclude(status=Payment.Status.DISPUTED)
        .order_by()
        .values(group=Value(1))
        .annotate(total=Sum(F("amount") - F("amount_refunded")))
        .values("total")
    )
    return {
        "members_so_far": Coalesce(Subquery(members), 0),
        "amount_so_far": Coalesce(Subquery(money), 0),
    }


class CampaignQuerySet(models.QuerySet):
    def with_progress(self, now=None):
        """Each campaign with its `members_so_far` and `amount_so_far` (campaign_progress)."""
        return self.annotate(**campaign_progress(now or timezone.now()))


class Campaign(models.Model):
    """A fundraising drive: blocks belong to it, and its goal bar counts what came in."""

    class Goal(models.TextChoices):
        NONE = "none", _("no goal")
        MEMBERS = "members", _("a number of new members")
        AMOUNT = "amount", _("an amount of money")

    name = models.CharField(_("name"), max_length=200)
    goal = models.CharField(_("goal"), max_length=10, choices=Goal.choices, default=Goal.NONE)
    goal_members = models.PositiveIntegerField(
        _("members wanted"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    goal_amount = models.PositiveIntegerField(
        _("amount wanted"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("In whole euros or dollars."),
    )
    goal_currency = models.CharField(
        _("currency of the amount"), max_length=3, choices=Currency.choices, blank=True
    )
    starts_at = models.DateTimeField(
        _("starts"),
        default=timezone.now,
        help_text=_("Memberships and payments count from this moment."),
    )
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.goal == self.Goal.MEMBERS and not self.goal_members:
            errors["goal_members"] = _("Say how many new members the campaign wants.")
        if self.goal == self.Goal.AMOUNT:
            if not self.goal_amount:
                errors["goal_amount"] = _("Say how much money the campaign wants.")
            if not self.goal_currency:
                errors["goal_currency"] = _("Choose the currency the amount is counted in.")
        if self.deadline and self.starts_at and self.deadline <= self.starts_at:
            errors["deadline"] = _("The deadline must come after the start.")
        if errors:
            raise ValidationError(errors)

    def progress(self):
        """The goal bar's figures, or None without a goal. Needs the annotations of
        `campaign_progress` (`Campaign.objects.with_progress()`)."""
        if self.goal == self.Goal.MEMBERS and self.goal_members:
            return GoalProgress(self.members_so_far, self.goal_members, self.deadline, None)
        if self.goal == self.Goal.AMOUNT and self.goal_amount and self.goal_currency:
            target = self.goal_amount * 100  # whole units to minor units (EUR and USD)
            return GoalProgress(self.amount_so_far, target, self.deadline, self.goal_currency)
        return None


class GoalProgress:
    """How far a campaign has come: `current` of `target` members, or minor units of
    `currency`; the days left until the deadline."""

    def __init__(self, current, target, deadline, currency):
        self.current, self.target, self.deadline, self.currency = (
            current,
            target,
            deadline,
            currency,
        )

    @property
    def shown_current(self):
        return format_money(self.current, self.currency) if self.currency else self.current

    @property
    def shown_target(self):
        return format_money(self.target, self.currency) if self.currency else self.target

    @property
    def bar_value(self):
        return min(self.current, self.target)

    def days_left(self, now=None):
        """Whole days from today to the deadline's day in the newsroom's time zone (None
        without a deadline, 0 on its last day)."""
        if self.deadline is None:
            return None
        today = timezone.localdate(now or timezone.now())
        return max((timezone.localdate(self.deadline) - today).days, 0)


class CallToActionQuerySet(models.QuerySet):
    def running(self, now):
        """Blocks whose schedule includes `now`."""
        return self.filter(Q(starts_at__lte=now), Q(ends_at__isnull=True) | Q(ends_at__gt=now))

    def could_show(self, *, language, section, placements):
        """Blocks for one of `placements` on a page in `language` (of `section`, if any),
        each with its copy in that language as `copy_heading`, `copy_body`, `copy_button`."""
        in_section = Q(sections__isnull=True)
        if section is not None:
            in_section |= Q(sections=section)
        return (
            self.filter(placement__in=placements)
            .filter(pk__in=CallToAction.objects.filter(in_section).values("pk"))
            .annotate(copy=FilteredRelation("copies", condition=Q(copies__language=language)))
            .filter(copy__isnull=False)
            .annotate(
                copy_heading=F("copy__heading"),
                copy_body=F("copy__body"),
                copy_button=F("copy__button_label"),
            )
        )

    def next_change(self, now, **page):
        """The next start or end, after `now`, of a block that `could_show(**page)`."""
        found = self.could_show(**page).aggregate(
            start=Min("starts_at", filter=Q(starts_at__gt=now)),
            end=Min("ends_at", filter=Q(ends_at__gt=now)),
        )
        return min((moment for moment in found.values() if moment), default=None)


class CallToAction(models.Model):
    """One fundraiser block: where it shows, to whom, when, and where its button leads."""

    class Placement(models.TextChoices):
        SITE_BANNER = "site_banner", _("site banner, above every page")
        ARTICLE_INLINE = "article_inline", _("inside a story, after paragraph N")
        ARTICLE_END = "article_end", _("after a story")
        LISTING = "listing", _("between stories on the front and section pages")

    class Audience(models.TextChoices):
        EVERYONE = access.EVERYONE, _("everyone")
        ANONYMOUS = access.ANONYMOUS, _("readers who are not signed in")
        REGISTERED = access.REGISTERED, _("signed-in readers who are not members")
        MEMBERS = access.MEMBER, _("members")
        LAPSED = access.LAPSED_MEMBER, _("lapsed members")
        DONORS = access.DONOR, _("donors")
        NON_DONORS = access.NON_DONOR, _("readers who have not given lately")

    class Target(models.TextChoices):
        JOIN = "join", _("the membership page")
        DONATE = "donate", _("the donation page")
        EXTERNAL = "external", _("another site (an external fundraiser)")

    class Style(models.TextChoices):
        STANDARD = "standard", _("standard")
        HIGHLIGHT = "highlight", _("highlighted")
        QUIET = "quiet", _("quiet")

    name = models.CharField(
        _("internal name"),
        max_length=200,
        help_text=_("For the newsroom only; readers never see it."),
    )
    placement = models.CharField(_("placement"), max_length=20, choices=Placement.choices)
    audience = models.CharField(
        _("audience"), max_length=20, choices=Audience.choices, default=Audience.EVERYONE
    )
    target = models.CharField(_("button leads to"), max_length=10, choices=Target.choices)
    donate_amount = models.PositiveIntegerField(
        _("suggested gift"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("For the donation page: the amount chosen in advance, in whole units."),
    )
    external_url = models.URLField(
        _("external address"),
        blank=True,
        max_length=500,
        help_text=_("For another site: its https:// address."),
    )
    external_progress = models.CharField(
        _("progress of the external fundraiser"),
        max_length=120,
        blank=True,
        help_text=_("As you want it shown, e.g. “€12,400 raised”. Never our own figures."),
    )
    external_progress_on = models.DateField(
        _("progress as of"), null=True, blank=True, help_text=_("The date of that figure.")
    )
    sections = models.ManyToManyField(
        Section,
        verbose_name=_("sections"),
        blank=True,
        related_name="calls_to_action",
        help_text=_("Leave empty for every section and every page."),
    )
    starts_at = models.DateTimeField(_("starts"), default=timezone.now)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("Where several blocks could show, the highest wins.")
    )
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="blocks",
    )
    style = models.CharField(
        _("style"), max_length=10, choices=Style.choices, default=Style.STANDARD
    )
    position = models.PositiveSmallIntegerField(
        _("after paragraph"),
        default=3,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Inside a story: after this paragraph (not in shorter stories). Between stories: "
            "after this many stories."
        ),
    )
    dismissible = models.BooleanField(_("readers may close it"), default=False)
    dismiss_days = models.PositiveSmallIntegerField(
        _("closed for how many days"), default=7, validators=[MinValueValidator(1)]
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CallToActionQuerySet.as_manager()

    class Meta:
        ordering = ["-priority", "pk"]
        verbose_name = _("fundraiser block")
        verbose_name_plural = _("fundraiser blocks")
        indexes = [models.Index(fields=["placement", "starts_at"], name="newsroom_cta_place_idx")]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.target == self.Target.EXTERNAL:
            if not self.external_url:
                errors["external_url"] = _("Give the address of the other site.")
            elif urlsplit(self.external_url).scheme != "https":
                errors["external_url"] = _("Only https:// addresses are allowed.")
        elif self.external_url:
            errors["external_url"] = _("Only blocks that lead to another site have an address.")
        if self.target != self.Target.EXTERNAL and self.external_progress:
            errors["external_progress"] = _(
                "Only an external fundraiser's figure is typed in; our own campaigns count "
                "themselves."
            )
        if self.target != self.Target.DONATE and self.donate_amount:
            errors["donate_amount"] = _(
                "Only blocks that lead to the donation page suggest a gift."
            )
        if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end must come after the start.")
        if errors:
            raise ValidationError(errors)

    def target_url(self):
        """Where the button leads: one of the site's pages, or the saved external address."""
        if self.target == self.Target.JOIN:
            return reverse("members:plans")
        if self.target == self.Target.DONATE:
            url = reverse("members:donate")
            return f"{url}?amount={self.donate_amount}" if self.donate_amount else url
        return self.external_url

    @property
    def shows_our_progress(self):
        """A goal bar only where the button leads to our own join or donate page: an
        external fundraiser is never shown our members or money as theirs."""
        return self.target != self.Target.EXTERNAL and self.campaign is not None


class CallToActionCopy(models.Model):
    """A block's words in one language; a language without a copy shows no such block."""

    block = models.ForeignKey(
        CallToAction, verbose_name=_("block"), on_delete=models.CASCADE, related_name="copies"
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    heading = models.CharField(_("heading"), max_length=200)
    # The same short rich text as an author's biography: bold, italic and links.
    body = ProseEditorField(
        _("text"), blank=True, config={"extensions": BIO_EXTENSIONS}, sanitize=clean_bio
    )
    button_label = models.CharField(_("button label"), max_length=80)

    class Meta:
        verbose_name = _("text in one language")
        verbose_name_plural = _("texts in each language")
        constraints = [
            models.UniqueConstraint(
                fields=["block", "language"], name="newsroom_cta_copy_one_per_language"
            )
        ]

    def __str__(self):
        return f"{self.block} ({self.language})"

    def save(self, *args, **kwargs):
        self.body = clean_bio(self.body)
        super().save(*args, **kwargs)


class CallToActionCount(models.Model):
    """How a block did on one day in one language: views (the page's beacon), clicks (its
    button) and conversions (memberships and gifts whose Checkout started from it).

    Nothing about the reader is kept. Views and clicks gather in the cache and are added here
    in batches (newsroom.calls_to_action); conversions are added by the Stripe webhook.
    """

    block = models.ForeignKey(
        CallToAction, verbose_name=_("block"), on_delete=models.CASCADE, related_name="counts"
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    day = models.DateField(_("day"))
    views = models.PositiveIntegerField(_("views"), default=0)
    clicks = models.PositiveIntegerField(_("clicks"), default=0)
    conversions = models.PositiveIntegerField(_("conversions"), default=0)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("daily count")
        verbose_name_plural = _("daily counts")
        constraints = [
            models.UniqueConstraint(
                fields=["block", "language", "day"], name="newsroom_cta_count_one_per_day"
            )
        ]

    def __str__(self):
        return f"{self.block} {self.language} {self.day}"

    @classmethod
    def add(cls, block_id, language, day, **amounts):
        """Add `amounts` (views=, clicks=, conversions=) to a day's row, making it if needed;
        concurrent additions all count (an update with F(), after a get_or_create)."""
        row, _created = cls.objects.get_or_create(block_id=block_id, language=language, day=day)
        cls.objects.filter(pk=row.pk).update(
            **{name: F(name) + amount for name, amount in amounts.items()}
        )
