from django.conf import settings
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from members.access import can_read_full, reader

from .calls_to_action import blocks_for_page
from .models import Article, Section

ARTICLES_PER_PAGE = 20


def _page(request, articles):
    """One page of a listing; a page number that is not a page answers 404, not 500."""
    paginator = Paginator(articles, ARTICLES_PER_PAGE)
    number = request.GET.get("page") or 1
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise Http404("No such page")
    if number < 1 or (number > 1 and number > paginator.num_pages):
        raise Http404("No such page")
    return paginator.page(min(number, max(paginator.num_pages, 1)))


def _published_in_language():
    return Article.objects.published().filter(language=get_language()).for_listing()


@require_safe
def home(request):
    page = _page(request, _published_in_language())
    return render(
        request,
        "newsroom/article_list.html",
        {
            "page": page,
            "is_home": True,
            "call_to_action_blocks": blocks_for_page(request, listing=True),
        },
    )


@require_safe
def section_detail(request, slug):
    section = get_object_or_404(Section, slug=slug)
    page = _page(request, _published_in_language().filter(section=section))
    return render(
        request,
        "newsroom/section_detail.html",
        {
            "section": section,
            "page": page,
            "call_to_action_blocks": blocks_for_page(request, section=section, listing=True),
        },
    )


@require_safe
def article_detail(request, year, month, slug):
    user = reader(request)
    articles = (
        Article.objects.visible_to(user)
        .filter(language=get_language())
        .select_related("section", "hero_image")
    )
    article = articles.filter(slug=slug).first()
    if article is None:
        return _redirect_from_old_url(user, year, month, slug)
    # An article's URL carries its month of publication; any other date in the URL is an old
    # or mistyped link to the same story.
    published = timezone.localtime(article.published_at or article.created_at)
    if (year, month) != (published.year, published.month):
        return redirect(article, permanent=True)
    bylines = article.bylines.select_related("author")
    readable = can_read_full(user, article)
    return render(
        request,
        "newsroom/article_detail.html",
        {
            "article": article,
            "authors": [b.author for b in bylines],
            "can_read_full": readable,
            "call_to_action_blocks": blocks_for_page(request, article=article, readable=readable),
            "corrections": list(article.corrections.all()),
            "editions": list(article.other_editions()),
        },
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
def robots_txt(request):
    return render(
        request,
        "robots.txt",
        {"debug": settings.DEBUG},
        content_type="text/plain; charset=utf-8",
    )
