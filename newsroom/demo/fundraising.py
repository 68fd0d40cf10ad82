"""The demo newsroom's fundraiser blocks, in English and Russian: a site banner, an inline block
pointing to an external collective fundraiser, an end-of-story membership block with a campaign
and its goal, and a block between the stories of the front and section pages."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from newsroom.models import CallToAction, CallToActionCopy, Campaign

Placement, Target, Audience = CallToAction.Placement, CallToAction.Target, CallToAction.Audience

CAMPAIGN = "Winter membership drive"

# name: the block's settings, and its copy per language (heading, text, button).
BLOCKS = {
    "Banner: become a member": {
        "placement": Placement.SITE_BANNER,
        "target": Target.JOIN,
        "audience": Audience.EVERYONE,
        "copies": {
            "en": (
                "Become a member",
                "<p>Support independent journalism in the Caucasus: join today.</p>",
                "Become a member",
            ),
            "ru": (
                "Оформите подписку",
                "<p>Поддержите независимую журналистику на Кавказе: присоединяйтесь сегодня.</p>",
                "Оформить подписку",
            ),
        },
    },
    "Inline: safety equipment fundraiser": {
        "placement": Placement.ARTICLE_INLINE,
        "target": Target.EXTERNAL,
        "external_url": "https://fundraiser.example/georgian-media-safety",
        "external_progress": "€12,400 raised",
        "position": 3,
        "style": CallToAction.Style.QUIET,
        "dismissible": True,
        "copies": {
            "en": (
                "Safety equipment for Georgian newsrooms",
                "<p>Right now, online media in Georgia is in dire need of safety equipment. "
                "Support small, independent media outlets in Georgia via our collective "
                "fundraiser.</p>",
                "Give to the fundraiser",
            ),
            "ru": (
                "Средства защиты для редакций Грузии",
                "<p>Онлайн-СМИ Грузии сейчас остро нуждаются в средствах защиты. Поддержите "
                "небольшие независимые издания Грузии через наш общий сбор.</p>",
                "Помочь сбору",
            ),
        },
    },
    "End of story: membership": {
        "placement": Placement.ARTICLE_END,
        "target": Target.JOIN,
        "campaign": True,
        "copies": {
            "en": (
                "Interested in directly assisting us?",
                "<p>Consider becoming a member: our reporting is paid for by readers.</p>",
                "Become a member",
            ),
            "ru": (
                "Хотите помочь нам напрямую?",
                "<p>Оформите подписку: нашу работу оплачивают читатели.</p>",
                "Оформить подписку",
            ),
        },
    },
    "Listing: monthly gift": {
        "placement": Placement.LISTING,
        "target": Target.DONATE,
        "donate_amount": 10,
        "position": 4,
        "style": CallToAction.Style.HIGHLIGHT,
        "copies": {
            "en": (
                "Every story here was paid for by readers",
                "<p>A monthly gift of €10 keeps a reporter in the field for a day.</p>",
                "Give monthly",
            ),
            "ru": (
                "Каждый материал здесь оплачен читателями",
                "<p>Ежемесячные 10 € — это день работы репортёра в поле.</p>",
                "Поддерживать ежемесячно",
            ),
        },
    },
}


def create_demo_blocks():
    """Create the demo campaign and blocks unless the site has any block; return those made."""
    languages = {code for code, _name in settings.LANGUAGES}
    now = timezone.now()
    with transaction.atomic():
        if CallToAction.objects.exists():
            return []
        campaign = Campaign.objects.create(
            name=CAMPAIGN,
            goal=Campaign.Goal.MEMBERS,
            goal_members=500,
            starts_at=now - timedelta(days=12),
            deadline=now + timedelta(days=18),
        )
        blocks = []
        for name, spec in BLOCKS.items():
            fields = {
                key: value for key, value in spec.items() if key not in {"copies", "campaign"}
            }
            if fields.get("external_progress"):
                fields["external_progress_on"] = timezone.localdate(now) - timedelta(days=3)
            block = CallToAction.objects.create(
                name=name,
                campaign=campaign if spec.get("campaign") else None,
                starts_at=now - timedelta(days=1),
                **fields,
            )
            for language, (heading, body, button) in spec["copies"].items():
                if language in languages:
                    CallToActionCopy.objects.create(
                        block=block,
                        language=language,
                        heading=heading,
                        body=body,
                        button_label=button,
                    )
            blocks.append(block)
    return blocks
