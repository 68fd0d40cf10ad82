"""What reader pages are made of and is the same for every reader, cached between changes.

A page the whole-page cache cannot serve (a signed-in reader's, the first after a purge, a
search with new words) still needs the same few things every other page needs: the sections of
the navigation, the footer's pages, the fundraiser blocks that could show, the subject of a
listing, an article's bylines and related stories, and for anonymous readers the story itself
(newsroom.views.article_detail; a reader who is signed in may see drafts, and reads it afresh). They are kept in the "objects" cache (Redis,
or each process's memory) under `page_cache.site_version()`, which changes with every purge and
at the next scheduled publication, early-access opening or block start or end: they are retired
exactly when cached pages are, on every app server, with no purge of their own. Each is kept at
most `PAGE_CACHE_SECONDS` as well, which bounds how late a fundraiser's goal bar can be. Each
process also keeps what it read for `LOCAL_SECONDS` (a copy, as pickled bytes, so no request
sees another's changes to it; or, for what no request changes, the object itself: `shared`),
which spares a Redis round trip per object on most requests and
adds at most that much to the goal bar's lag: the version is still read on every request, so a
purge or a scheduled change reaches every process at once.

Only what is the same for every reader is kept here: which block a reader sees (their audience,
whether they are a member) is still decided per request (newsroom.calls_to_action).

Pieces of HTML that are the same for every reader (the navigation, the footer, a listing's
card, what an article's page shows around the story, a fundraiser block) are kept in each
process's memory under the same version (`fragment()`): they are rendered from the objects above
alone, never with the request, so no reader's data can be in them. What changes no version is
named in the fragment's key instead: a picture's built renditions, a goal bar's figures. A
picture's new renditions, like a goal bar's new figures, show once the objects holding them are
read again: at most `PAGE_CACHE_SECONDS` late, as on a cached page.
"""

import pickle
import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.http import Http404

from .models import Author, Page, Region, Section, Tag
from .page_cache import site_version
from .renditions import remembered

_MISSING = object()

#: Seconds a process keeps its own copy of an object it read (`cached()`), at most this many.
LOCAL_SECONDS = 10
LOCAL_MAX = 2_000
_local = {}
_local_lock = threading.Lock()


def _version(request):
    version = getattr(request, "_object_cache_version", None)
    if version is None:
        version = site_version(request)
        if request is not None:
            request._object_cache_version = version
    return version


def cached(request, name, build, *, shared=False):
    """`build()`'s value, kept under `name` for the current version of the site; a value of
    None (nothing found) is not kept, so unknown addresses fill nothing.

    With `shared`, the caller promises that nothing (its view, templates, template tags)
    changes the value or anything in it, so this process's copy is given to every request as
    it is, instead of a fresh one from pickled bytes: unpickling a story with its bylines and
    related stories costs more than the rest of its page. (Django may still fill a model's
    cache of related objects on it, which is the same for every reader.)"""
    key = f"objects:{_version(request)}:{name}"
    now = time.monotonic()
    local = _local.get(key)
    if local is not None and local[0] > now:
        return local[1] if shared else pickle.loads(local[1])
    objects = caches["objects"]
    value = objects.get(key, _MISSING)
    if value is _MISSING:
        value = build()
        if value is None:
            return None
        objects.set(key, value, settings.PAGE_CACHE_SECONDS)
    with _local_lock:
        if len(_local) >= LOCAL_MAX:
            _local.clear()
        if shared:
            # Its own copy, unpickled from the cache's or built here: as it leaves this call.
            _local[key] = (now + LOCAL_SECONDS, value)
        else:
            _local[key] = (now + LOCAL_SECONDS, pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    return value


def nav_sections(request):
    """The sections of the site navigation (and of the search form)."""
    return cached(request, "nav-sections", lambda: list(Section.objects.all()))


def footer_pages(request):
    """The static pages the footer links to."""
    return cached(
        request,
        "footer-pages",
        lambda: list(Page.objects.filter(in_footer=True).only("slug", "title")),
    )


# What a listing's page (or feed) shows of its subject; sections come from the navigation's list.
_SUBJECTS = {
    Region: lambda: Region.objects.all(),
    Tag: lambda: Tag.objects.all(),
    Author: lambda: Author.objects.select_related("photo").prefetch_related("links"),
}


def listing_subject(request, model, slug):
    """The section, region, tag or author (`model`) a listing or feed is about, or 404."""
    if model is Section:
        found = next((section for section in nav_sections(request) if section.slug == slug), None)
    else:
        name = f"{model._meta.model_name}:{slug}"
        found = cached(request, name, lambda: _SUBJECTS[model]().filter(slug=slug).first())
    if found is None:
        raise Http404(f"No {model._meta.model_name} {slug!r}")
    return found


def fragment(request, name, render):
    """`render()`'s HTML, kept in this process under `name` for the current version of the site
    (renditions.remembered: a new version makes new keys).

    `render` must make the same HTML for every reader: it gets nothing of the request (the
    callers render templates from a plain dict, with no context processor), and `name` must
    name everything else it reads (the language, the year, the current section…).
    """
    return remembered(("fragment", _version(request), name), render)
