from django import template

from members.money import format_money

register = template.Library()


@register.filter
def money(amount, currency):
    """Minor units as a price in the active language: 500, "eur" → "€5" (English), "5 €"
    (Russian)."""
    return format_money(amount, currency)
