"""Who may read what: the one place that answers "may this reader read the whole story?".

Listings decide what may be *seen to exist* (`Article.objects.published()`); this module decides
who may read the *whole body*. Every channel that shows a body, an excerpt or a description (the
article page, feeds, search, previews, social metadata) asks `can_read_full()`.

It also answers who a reader is, for access and for the fundraiser blocks (ARCHITECTURE.md §4
"Audiences"): a member, a lapsed member, a donor. The membership rules live in
`MembershipQuerySet` and are computed at query time from `now`, so access starts and ends on time
with no scheduler. What a signed-in reader is takes one query per request.

Nothing from the newsroom app is imported at module level, so the newsroom may import this.
"""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.utils import timezone

from .models import Donation, Membership, User, months_before

# The audiences of the fundraiser blocks. They overlap: a reader belongs to every one whose
# rule they meet (a member who gave is a member and a donor).
EVERYONE = "everyone"
ANONYMOUS = "anonymous"
REGISTERED = "registered"  # signed in and not a member now (lapsed members included)
MEMBER = "member"
LAPSED_MEMBER = "lapsed"
DONOR = "donor"
NON_DONOR = "non_donor"

# Per-request cache on the user object (a user is loaded once per request).
_CACHE_ATTRIBUTE = "_members_audience"


def reader(request):
    """The user behind a request, without touching the session when there is none.

    Reading `request.user` marks the session as accessed, which adds `Vary: Cookie` to the
    response; a request with no session cookie is anonymous, and its page stays the same for
    every anonymous reader (so shared caches may keep it).
    """
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return AnonymousUser()
    return request.user


def _signed_in(user):
    return bool(user and user.is_authenticated)


def users_in(audience, now=None):
    """A condition on users (`User.objects.filter(...)`) selecting the members, lapsed members
    or donors at `now`: the rules themselves, which `is_member` and the others ask too."""
    now = now or timezone.now()
    memberships = Membership.objects.filter(user=OuterRef("pk"))
    if audience == MEMBER:
        return Exists(memberships.active(now))
    if audience == LAPSED_MEMBER:
        return Exists(memberships.lapsed(now)) & ~Exists(memberships.active(now))
    if audience == DONOR:
        return Exists(Donation.objects.filter(user=OuterRef("pk")).filter(donor_condition(now)))
    raise ValueError(f"Unknown audience {audience!r}.")


def _flags(user, now):
    """{MEMBER: bool, LAPSED_MEMBER: bool, DONOR: bool} for a signed-in user, in one query."""
    audiences = (MEMBER, LAPSED_MEMBER, DONOR)
    flags = {
        audience: ExpressionWrapper(users_in(audience, now), output_field=BooleanField())
        for audience in audiences
    }
    found = User.objects.filter(pk=user.pk).annotate(**flags).values(*audiences).first()
    return found or dict.fromkeys(audiences, False)


def _cached_flags(user, now):
    if now is not None:
        return _flags(user, now)
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = _flags(user, timezone.now())
        setattr(user, _CACHE_ATTRIBUTE, cached)
    return cached


def is_member(user, now=None):
    """An active or trialing subscription, a past-due one within the grace period
    (`MEMBERSHIP_GRACE_DAYS` after its period ended), or a complimentary one not yet ended.
    A recurring donation is not a membership."""
    return _signed_in(user) and _cached_flags(user, now)[MEMBER]


def is_lapsed_member(user, now=None):
    """Was a member, is not now, and the membership ended within `MEMBERSHIP_LAPSED_MONTHS`."""
    return _signed_in(user) and _cached_flags(user, now)[LAPSED_MEMBER]


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
    return _signed_in(user) and _cached_flags(user, now)[DONOR]


def audiences_of(user, now=None):
    """Every audience `user` belongs to (the fundraiser blocks' targeting)."""
    if not _signed_in(user):
        return {EVERYONE, ANONYMOUS, NON_DONOR}
    flags = _cached_flags(user, now)
    audiences = {EVERYONE, DONOR if flags[DONOR] else NON_DONOR}
    audiences.add(MEMBER if flags[MEMBER] else REGISTERED)
    if flags[LAPSED_MEMBER]:
        audiences.add(LAPSED_MEMBER)
    return audiences


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


def readable_in_full(user, *, now=None):
    """The condition on articles (`Article.objects.filter(...)`) that `user` may read in full:
    `can_read_full()` for a whole listing, so that search matches and quotes a body only where
    the reader may read it. (The values are `Article.Visibility`'s, named here because this
    module imports nothing from the newsroom.)"""
    if _signed_in(user) and (user.is_staff or is_member(user, now)):
        return Q(pk__isnull=False)
    return Q(visibility="public") | Q(
        visibility="early_access", public_from__lte=now or timezone.now()
    )
