"""Sitemaps for search engines: `/sitemap.xml` is an index of one sitemap per kind of page
(stories, sections, regions, tags, authors, static pages), and `/sitemap-news.xml` is the Google
News sitemap of the last two days' stories.

Only published stories are listed; a gated one is listed by its address and headline like any
other (a sitemap carries no text of a story). The editions of a story are separate rows linked by
`translation_of`, so a story's hreflang alternates come from those links, not from
`Sitemap.i18n`; listings and static pages exist in every language and use `Sitemap.i18n`.

The views receive the classes, not instances: Django's views then make one per request, and
what `Sitemap` keeps on itself while rendering (`latest_lastmod`) is never shared.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.core.paginator import Paginator
from django.db.models import BigIntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.functional import cached_property

from .models import Article, Author, Correction, Filing, Page, Region, Section, Tag
from .models.listings import KIND_OF

# What an edition's address needs (Article.get_absolute_url), and its place among the editions.
EDITION_FIELDS = ("pk", "translation_of", "language", "slug", "published_at", "created_at")

#: How far back the news sitemap reaches, and its most URLs per file (Google News' rules).
NEWS_WINDOW = timedelta(days=2)
NEWS_LIMIT = 1000


class ArticleSitemap(Sitemap):
    """Every published story in every language, with its other editions as alternates."""

    # URLs per file (the protocol allows 50,000); past it, `?p=2` and on, each named in the
    # index. Small files keep each one's rendering short whatever the archive's size: 2,000
    # URLs take about a quarter of a second, 50,000 took 4.4 s at 100,000 stories (a
    # sync worker busy that long after each purge, for each file a crawler asks for).
    limit = 2_000

    def items(self):
        # By id, so that a new story lands on the last page and the others keep theirs.
        return (
            Article.objects.published()
            .with_last_change()
            .only(*EDITION_FIELDS, "updated_at")
            .order_by("pk")
        )

    @property
    def paginator(self):
        return Paginator(_PagesById(self.items()), self.limit)

    def lastmod(self, article):
        return article.last_changed

    def get_latest_lastmod(self):
        # The latest save (`newsroom_article_saved_idx`) and, in the same query, the latest of
        # the few corrections: one aggregate over the stories joined to their corrections read
        # every story (56 ms at 100,000 stories).
        published = Article.objects.published()
        last_correction = (
            Correction.objects.filter(article__in=published)
            .order_by("-created_at")
            .values("created_at")[:1]
        )
        latest = (
            published.order_by("-updated_at")
            .values_list("updated_at", Subquery(last_correction))
            .first()
        )
        return max(filter(None, latest or ()), default=None)

    def get_urls(self, page=1, site=None, protocol=None):
        urls = super().get_urls(page=page, site=site, protocol=protocol)
        if urls:
            origin = f"{self.get_protocol(protocol)}://{self.get_domain(site)}"
            editions = _editions_of_page([url["item"] for url in urls])
            for url in urls:
                url["alternates"] = _alternates(url["item"], editions, origin)
        return urls


class _PagesById:
    """The stories of a queryset ordered by id, as Django's paginator counts and slices them: a
    slice is read from its first id on, and that id comes from an `OFFSET` over the ids alone,
    which an index answers. An `OFFSET` over the stories themselves read every story a deep file
    skips, and worked out each one's last change (0.1–0.25 s more for the last file than for
    the first at 100,000 stories)."""

    def __init__(self, queryset):
        self.queryset = queryset

    def count(self):
        return self.queryset.count()

    def __getitem__(self, window):
        first = self.queryset.values_list("pk", flat=True)[window.start : window.start + 1]
        return self.queryset.filter(pk__gte=Subquery(first))[: window.stop - window.start]


def _edition_group():
    """What the editions of one story share: the original's id."""
    return Coalesce("translation_of", "pk", output_field=BigIntegerField())


def _editions_of_page(articles):
    """{original's id: [published editions]} for the stories of one sitemap page, in one query.

    A page holds the published stories of an id range (`ArticleSitemap` orders by id), so the
    editions are found through that range rather than by a list of its ids.
    """
    first, last = articles[0].pk, articles[-1].pk
    groups = (
        Article.objects.published()
        .filter(pk__range=(first, last))
        .annotate(group=_edition_group())
        .values("group")
    )
    editions = (
        Article.objects.published()
        .annotate(group=_edition_group())
        .filter(group__in=groups)
        .only(*EDITION_FIELDS)
        .order_by("language", "pk")
    )
    found = {}
    for edition in editions:
        found.setdefault(edition.group, []).append(edition)
    return found


