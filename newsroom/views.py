import sys

from allauth.core.ratelimit import consume
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.models import Q, Value
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe
from django.views.defaults import server_error as generic_server_error

from members.access import can_read_full, readable_in_full, reader

from . import search as full_text
from .calls_to_action import blocks_for_page, count
from .forms import SearchForm
from .metadata import article_metadata, language_links
from .models import (
    HOME_FEATURED_MAX,
    Article,
    ArticleAuthor,
    Author,
    CallToAction,
    Page,
    Region,
    Section,
    Tag,
    listed_under,
)
from .object_cache import cached, fragment, listing_subject, nav_sections
from .page_cache import shared_page
from .pagination import listing_page
from .renditions import image_key
from .translation import localized

# Related stories under an article.
RELATED_STORIES = 4
# How long a shared cache may keep a page of search results: readers expect a story published
# a minute ago to be found.
SEARCH_SHARED_MAX_AGE = 60


def _published_in_language():
    return Article.objects.published().filter(language=get_language()).for_listing()


@require_safe
@shared_page
def home(request):
    """The front page: the lead and featured stories that editors pinned in this language
    (`Article.home_placement`), then every other story by date."""
    stories = _published_in_language().filter(home_placement="")
    page = listing_page(request, stories, cards=f"home:{get_language()}")
    lead, featured = None, []
    if page.number == 1:
        # Only read here and by the cards: every request is given the process's own copy.
        pinned = cached(request, f"pinned:{get_language()}", _pinned_stories, shared=True)
        lead = next((a for a in pinned if a.home_placement == Article.HomePlacement.LEAD), None)
        featured = [a for a in pinned if a.home_placement == Article.HomePlacement.FEATURED]
        featured = featured[:HOME_FEATURED_MAX]
        if lead is None and featured and page.object_list:
            # Featured stories without a lead pinned (or while it is scheduled): the latest
            # story leads them.
            lead = page.object_list.pop(0)
    return render(
        request,
        "newsroom/article_list.html",
        {
            "page": page,
            "is_home": True,
            "pinned_lead": lead,
            "pinned": featured,
            "call_to_action_blocks": blocks_for_page(request, listing=True),
        },
    )


def _pinned_stories():
    # A pin counts once the story is out; a scheduled lead takes its place on time (the
    # object cache's version changes then). "lead" sorts after "featured", so descending puts
    # the lead first.
    return list(
        Article.objects.published()
        .filter(language=get_language())
        .for_listing("home_placement")
        .exclude(home_placement="")
        .order_by("-home_placement", "-published_at", "-id")[: 1 + HOME_FEATURED_MAX]
    )


def _listing(request, subject, **block_filters):
    """The page of a section, region, tag or author (`subject`): a page of its stories in this
    language, in `newsroom/<model>_detail.html`. A section's come from the stories' own index;
    a region's, tag's or author's from its filings (newsroom.models.listings)."""
    name = subject._meta.model_name
    stories = _published_in_language()
    cards = f"{name}:{subject.pk}:{get_language()}"
    if isinstance(subject, Section):
        page = listing_page(request, stories.filter(section=subject), cards=cards)
    else:
        page = listing_page(request, stories, ids=listed_under(subject), cards=cards)
    return render(
        request,
        f"newsroom/{name}_detail.html",
        {
            name: subject,
            "page": page,
            "call_to_action_blocks": blocks_for_page(request, listing=True, **block_filters),
        },
    )


@require_safe
@shared_page
def section_detail(request, slug):
    section = listing_subject(request, Section, slug)
    return _listing(request, section, section=section)


@require_safe
@shared_page
def region_detail(request, slug):
    return _listing(request, listing_subject(request, Region, slug))


@require_safe
@shared_page
def tag_detail(request, slug):
    return _listing(request, listing_subject(request, Tag, slug))


@require_safe
@shared_page
def author_detail(request, slug):
    """An author's page: photo, role, biography, links, and their stories in this language."""
    return _listing(request, listing_subject(request, Author, slug))


@require_safe
@shared_page(seconds=SEARCH_SHARED_MAX_AGE)
def search(request):
    """Search this language's stories (`?q=`, optionally `?section=<slug>`; an unknown
    section is no page). A story's body is matched and quoted only for readers who may read
    it in full; gated stories are found by their headline and standfirst."""
    sections = nav_sections(request)
    form = SearchForm(request.GET, sections=sections)
    if not form.is_valid():
        raise Http404("No such section")
    terms, section = form.cleaned_data["q"], form.cleaned_data["section"]
    page = None
    if terms:
        stories = _published_in_language()
        if section is not None:
            stories = stories.filter(section=section)
        readable = readable_in_full(reader(request))
        # The pager's links keep what this view reads of the query.
        query = {"q": terms, **({"section": section.slug} if section else {})}
        page = listing_page(request, stories.search(terms, readable=readable), query=query)
        for article in full_text.snippets(page.object_list, terms):
            article.snippet_html = full_text.highlighted(article.search_snippet)
    return render(
        request,
        "newsroom/article_search.html",
        {
            "form": form,
            "terms": terms,
            "page": page,
        },
    )


