"""Which fundraiser block shows where on a page, for whom (ARCHITECTURE.md §4).

A page asks once, `blocks_for_page()`, and gets the block of each of its placements: the
highest-priority running block that matches the placement, the page's language and section, and
one of the reader's audiences (members.access). That takes one query, whatever the number of
placements, blocks or stories, and what could show on a kind of page is the same for everyone:
it is kept between changes (newsroom.object_cache), only the choice among it is made per reader.

An anonymous page must be the same for every anonymous reader, so it can be cached whole: the
reader is found without touching the session (`access.reader`), and a tie between blocks of the
same priority is broken by the page itself (the story's or section's id), never by time or
chance. `valid_until()` says how long such a choice holds.
"""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.cache import caches
from django.db.models import Q, Sum
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import get_language

from members import access
from members.signals import support_started

from .models import CallToAction, CallToActionCount, campaign_progress
from .object_cache import cached

Placement = CallToAction.Placement

ARTICLE_PLACEMENTS = [Placement.SITE_BANNER, Placement.ARTICLE_INLINE, Placement.ARTICLE_END]
LISTING_PLACEMENTS = [Placement.SITE_BANNER, Placement.LISTING]
OTHER_PLACEMENTS = [Placement.SITE_BANNER]


class PageBlocks(dict):
    """{placement: block or None} of one page, for every placement there is."""

    def __init__(self, blocks, *, placements, language, section, now):
        super().__init__(dict.fromkeys(Placement.values) | blocks)
        self.placements, self.language, self.section, self.now = placements, language, section, now

    def valid_until(self):
        """Until when this choice holds: the next start or end of a block that could show on
        the page (for any audience), and the next local midnight if a goal bar counts the days
        left. None when nothing is due to change."""
        moments = [
            CallToAction.objects.next_change(
                self.now, language=self.language, section=self.section, placements=self.placements
            )
        ]
        if any(block and block.progress and block.progress.deadline for block in self.values()):
            tomorrow = timezone.localdate(self.now) + timedelta(days=1)
            moments.append(timezone.make_aware(datetime.combine(tomorrow, time())))
        return min((moment for moment in moments if moment), default=None)


# Who an editor may preview a block as, and the audiences each of them belongs to.
PREVIEW_AUDIENCES = {
    "anonymous": {access.EVERYONE, access.ANONYMOUS, access.NON_DONOR},
    "registered": {access.EVERYONE, access.REGISTERED, access.NON_DONOR},
    "member": {access.EVERYONE, access.MEMBER, access.NON_DONOR},
    "lapsed": {access.EVERYONE, access.REGISTERED, access.LAPSED_MEMBER, access.NON_DONOR},
    "donor": {access.EVERYONE, access.REGISTERED, access.DONOR},
}


def blocks_for_page(
    request,
    *,
    article=None,
    section=None,
    listing=False,
    readable=True,
    audiences=None,
    preview=None,
):
    """The blocks of an article page (`article`; `readable` False when its body is gated), of
    a listing (`listing`, of `section` or the front page), or of any other page (the banner).

    For an editor's preview, `audiences` replaces the reader's, and the block `preview` is
    considered as if it were running now.
    """
    now = timezone.now()
    if article is not None:
        placements, section = ARTICLE_PLACEMENTS, article.section
    elif listing:
        placements = LISTING_PLACEMENTS
    else:
        placements = OTHER_PLACEMENTS
    language = get_language()
    if audiences is None:
        audiences = access.audiences_of(access.reader(request))
    if preview is None:
        # The same for every reader of such a page: kept between changes (a block's start or
        # end retires it on time; its goal bar may lag by PAGE_CACHE_SECONDS, as on a cached
        # page).
        placed = ",".join(placements)
        candidates = cached(
            request,
            f"blocks:{language}:{section.pk if section else ''}:{placed}",
            lambda: _candidates(
                CallToAction.objects.running(now), language, section, placements, now
            ),
            shared=True,
        )
    else:
        blocks = CallToAction.objects.running(now) | CallToAction.objects.filter(pk=preview.pk)
        candidates = _candidates(blocks, language, section, placements, now)
    page_key = article.pk if article is not None else (section.pk if section else 0)
    chosen = {}
    for placement in placements:
        eligible = [
            block
            for block in candidates
            if block.placement == placement
            and block.audience in audiences
            and not _asks_to_join_in_vain(block, audiences, readable)
        ]
        if eligible:
            top = max(block.priority for block in eligible)
            tied = sorted((block for block in eligible if block.priority == top), key=_pk)
            chosen[placement] = tied[page_key % len(tied)]
    return PageBlocks(chosen, placements=placements, language=language, section=section, now=now)


def _pk(block):
    return block.pk


