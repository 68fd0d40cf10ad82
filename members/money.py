"""Amounts of money as the reader's language writes them: the one place that formats them.

Django formats numbers per language but not currencies; Babel knows where each language puts
the symbol and which separators it uses ("€5" and "$12.50" in English, "5 €" and "12,50 $" in
Russian). Amounts are stored in minor units (cents), as Stripe sends them.
"""

import re
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision
from django.conf import settings
from django.utils.translation import get_language, to_locale


def format_money(amount, currency, *, language=None):
    """`amount` minor units of `currency` ("eur", "usd"…) in `language` (default: the active
    one). Whole amounts drop their zeros: 500 "eur" is "€5" in English, "5 €" in Russian;
    1250 "usd" is "$12.50" and "12,50 $"."""
    if amount is None:
        return ""
    code = str(currency or "").upper()
    value = Decimal(int(amount)).scaleb(-get_currency_precision(code))
    locale = _locale(language or get_language() or settings.LANGUAGE_CODE)
    if value != value.to_integral_value():
        return format_currency(value, code, locale=locale)
    pattern = re.sub(r"\.0+", "", locale.currency_formats["standard"].pattern)
    return format_currency(value, code, format=pattern, locale=locale, currency_digits=False)


def _locale(language):
    try:
        return Locale.parse(to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def decimal_amount(amount, currency):
    """`amount` minor units of `currency` as a plain decimal number in major units, for files
    other programs read: 1250 "eur" is "12.50", 500 "eur" is "5.00"."""
    places = get_currency_precision(str(currency or "").upper())
    return f"{Decimal(int(amount)).scaleb(-places):.{places}f}"