@require_safe
@shared_page
def page_detail(request, slug):
    """A static page (about, contact, terms…) in the reader's language."""
    page = get_object_or_404(Page, slug=slug)
    return render(request, "newsroom/page_detail.html", {"page": page})


@require_safe
@shared_page
def article_detail(request, year, month, slug):
    user = reader(request)
    if user.is_authenticated:
        article = _article_for(user, slug)
    else:
        # The same published story for every anonymous reader: kept between changes
        # (newsroom.object_cache), so their page costs no query.
        article = cached(
            request,
            f"article:{get_language()}:{slug}",
            lambda: _article_for(user, slug),
            shared=True,
        )
    if article is None:
        return _redirect_from_old_url(user, year, month, slug)
    # An article's URL carries its month of publication; any other date in the URL is an old
    # or mistyped link to the same story.
    published = timezone.localtime(article.published_at or article.created_at)
    if (year, month) != (published.year, published.month):
        return redirect(article, permanent=True)
    readable = can_read_full(user, article)
    blocks = blocks_for_page(request, article=article, readable=readable)
    return render_article(request, article, readable=readable, blocks=blocks)


def _article_for(user, slug):
    """The story at `slug` in this language that `user` may open, or None."""
    return (
        Article.objects.visible_to(user)
        .filter(language=get_language(), slug=slug)
        .select_related("section", "hero_image")
        .defer(*Article.SEARCH_FIELDS)
        .first()
    )


def render_article(request, article, *, readable, blocks, **extra):
    """An article's page: the whole body if `readable`, else the gate; `blocks` are its
    fundraiser blocks (newsroom.calls_to_action)."""
    keep = article.is_published
    if keep:
        # What the page shows around the story is the same for every reader: kept between
        # changes (newsroom.object_cache). A preview is always read afresh.
        around = cached(
            request, f"around:{article.pk}:{get_language()}", lambda: _around(article), shared=True
        )
    else:
        around = _around(article)
    authors, corrections, editions, filed_under, related = around
    return render(
        request,
        "newsroom/article_detail.html",
        {
            "article": article,
            "can_read_full": readable,
            "call_to_action_blocks": blocks,
            "parts": ArticleParts(
                request,
                article,
                keep=keep,
                authors=authors,
                corrections=corrections,
                editions=editions,
                filed_under=filed_under,
                related=related,
            ),
            "language_links": language_links(request, editions),
            **extra,
        },
    )


class ArticleParts:
    """What an article's page shows around the story (newsroom/includes/article_parts.html:
    `head`, `header`, `after`, `related`), as HTML, each rendered when the page template asks
    for it. The parts are the same for every reader: a published story's (`keep`) are rendered
    once per version of the site in each process (newsroom.object_cache.fragment), under a name
    that carries everything else they read (the language, the story, its pictures' renditions,
    and for `head`'s absolute addresses the scheme and host)."""

    TEMPLATE = "newsroom/includes/article_parts.html"

    def __init__(self, request, article, *, keep, **around):
        self.request, self.article, self.keep, self.around = request, article, keep, around

    def __getitem__(self, part):
        if part not in ("head", "header", "after", "related"):
            raise KeyError(part)
        article, request = self.article, self.request
        images = {
            "head": [article.hero_image],
            "header": [article.hero_image],
            "related": [story.hero_image for story in self.around["related"]],
        }.get(part, [])
        keys = [image_key(image) for image in images if image is not None]
        name = ("article", part, get_language(), article.pk, *keys)
        if part == "head":
            name += (request.scheme, request.get_host())

        def render():
            context = {**self.around, "article": article, "newsroom_name": settings.NEWSROOM_NAME}
            if part == "head":
                around = self.around
                context["metadata"] = article_metadata(
                    request,
                    article,
                    authors=around["authors"],
                    editions=around["editions"],
                    filed_under=around["filed_under"],
                    corrections=around["corrections"],
                )
            return mark_safe(loader.get_template(f"{self.TEMPLATE}#{part}").render(context))

        if not self.keep or None in keys:
            # A preview, or media addresses that expire (signed S3 links): never kept.
            return render()
        return fragment(request, name, render)


