"""Listing pages without counting the whole listing, and deep pages without reading what they
skip.

A pager that needs the exact number of pages runs `COUNT(*)` over the listing on every page;
on a large archive that is the slowest query of the page. `ListingPage` asks instead how many
stories follow this page, up to a few pages ahead, which is enough to show the nearby page
numbers and an "Older" link. It asks in the same query that finds the page's ids, which an index
in the listing's order answers without reading the stories a deep page skips; the page's rows
are then read by id (indexes: `Article.Meta.indexes`).
"""

from dataclasses import dataclass, field

from django.http import Http404
from django.utils.http import urlencode

from .cards import listed
from .object_cache import cached

PER_PAGE = 20
# Pages shown on each side of the current one.
NEARBY = 2
# A page number larger than this is no page of any listing (and would overflow an SQL OFFSET).
MAX_PAGE = 100_000


@dataclass
class ListingPage:
    object_list: list
    number: int
    pages_ahead: int  # how many pages follow, counted up to NEARBY
    more_ahead: bool  # whether still more follow after those
    per_page: int = PER_PAGE
    path: str = ""  # the listing's address, which is also its first page's
    query: dict = field(default_factory=dict)  # what else the pager's links keep (a search's q)
    nearby: list = field(init=False)

    def __post_init__(self):
        self.nearby = [
            *range(max(1, self.number - NEARBY), self.number),
            self.number,
            *range(self.number + 1, self.number + self.pages_ahead + 1),
        ]

    @property
    def has_previous(self):
        return self.number > 1

    @property
    def has_next(self):
        return self.pages_ahead > 0

    @property
    def has_other_pages(self):
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self):
        return self.number - 1

    @property
    def next_page_number(self):
        return self.number + 1

    @property
    def start_index(self):
        """The position of this page's first story in the whole listing."""
        return (self.number - 1) * self.per_page + 1

    def url(self, number):
        """The address of page `number`: page 1 is the listing's own address (one URL only)."""
        query = {**self.query, **({"page": number} if number > 1 else {})}
        return f"{self.path}?{urlencode(query)}" if query else self.path

    @property
    def first_url(self):
        return self.url(1)

    @property
    def previous_url(self):
        return self.url(self.number - 1)

    @property
    def next_url(self):
        return self.url(self.number + 1)

    @property
    def nearby_links(self):
        """(number, address) of the nearby pages, for the pager."""
        return [(number, self.url(number)) for number in self.nearby]

    @property
    def gap_before(self):
        """Whether page 1 is out of the nearby range (the pager shows it, then a gap)."""
        return self.nearby[0] > 1


def page_number(request):
    """The `?page=` of a listing's URL; anything but a page number answers 404."""
    value = request.GET.get("page", "1")
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PAGE:
        raise Http404("No such page")
    return int(value)


def listing_page(request, queryset, per_page=PER_PAGE, query=None, ids=None, cards=None):
    """The page of `queryset` that `?page=` names. Two queries whatever the page's depth:
    the ids of its stories and of those that follow, up to `NEARBY` pages ahead (an index in
    the listing's order yields them without reading the rows it skips: page 900 skips 17,980
    stories), then the page's stories with everything they show (plus the queryset's
    prefetches). `ids`, when given, are the listing's ids in its order from elsewhere (a
    region's, tag's or author's filings, newsroom.models.listings); else they are the
    queryset's. A page past the end answers 404; the first page of an empty listing is an
    empty page.

    A listing of `cards` (a `for_listing()` queryset of published stories, named by `cards`:
    "home:en") changes only with a new version of the site, so the ids of each of its pages
    are kept in the object cache (newsroom.object_cache.cached), and the page holds what its
    cards are found by (newsroom.cards.listed: the stories are read only for the cards not yet
    rendered in this process)."""
    number = page_number(request)
    start = (number - 1) * per_page
    if ids is None:
        ids = queryset.prefetch_related(None).values_list("pk", flat=True)

    def read_ids():
        return list(ids[start : start + per_page * (1 + NEARBY) + 1])

    ids = cached(request, f"listing:{cards}:{number}", read_ids) if cards else read_ids()
    if not ids and number > 1:
        raise Http404("No such page")
    # Ordered as the listing is: the ids only choose the rows.
    if not ids:
        objects = []
    elif cards:
        objects = listed(queryset, ids[:per_page])
    else:
        objects = list(queryset.filter(pk__in=ids[:per_page]))
    following = max(len(ids) - per_page, 0)
    pages_ahead = min(-(-following // per_page), NEARBY)
    return ListingPage(
        objects,
        number,
        pages_ahead=pages_ahead,
        more_ahead=following > per_page * NEARBY,
        per_page=per_page,
        path=request.path,
        query=query or {},
    )
