"""A listing's cards, with the stories read from the database only for the cards that have to be
rendered.

A card (the `card` partial of templates/newsroom/includes/listing.html, `{% card %}`) is kept per
story in each process for the current version of the site (newsroom.object_cache.fragment), and
what it shows changes only with a new version, except its picture, which changes with the
renditions built (which purge nothing). So a listing's page reads, besides the ids of its stories
(newsroom.pagination), only what their pictures depend on (`Listed`), in one query with no
object built; the stories themselves, with their sections and bylines, are read the first time
one of their cards is missing, all of the page's at once (two queries).
"""

from django.template.loader import get_template
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from .object_cache import fragment
from .renditions import IMAGE_KEY_FIELDS, image_key, image_key_of, stable_media_address

CARD = "newsroom/includes/listing.html#card"
# What `listed()` reads of each story: its id and its picture's `image_key()`.
_LISTED_FIELDS = ["pk", "hero_image_id", *(f"hero_image__{name}" for name in IMAGE_KEY_FIELDS)]


class Listed:
    """A story of a listing's page as its card is found: its id and what its picture depends
    on (`renditions.image_key()`: () for no picture, None for one never kept). `article`, the
    story from `for_listing()`, is read only when asked for."""

    __slots__ = ("pk", "picture_key", "_stories")

    def __init__(self, pk, picture_key, stories):
        self.pk = pk
        self.picture_key = picture_key
        self._stories = stories

    @classmethod
    def of(cls, article):
        """A story already read (from `for_listing()`)."""
        picture_key = image_key(article.hero_image) if article.hero_image_id else ()
        return cls(article.pk, picture_key, {article.pk: article})

    @property
    def article(self):
        """The story, or None if it is no longer in the listing."""
        return self._stories.get(self.pk)


class _PageStories:
    """The stories of a page, read all at once when one is first asked for."""

    def __init__(self, queryset, ids):
        self._queryset = queryset
        self._ids = ids
        self._found = None

    def get(self, pk):
        if self._found is None:
            self._found = {
                article.pk: article for article in self._queryset.filter(pk__in=self._ids)
            }
        return self._found.get(pk)


def listed(queryset, ids):
    """The stories `ids` of `queryset` (from `for_listing()`) in its order, as `Listed`: one
    query, for what their pictures depend on."""
    stories = _PageStories(queryset, ids)
    rows = queryset.prefetch_related(None).filter(pk__in=ids).values_list(*_LISTED_FIELDS)
    media = stable_media_address()
    return [
        Listed(pk, image_key_of(image, *picture, media=media) if image else (), stories)
        for pk, image, *picture in rows
    ]


def card(request, story, lead=False):
    """The card of `story` (a `Listed`, or a story from `for_listing()`), the large one with
    `lead`: rendered from the story the first time in each process for the current version of
    the site and picture, then kept."""
    if not isinstance(story, Listed):
        story = Listed.of(story)
    lead = bool(lead)

    def render():
        article = story.article
        if article is None:
            # Gone since the page's ids were read: the change that took it retires this version.
            return ""
        return mark_safe(get_template(CARD).render({"article": article, "lead": lead}))

    if story.picture_key is None:
        # Media addresses that expire (signed S3 links) are never kept.
        return render()
    name = ("card", get_language(), story.pk, lead, story.picture_key)
    return fragment(request, name, render)
