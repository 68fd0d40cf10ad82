from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent(rate):
    """A rate (1 / 7) as a percentage to one decimal in the active language ("14.3%");
    "–" when there is none (nothing to divide by)."""
    if rate is None:
        return "–"
    # number_format() cuts decimals off; round half up first.
    value = (Decimal(rate) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{number_format(value, 1)}%"
