from django import template
from django.utils.formats import number_format

register = template.Library()

SYMBOLS = {"eur": "€", "usd": "$"}


@register.filter
def money(amount, currency):
    """Minor units as a price: 500, "eur" → "€5"; 1250, "usd" → "$12.50"."""
    if amount is None:
        return ""
    whole, cents = divmod(int(amount), 100)
    number = (
        number_format(whole, force_grouping=True)
        if not cents
        else number_format(amount / 100, decimal_pos=2, force_grouping=True)
    )
    symbol = SYMBOLS.get(str(currency).lower())
    return f"{symbol}{number}" if symbol else f"{number} {str(currency).upper()}"
