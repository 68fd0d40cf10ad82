from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from .models import Currency, Price

ATTEMPT_ERRORS = {
    "required": _("This form has expired. Please send it again."),
    "invalid": _("This form has expired. Please send it again."),
}


class SourceBlockField(forms.CharField):
    """The fundraiser block a reader came from (`?cta=` of its button's redirect), carried to
    Stripe Checkout so that the membership or gift counts for it. Anything else is no source:
    never an error for the reader."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return int(value) if value.isdecimal() and len(value) < 10 else None

    def validate(self, value):
        pass


class JoinForm(forms.Form):
    """The plan choice on /membership/: one press of a plan's "Join" button."""

    price = forms.ModelChoiceField(
        queryset=Price.objects.filter(active=True, plan__active=True).select_related("plan"),
        error_messages={"invalid_choice": _("That plan is not available. Please choose another.")},
    )
    # One token per rendering of the page: a double-click sends the same one, which makes
    # the same idempotency key and so the same Stripe Checkout session.
    attempt = forms.UUIDField(widget=forms.HiddenInput, error_messages=ATTEMPT_ERRORS)
    source = SourceBlockField()


class DonationForm(forms.Form):
    """A gift on /donate/: one-off or monthly, a preset or a custom amount, in EUR or USD."""

    ONCE = "once"
    MONTHLY = "monthly"
    OTHER = "other"

    frequency = forms.ChoiceField(
        label=_("How often"),
        choices=[(ONCE, _("Once")), (MONTHLY, _("Monthly"))],
        initial=ONCE,
        widget=forms.RadioSelect,
    )
    currency = forms.ChoiceField(
        label=_("Currency"),
        choices=Currency.choices,
        initial=Currency.EUR,
        widget=forms.RadioSelect,
    )
    preset = forms.ChoiceField(label=_("Amount"), widget=forms.RadioSelect)
    custom_amount = forms.DecimalField(
        label=_("Other amount"),
        required=False,
        max_digits=9,
        decimal_places=2,
    )
    attempt = forms.UUIDField(widget=forms.HiddenInput, error_messages=ATTEMPT_ERRORS)
    source = SourceBlockField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        presets = settings.DONATION_PRESETS
        self.fields["preset"].choices = [(str(amount), str(amount)) for amount in presets] + [
            (self.OTHER, _("Other amount"))
        ]
        self.fields["preset"].initial = str(presets[1] if len(presets) > 1 else presets[0])
        custom = self.fields["custom_amount"]
        custom.help_text = _("Between %(min)s and %(max)s.") % {
            "min": settings.DONATION_MIN,
            "max": settings.DONATION_MAX,
        }
        custom.widget.attrs.update(
            min=settings.DONATION_MIN, max=settings.DONATION_MAX, step="0.01"
        )
        # The browser's min/max are a courtesy; these are the check.
        custom.validators += [
            MinValueValidator(settings.DONATION_MIN),
            MaxValueValidator(settings.DONATION_MAX),
        ]

    def clean(self):
        cleaned = super().clean()
        preset = cleaned.get("preset")
        custom = cleaned.get("custom_amount")
        if preset == self.OTHER:
            if custom is None and "custom_amount" not in self.errors:
                self.add_error("custom_amount", _("Enter the amount you would like to give."))
            amount = custom
        elif preset:
            amount = Decimal(preset)
        else:
            amount = None
        if amount is not None:
            cleaned["amount_minor"] = int(amount * 100)
        return cleaned

    @property
    def recurring(self):
        return self.cleaned_data["frequency"] == self.MONTHLY
