"""Who may read what: the one place that answers "may this reader read the whole story?".

Listings decide what may be *seen to exist* (`Article.objects.published()`); this module decides
who may read the *whole body*. Every channel that shows a body, an excerpt or a description (the
article page, feeds, search, previews, social metadata) asks `can_read_full()`.

It also answers who a reader is for the fundraiser blocks (ARCHITECTURE.md §4 "Audiences"):
a member, a lapsed member, a donor. The rules live in `MembershipQuerySet` and are computed at
query time from `now`, so access starts and ends on time with no scheduler.

Nothing from the newsroom app is imported at module level, so the newsroom may import this.
"""

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from .models import Donation, Membership, months_before

# Per-request cache on the user object (a user is loaded once per request).
_CACHE_ATTRIBUTE = "_members_audience"


def _signed_in(user):
    return bool(user and user.is_authenticated)


def _membership_counts(user, now):
    """Current and lapsed membership counts of `user`, in one query."""
    return Membership.objects.filter(user=user).aggregate(
        current=Count("pk", filter=Membership.objects.member_condition(now)),
        lapsed=Count("pk", filter=Membership.objects.lapsed_condition(now)),
    )


def _counts(user, now):
    if now is not None:
        return _membership_counts(user, now)
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = _membership_counts(user, timezone.now())
        setattr(user, _CACHE_ATTRIBUTE, cached)
    return cached


def is_member(user, now=None):
    """An active or trialing subscription, a past-due one within the grace period
    (`MEMBERSHIP_GRACE_DAYS` after its period ended), or a complimentary one not yet ended.
    A recurring donation is not a membership."""
    return _signed_in(user) and _counts(user, now)["current"] > 0


def is_lapsed_member(user, now=None):
    """Was a member, is not now, and the membership ended within `MEMBERSHIP_LAPSED_MONTHS`."""
    if not _signed_in(user):
        return False
    counts = _counts(user, now)
    return counts["current"] == 0 and counts["lapsed"] > 0


def donor_condition(now):
    """Donations that make their giver a donor at `now` (also the admin's "donor" filter)."""
    since = months_before(now, settings.DONOR_MONTHS)
    return (
        Q(recurring=False, status=Donation.Status.PAID, created__gte=since)
        | Q(recurring=True, status__in=Donation.RECURRING_GIVING)
        | Q(recurring=True, payments__paid_at__gte=since)
    )


def is_donor(user, now=None):
    """Gave in the last `DONOR_MONTHS`, or gives monthly now."""
    if not _signed_in(user):
        return False
    condition = donor_condition(now or timezone.now())
    return Donation.objects.filter(user=user).filter(condition).exists()


# The audiences a signed-in reader may belong to (they overlap: a member may be a donor).
MEMBER = "member"
LAPSED_MEMBER = "lapsed"
DONOR = "donor"


def users_in(audience, now=None):
    """A condition on users (`User.objects.filter(...)`) selecting one audience at `now`, by the
    same rules as `is_member`, `is_lapsed_member` and `is_donor`."""
    now = now or timezone.now()
    memberships = Membership.objects.filter(user=OuterRef("pk"))
    if audience == MEMBER:
        return Exists(memberships.active(now))
    if audience == LAPSED_MEMBER:
        return Exists(memberships.lapsed(now)) & ~Exists(memberships.active(now))
    if audience == DONOR:
        return Exists(Donation.objects.filter(user=OuterRef("pk")).filter(donor_condition(now)))
    raise ValueError(f"Unknown audience {audience!r}.")


def can_read_full(user, article, *, now=None):
    """True when `user` may read `article`'s whole body.

    Public stories: everyone. Early-access stories: members at once, everyone once
    `public_from` has passed. Members-only stories: members. Staff read everything.
    """
    if article.visibility == article.Visibility.PUBLIC:
        return True
    current = now or timezone.now()
    if (
        article.visibility == article.Visibility.EARLY_ACCESS
        and article.public_from is not None
        and article.public_from <= current
    ):
        return True
    if not _signed_in(user):
        return False
    return bool(user.is_staff) or is_member(user, now)
