"""Who may read what: the one place that answers "may this reader read the whole story?".

Listings decide what may be *seen to exist* (`Article.objects.published()`); this module decides
who may read the *whole body*. Every channel that shows a body, an excerpt or a description (the
article page, feeds, search, previews, social metadata) asks `can_read_full()`.

Nothing from the newsroom app is imported at module level, so the newsroom may import this.
"""

from django.utils import timezone


def can_read_full(user, article, *, now=None):
    """True when `user` may read `article`'s whole body.

    Public stories: everyone. Early-access stories: everyone once `public_from` has passed.
    Members-only stories, and early-access ones before then: staff only, until memberships exist.
    Time rules are computed here at request time, so access opens on time with no scheduler.
    """
    if article.visibility == article.Visibility.PUBLIC:
        return True
    now = now or timezone.now()
    if (
        article.visibility == article.Visibility.EARLY_ACCESS
        and article.public_from is not None
        and article.public_from <= now
    ):
        return True
    return bool(user and user.is_authenticated and user.is_staff)