def _alternates(article, editions, origin):
    """The hreflang alternates of `article`: each published edition of the story, and the
    original as `x-default`; none for a story published in one language only."""
    group = editions.get(article.translation_of_id or article.pk, [])
    if len(group) < 2:
        return []
    alternates = [
        {"lang_code": edition.language, "location": origin + edition.get_absolute_url()}
        for edition in group
    ]
    original = next((edition for edition in group if edition.translation_of_id is None), None)
    if original is not None:
        alternates.append(
            {"lang_code": "x-default", "location": origin + original.get_absolute_url()}
        )
    return alternates


class ReadOnce(Sitemap):
    """A sitemap of a few dozen items, read once per request: the index counts them and dates
    them by the latest of the same rows, where Django's `get_latest_lastmod` reads `items()`
    again. (The views make an instance per request, so nothing read outlives it.)"""

    def rows(self):
        """The items, as a queryset."""
        raise NotImplementedError

    @cached_property
    def _read(self):
        return list(self.rows())

    def items(self):
        return self._read


class ListingSitemap(ReadOnce):
    """The pages of the regions, tags or authors (`model`) that have published stories, in
    every language, dated by their latest story. Those stories are found through their filings
    (newsroom.models.listings): each item's latest is the first of an index
    (`newsroom_filing_latest_idx`), where joining the link tables read every link (70–80 ms a
    sitemap at 100,000 stories)."""

    model = None

    i18n = True
    alternates = True
    x_default = True

    def rows(self):
        return (
            self.model.objects.annotate(last_published=self.last_published())
            .filter(last_published__isnull=False)
            .only("slug")
            .order_by("pk")
        )

    def last_published(self):
        """The time of the latest published story listed under each item: an expression on
        the model's rows, None for an item with none."""
        latest = (
            Filing.objects.filter(
                kind=KIND_OF[self.model],
                subject_id=OuterRef("pk"),
                published_at__lte=timezone.now(),
            )
            .order_by("-published_at")
            .values("published_at")[:1]
        )
        return Subquery(latest)

    def lastmod(self, item):
        return item.last_published


class SectionSitemap(ListingSitemap):
    """The sections' pages. A section is a column of the story itself, not filed: its latest
    story is the latest of each language's, each the first entry of an index
    (`newsroom_article_section_idx`: section, language, status, newest first). An aggregate
    over the stories read every story's entry (82 ms at 100,000 stories); one look-up across
    the languages walked the whole archive for a section with no story yet (165 ms)."""

    model = Section

    def last_published(self):
        latest = [
            Subquery(
                Article.objects.filter(
                    section=OuterRef("pk"),
                    language=code,
                    status=Article.Status.PUBLISHED,
                    published_at__lte=timezone.now(),
                )
                .order_by("-published_at")
                .values("published_at")[:1]
            )
            for code, _name in settings.LANGUAGES
        ]
        if len(latest) == 1:
            return latest[0]
        # SQLite's MAX() is NULL if any argument is: each language's latest falls back on the
        # others'.
        return Greatest(*(Coalesce(*latest[i:], *latest[:i]) for i in range(len(latest))))


class RegionSitemap(ListingSitemap):
    model = Region


class TagSitemap(ListingSitemap):
    model = Tag


class AuthorSitemap(ListingSitemap):
    model = Author


class PageSitemap(ReadOnce):
    """The static pages (about, contact, terms…), in every language."""

    i18n = True
    alternates = True
    x_default = True

    def rows(self):
        return Page.objects.only("slug", "updated_at").order_by("pk")

    def lastmod(self, page):
        return page.updated_at


class NewsSitemap(Sitemap):
    """The Google News sitemap: the stories published in the last two days, newest first
    (rendered by newsroom/sitemap_news.xml with each story's headline and language)."""

    limit = NEWS_LIMIT

    def items(self):
        return (
            Article.objects.published()
            .filter(published_at__gte=timezone.now() - NEWS_WINDOW)
            .only(*EDITION_FIELDS, "headline")
            .order_by("-published_at", "-pk")
        )


#: The parts of the sitemap index, by the name in their address (/sitemap-<name>.xml).
SITEMAPS = {
    "articles": ArticleSitemap,
    "sections": SectionSitemap,
    "regions": RegionSitemap,
    "tags": TagSitemap,
    "authors": AuthorSitemap,
    "pages": PageSitemap,
}
