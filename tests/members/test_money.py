"""Amounts are written as the reader's language writes them (members.money)."""

import pytest
from django.template import Context, Template
from django.utils import translation

from members.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "english", "russian"),
    [
        (500, "eur", "€5", "5\xa0€"),
        (1250, "usd", "$12.50", "12,50\xa0$"),
        (123450, "eur", "€1,234.50", "1\xa0234,50\xa0€"),
        (500000, "usd", "$5,000", "5\xa0000\xa0$"),
    ],
)
def test_amounts_follow_the_language(amount, currency, english, russian):
    assert format_money(amount, currency, language="en") == english
    assert format_money(amount, currency, language="ru") == russian


def test_the_active_language_is_the_default_and_templates_use_the_same_function():
    template = Template("{% load members %}{{ amount|money:'eur' }}")
    with translation.override("ru"):
        assert format_money(500, "eur") == "5\xa0€"
        assert template.render(Context({"amount": 500})) == "5\xa0€"
    with translation.override("en"):
        assert template.render(Context({"amount": 500})) == "€5"


def test_a_missing_amount_is_empty_and_an_unknown_language_falls_back_to_english():
    assert format_money(None, "eur") == ""
    assert format_money(500, "eur", language="xx") == "€5"
