from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent(rate):
    """A rate (0.25) as a percentage in the active language ("25.0%"); "–" when there is none
    (nothing to divide by)."""
    if rate is None:
        return "–"
    return f"{number_format(rate * 100, 1)}%"