def _around(article):
    """What an article's page shows around the story: its authors, corrections, other
    editions, regions and tags, and related stories (only for a published story)."""
    bylines = ArticleAuthor.objects.filter(article=article).select_related("author")
    return (
        [byline.author for byline in bylines],
        list(article.corrections.all()),
        # What their links need (Article.get_absolute_url).
        list(article.other_editions().only("language", "slug", "published_at", "created_at")),
        _filed_under(article),
        _related_stories(article) if article.is_published else [],
    )


def _filed_under(article):
    """The story's regions, then its tags, as (name, url) pairs: one query for both (through
    the link tables, which carry no translated ordering of their own)."""
    regions, tags = (
        links.objects.filter(article=article).values_list(
            localized(f"{subject}__name"), f"{subject}__slug", Value(kind)
        )
        for kind, (links, subject) in enumerate(
            [(Article.regions.through, "region"), (Article.tags.through, "tag")]
        )
    )
    rows = sorted(regions.union(tags, all=True), key=lambda row: (row[2], row[0].casefold()))
    names = ["newsroom:region_detail", "newsroom:tag_detail"]
    return [(name, reverse(names[kind], kwargs={"slug": slug})) for name, slug, kind in rows]


def _related_stories(article):
    """The latest other stories of the same section, regions or tags, in one query."""
    return list(
        Article.objects.published()
        .filter(language=article.language)
        .filter(
            Q(section=article.section_id)
            | Q(regions__in=article.regions.all())
            | Q(tags__in=article.tags.all())
        )
        .exclude(pk=article.pk)
        .for_listing()
        .prefetch_related(None)
        .distinct()[:RELATED_STORIES]
    )


def _redirect_from_old_url(user, year, month, slug):
    """A story's address from before its slug changed: 301 to where it lives now.

    Only to a story this reader may open, so an old address never reveals a draft's new slug.
    """
    old_path = Article.url_path(get_language(), year, month, slug)
    article = Article.objects.visible_to(user).filter(redirects__old_path=old_path).first()
    if article is None:
        raise Http404("No such article")
    return redirect(article, permanent=True)


#: Seconds a reader (or a crawler) is asked to wait when the database is unavailable.
RETRY_AFTER = 30


def server_error(request):
    """The site's handler500. An unavailable database (refused, timed out waiting for a
    connection, locked, a statement cancelled) answers the branded 503 with `Retry-After`,
    never stored by a cache; any other error the plain 500 page. Both templates render
    without the database."""
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        add_never_cache_headers(response)
        return response
    return generic_server_error(request)


@never_cache
def healthz(request):
    """For load balancers: 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


@require_safe
@shared_page
def robots_txt(request):
    """Rules for crawlers, naming the sitemaps at absolute addresses (the protocol wants them
    so) on the host that was asked: the same bytes for every reader of that host."""
    return render(
        request,
        "robots.txt",
        {
            "debug": settings.DEBUG,
            "sitemaps": [
                request.build_absolute_uri(reverse(name)) for name in ("sitemap", "sitemap_news")
            ],
        },
        content_type="text/plain; charset=utf-8",
    )


# Fundraiser blocks: the view beacon and the button's counting redirect (newsroom.calls_to_action).

# Ids a beacon may name at once: a page shows at most one block per placement.
BEACON_MAX_IDS = 8


@csrf_exempt
@require_POST
@never_cache
def call_to_action_seen(request):
    """The beacon a page's script sends with the ids of the blocks it shows.

    Exempt from CSRF because it can do nothing but add to view counters: anything it cannot
    read, ids of blocks that are not running, or a flood from one address are ignored with the
    same empty answer.
    """
    if consume(request, action="call_to_action_beacon"):
        ids = request.POST.get("blocks", "").split(",")[:BEACON_MAX_IDS]
        count("views", [int(i) for i in ids if i.isdecimal() and len(i) < 10], get_language())
    return HttpResponse(status=204)


@require_safe
@never_cache
def call_to_action_click(request, block_id):
    """A block's button: count the click, then go to the block's saved target, never anywhere
    a link names. Our own pages get `?cta=` so that a membership or gift started there is
    counted for the block; nothing is written to a session. An unknown or ended block leads
    to the front page."""
    block = CallToAction.objects.running(timezone.now()).filter(pk=block_id).first()
    if block is None:
        return redirect("newsroom:home")
    count("clicks", [block.pk], get_language())
    url = block.target_url()
    if block.target != CallToAction.Target.EXTERNAL:
        url += ("&" if "?" in url else "?") + f"cta={block.pk}"
    return redirect(url)