def _asks_to_join_in_vain(block, audiences, readable):
    """Members are never asked to become members, and a gated story's own prompt is the only
    invitation to join at its end."""
    if block.target != CallToAction.Target.JOIN:
        return False
    return access.MEMBER in audiences or (not readable and block.placement == Placement.ARTICLE_END)


def _candidates(blocks, language, section, placements, now):
    """The `blocks` that could show on such a page, with their goal progress."""
    return _with_campaign_progress(
        blocks.could_show(language=language, section=section, placements=placements), now
    )


def _with_campaign_progress(blocks, now):
    """The blocks as a list, each campaign's goal figures counted in the same query."""
    counted = campaign_progress(now, through="campaign__")
    blocks = list(
        blocks.select_related("campaign").annotate(
            **{f"campaign_{name}": annotation for name, annotation in counted.items()}
        )
    )
    for block in blocks:
        block.progress = None
        if block.shows_our_progress:
            for name in counted:
                setattr(block.campaign, name, getattr(block, f"campaign_{name}"))
            block.progress = block.campaign.progress()
    return blocks


# Counting views and clicks ------------------------------------------------------------------
#
# A cached page cannot count itself: its script sends the ids of the blocks it shows to a beacon,
# and the button leads through a redirect that counts. Both only add to counters in the
# "counters" cache (Redis INCR when REDIS_URL is set; each process's own memory otherwise), and
# one request in FLUSH_EVERY seconds writes what has gathered to the database: never a row write
# per view.

COUNTED = ("views", "clicks")
FLUSH_EVERY = 300
KEEP_UNFLUSHED = 3 * 86400
RUNNING_IDS = "cta:running-ids"


def counters():
    return caches["counters"]


def running_block_ids():
    """The ids of the blocks running now, cached for a minute: only they can be counted."""
    ids = counters().get(RUNNING_IDS)
    if ids is None:
        ids = set(CallToAction.objects.running(timezone.now()).values_list("pk", flat=True))
        counters().set(RUNNING_IDS, ids, 60)
    return ids


def _key(kind, day, block_id, language):
    return f"cta:{kind}:{day.isoformat()}:{block_id}:{language}"


def count(kind, block_ids, language):
    """One more of `kind` ("views" or "clicks") today for each running block of `block_ids`."""
    day = timezone.localdate()
    for block_id in set(block_ids) & running_block_ids():
        key = _key(kind, day, block_id, language)
        counters().add(key, 0, timeout=KEEP_UNFLUSHED)
        try:
            counters().incr(key)
        except ValueError:  # evicted between add and incr: this one view is lost
            pass
    if counters().add("cta:flushed-recently", True, timeout=FLUSH_EVERY):
        flush_counts()


def flush_counts():
    """Add what has gathered in the cache to the daily rows: one update per block, language
    and day that has something to add. Counts added meanwhile stay for the next flush."""
    today = timezone.localdate()
    since = timezone.now() - timedelta(seconds=KEEP_UNFLUSHED)
    block_ids = CallToAction.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=since), starts_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    keys = {
        _key(kind, day, block_id, language): (kind, day, block_id, language)
        for kind in COUNTED
        for day in (today - timedelta(days=n) for n in range(3))
        for block_id in block_ids
        for language, _name in settings.LANGUAGES
    }
    gathered = {}
    for key, value in counters().get_many(keys).items():
        if value:
            counters().decr(key, value)
            kind, day, block_id, language = keys[key]
            gathered.setdefault((block_id, language, day), {})[kind] = value
    for (block_id, language, day), amounts in gathered.items():
        CallToActionCount.add(block_id, language, day, **amounts)


@receiver(support_started)
def count_conversion(sender, source_block, language, **kwargs):
    """A membership or gift started from a block's button: a conversion, written at once (it
    is rare, and recorded in the transaction of the Stripe event that says so)."""
    if CallToAction.objects.filter(pk=source_block).exists():
        CallToActionCount.add(source_block, language, timezone.localdate(), conversions=1)


def results(blocks, *, days=30):
    """What `blocks` (a queryset: one block, or a campaign's) did, for the admin: totals per
    language over all time, and each day of the last `days` days (with those that had none)."""
    flush_counts()
    counted = {name: Sum(name) for name in ("views", "clicks", "conversions")}
    rows = CallToActionCount.objects.filter(block__in=blocks)
    totals = list(rows.values("language").annotate(**counted).order_by("language"))
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    found = {
        row["day"]: row
        for row in rows.filter(day__gte=first).values("day").annotate(**counted).order_by()
    }
    daily = [
        found.get(day, {"day": day, "views": 0, "clicks": 0, "conversions": 0})
        for day in (first + timedelta(days=n) for n in range(days))
    ]
    return {"totals": totals, "daily": daily}
