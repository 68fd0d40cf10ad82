"""The demo newsroom's membership plans, in English and Russian, priced in euros and dollars.

Amounts are in minor units (cents). `python manage.py stripe_setup` then creates them in Stripe.
"""

from django.conf import settings
from django.db import transaction

from members.models import Plan, Price

# slug: texts per language, and (monthly, yearly) amounts per currency.
PLANS = {
    "supporter": {
        "name": {"en": "Supporter", "ru": "Сторонник"},
        "description": {
            "en": "Keep independent reporting from the region free for everyone to read.",
            "ru": "Помогите сохранить независимую журналистику региона бесплатной для всех.",
        },
        "benefits": {
            "en": "Members-only stories\nEarly access to investigations\nA monthly letter "
            "from the editors",
            "ru": "Материалы только для участников\nРанний доступ к расследованиям\n"
            "Ежемесячное письмо от редакции",
        },
        "prices": {"eur": (500, 5000), "usd": (600, 6000)},
    },
    "sustainer": {
        "name": {"en": "Sustainer", "ru": "Опора"},
        "description": {
            "en": "Pay for a reporter's week in the field, every month.",
            "ru": "Оплачивайте неделю работы репортёра в поле каждый месяц.",
        },
        "benefits": {
            "en": "Everything in Supporter\nQuarterly calls with our reporters\nYour name on "
            "our supporters' page, if you wish",
            "ru": "Всё, что есть у сторонников\nЕжеквартальные встречи с репортёрами\n"
            "Ваше имя на странице сторонников, если хотите",
        },
        "prices": {"eur": (1200, 12000), "usd": (1400, 14000)},
    },
    "patron": {
        "name": {"en": "Patron", "ru": "Меценат"},
        "description": {
            "en": "Fund the long investigations that take months and change things.",
            "ru": "Финансируйте долгие расследования, которые длятся месяцами и меняют жизнь.",
        },
        "benefits": {
            "en": "Everything in Sustainer\nAn annual briefing with the editor-in-chief\n"
            "Invitations to our events",
            "ru": "Всё, что есть у «Опоры»\nЕжегодная встреча с главным редактором\n"
            "Приглашения на наши мероприятия",
        },
        "prices": {"eur": (2500, 25000), "usd": (3000, 30000)},
    },
}


def create_demo_plans():
    """Create the demo plans and their prices unless the site has any plan; return those made.

    A site that already has plans keeps them untouched: they may be real, and sold in Stripe.
    """
    languages = {code for code, _name in settings.LANGUAGES}
    with transaction.atomic():
        if Plan.objects.exists():
            return []
        plans = []
        for position, (slug, texts) in enumerate(PLANS.items(), start=1):
            fields = {
                f"{name}_{language}": text
                for name in ("name", "description", "benefits")
                for language, text in texts[name].items()
                if language in languages
            }
            plan = Plan.objects.create(slug=slug, position=position, **fields)
            for currency, (monthly, yearly) in texts["prices"].items():
                Price.objects.create(
                    plan=plan, amount=monthly, currency=currency, interval=Price.Interval.MONTH
                )
                Price.objects.create(
                    plan=plan, amount=yearly, currency=currency, interval=Price.Interval.YEAR
                )
            plans.append(plan)
    return plans
