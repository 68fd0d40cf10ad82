"""The whole-page cache for anonymous readers (ARCHITECTURE.md §4 "Caching").

Reader views marked `@shared_page` produce pages that are the same for every anonymous reader.
`page_cache_middleware` keeps those pages in the `pages` cache alias (Redis, or the database
cache that every app process shares) and serves them again without touching the database; it
sends `Cache-Control: public, max-age=0, s-maxage=…, stale-while-revalidate=…,
stale-if-error=…` and an `ETag`, so browsers revalidate, shared caches in front (nginx, a CDN)
may hold the page for a short while, and they may go on serving it while the site is down.

- The key is the scheme, host and path (which carries the language: `/ru/…`) and only the query
  parameters reader views read, so `?utm_source=…` or random parameters neither split nor fill
  the cache.
- Signed-in readers carry the `newsroom_signed_in` cookie, set at log-in and cleared at log-out.
  They bypass the cache and get pages marked `private, no-store`: nothing keeps a copy. The session cookie alone decides nothing: a
  reader who started to join and left is still anonymous and is served cached pages.
- Saving anything a reader page shows purges every page by moving the site-wide generation;
  entries of an older generation are never served again.
- Pages are sent gzipped to readers whose browsers accept it (nearly all), and the gzipped copy
  is made once and stored with the page: by the request that renders it, or by the first one
  that accepts gzip after it. Every shared page says `Vary: Accept-Encoding`. A shared page
  holds nothing of one reader's, so compressing it reveals nothing (BREACH needs a secret in
  the page).
- A page is stored as its generation, its expiry, its headers, its body and its gzipped body
  (not a pickled response), and with Redis each process also keeps the pages it served last
  in its own memory (`PAGE_CACHE_PROCESS_BYTES`, least recently served out first) and serves
  them with no Redis read at all. It may, because Redis tells it at once when the generation
  key changes
  (newsroom.redis_cache.KeyWatch: client-side caching's broadcast mode, on a connection each
  process opens after gunicorn forks it): a purge on any app server, the key deleted, expired
  or evicted, Redis flushed, restarted or out of reach all make the process forget its
  generation and its pages before its next request, which reads Redis as if there were no such
  memory. So a story published through one app server shows at once on every other. The
  database cache (no Redis) has no such announcements, and every request reads it. The caches in front (EDGE_PURGE_URLS)
  are purged after the commit (newsroom.edge). A page also expires no later than the
  next scheduled publication, early-access opening or fundraiser block start or end.
"""

import functools
import hashlib
import math
import os
import secrets
import threading
import time
from collections import OrderedDict
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponse
from django.middleware.gzip import re_accepts_gzip
from django.urls import Resolver404, get_resolver, get_urlconf
from django.utils import timezone, translation
from django.utils.cache import (
    get_conditional_response,
    has_vary_header,
    patch_cache_control,
    patch_vary_headers,
    set_response_etag,
)
from django.utils.text import compress_string

from . import edge
from .models import (
    Article,
    ArticleAuthor,
    Author,
    AuthorLink,
    CallToAction,
    CallToActionCopy,
    Campaign,
    Correction,
    Image,
    Page,
    Region,
    Section,
    Tag,
)

CACHE_ALIAS = "pages"
#: Set at log-in, cleared at log-out: its presence alone sends a request past the shared caches.
SIGNED_IN_COOKIE = "newsroom_signed_in"
#: The query parameters that reader views read; every other parameter is left out of the key
#: (deploy/nginx/newsroom.conf keys on the same ones).
KEY_PARAMETERS = ("language", "p", "page", "q", "section")

# How long past `s-maxage` a shared cache may serve a page while it fetches a fresh one, and
# while the site answers with errors (a database outage): readers keep getting pages. A story
# taken down leaves such caches within `s-maxage` plus the first.
STALE_WHILE_REVALIDATE = 30
STALE_IF_ERROR = 24 * 60 * 60

#: Pages shorter than this are never gzipped: it would save next to nothing (as in Django's
#: GZipMiddleware).
COMPRESS_FROM_BYTES = 200

GENERATION = "pages:generation"
NEXT_CHANGE = "pages:next-change"


def pages():
    """The cache that holds pages (`CACHES["pages"]`)."""
    return caches[CACHE_ALIAS]


def shared_page(view=None, *, seconds=None):
    """Marks a reader view whose anonymous responses are the same for every anonymous reader:
    the page cache and shared caches may keep them for `seconds` (`PAGE_CACHE_SECONDS` unless
    given; search results, say, for less)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response.shared_seconds = seconds or settings.PAGE_CACHE_SECONDS
            return response

        # What the middleware looks for before it looks for a cached page (`_shared_view`).
        wrapper.shared_page = True
        return wrapper

    return decorator(view) if view is not None else decorator


def page_key(request):
    """The cache key of an anonymous page: scheme, host, path and the parameters views read,
    sorted (a view reads the last value of a repeated parameter, and so does the key)."""
    parameters = sorted((name, request.GET[name]) for name in KEY_PARAMETERS if name in request.GET)
    address = f"{request.scheme}://{request.get_host()}{request.path}?{urlencode(parameters)}"
    return "pages:" + hashlib.sha256(address.encode()).hexdigest()


def purge():
    """Retire every cached page, on every app server: later requests render afresh."""
    pages().set(GENERATION, secrets.token_hex(8), None)


def next_change(now):
    """The next moment after `now` at which a page changes by itself: a scheduled story comes
    out, an early-access story opens to everyone, a fundraiser block starts or ends. One query;
    None when nothing is scheduled."""
    published = Article.objects.filter(status=Article.Status.PUBLISHED).order_by()
    moments = [
        published.filter(published_at__gt=now).values_list("published_at"),
        published.filter(
            visibility=Article.Visibility.EARLY_ACCESS, public_from__gt=now
        ).values_list("public_from"),
        CallToAction.objects.filter(starts_at__gt=now).order_by().values_list("starts_at"),
        CallToAction.objects.filter(ends_at__gt=now).order_by().values_list("ends_at"),
    ]
    first = moments[0].union(*moments[1:]).order_by("published_at")[:1]
    return next((moment for (moment,) in first), None)


def _generation(found):
    generation = found.get(GENERATION)
    if generation is None:
        # First request after the cache started empty (or lost the key): a new generation,
        # unless another process just made one.
        pages().add(GENERATION, secrets.token_hex(8), None)
        generation = pages().get(GENERATION)
    return generation


def _known_next_change(generation, found, now):
    """The next scheduled change after `now`, cached per generation; `found` (what was read
    from the cache for this request) remembers it for the rest of the request."""
    known = found.get(NEXT_CHANGE)
    if known is None or known[0] != generation or (known[1] is not None and known[1] <= now):
        known = (generation, next_change(now))
        pages().set(NEXT_CHANGE, known, settings.PAGE_CACHE_SECONDS)
        found[NEXT_CHANGE] = known
    return known[1]


def _lifetime(generation, found):
    """Seconds a page rendered now may be kept: `PAGE_CACHE_SECONDS`, or less when the next
    scheduled change comes sooner. The next change is itself cached per generation."""
    now = timezone.now()
    change = _known_next_change(generation, found, now)
    seconds = settings.PAGE_CACHE_SECONDS
    if change is not None:
        seconds = min(seconds, math.floor((change - now).total_seconds()))
    return max(seconds, 0)


def _shareable(response):
    """A 200 page that a view marked shared, and that nothing made personal on the way out
    (a cookie set, the session read, a private or no-store header)."""
    cache_control = response.get("Cache-Control", "")
    return (
        getattr(response, "shared_seconds", None)
        and response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not has_vary_header(response, "Cookie")
        and "private" not in cache_control
        and "no-store" not in cache_control
        and "no-cache" not in cache_control
    )


def _send_shared(request, response, seconds):
    patch_cache_control(
        response,
        public=True,
        max_age=0,
        s_maxage=seconds,
        stale_while_revalidate=STALE_WHILE_REVALIDATE,
        stale_if_error=STALE_IF_ERROR,
    )
    return get_conditional_response(request, etag=response["ETag"], response=response)


def _without_vary_accept_language(response):
    # Every address of this site names its language (English at the root, others under their
    # prefix), so LocaleMiddleware's `Vary: Accept-Language` would only split shared caches.
    if has_vary_header(response, "Accept-Language"):
        vary = [
            value.strip()
            for value in response["Vary"].split(",")
            if value.strip() and value.strip().lower() != "accept-language"
        ]
        if vary:
            response["Vary"] = ", ".join(vary)
        else:
            del response["Vary"]


def _shared_view(request):
    """Whether the address leads to a view marked `@shared_page`: the cache is only read for
    those, so that other pages (forms, the account, the admin) cost no cache read. Needs the
    request's language active (its address names it: newsroom.middleware)."""
    resolver = get_resolver(getattr(request, "urlconf", None) or get_urlconf())
    return _leads_to_shared_view(resolver, translation.get_language(), request.path_info)


@functools.lru_cache(maxsize=4096)
def _leads_to_shared_view(resolver, language, path):
    # Remembered per URL configuration, language and path, for the most recent few thousand
    # (addresses made up by readers or robots come and go without growing the memory).
    try:
        match = resolver.resolve(path)
    except Resolver404:
        return False
    return bool(getattr(match.func, "shared_page", False))


# Pages in each process's memory ----------------------------------------------------------------


class _ProcessPages:
    """The pages this process served last, in its own memory (module docstring), up to
    `PAGE_CACHE_PROCESS_BYTES` of bodies and headers, the least recently served leaving first.

    They are only served while this process knows the current generation, and it only knows it
    while the page cache's watch of the generation key (newsroom.redis_cache.KeyWatch) has heard
    nothing since the generation was read: a purge on any app server, the key expiring or being
    evicted, Redis flushed or restarted, the connection lost — any of them makes this process
    forget its generation and its pages before it serves the next request, and read Redis as if
    it had none. `epoch` counts those forgettings: what a request learnt before one is not kept.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = None
        self._reset()

    def _reset(self):
        self._watch = None
        self._retry_at = 0.0
        self.epoch = 0
        self._generation = None
        self._entries = OrderedDict()
        self.size = 0

    def _forget(self):
        self.epoch += 1
        self._generation = None
        self._entries = OrderedDict()
        self.size = 0
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def start(self, cache):
        """At the start of a request: the epoch under which it may use and fill this memory, or
        None when it may not (the watch could not be made: Redis is read as without it, and the
        watch is tried again a second later)."""
        with self._lock:
            if self._pid != os.getpid():
                # A new process (gunicorn forks its workers): the parent's watch and pages are
                # not this one's. Watches are made after the fork, in each process.
                self._pid = os.getpid()
                self._reset()
            if self._watch is not None and self._watch.changed():
                self._forget()
            if self._watch is None:
                now = time.monotonic()
                if now < self._retry_at:
                    return None
                try:
                    self._watch = cache.watch(GENERATION)
                except Exception:
                    self._retry_at = now + 1
                    return None
            return self.epoch

    def learn(self, epoch, generation):
        """The generation a request read from Redis after `start` gave it `epoch`."""
        with self._lock:
            if epoch == self.epoch:
                self._generation = generation

    def get(self, epoch, key):
        with self._lock:
            if epoch != self.epoch or self._generation is None:
                return None
            kept = self._entries.get(key)
            if kept is None:
                return None
            entry, size = kept
            if entry[0] != self._generation or entry[1] <= time.time():
                del self._entries[key]
                self.size -= size
                return None
            self._entries.move_to_end(key)
            return entry

    def keep(self, epoch, key, entry):
        """Keeps `entry` (a stored page, `_stored`) of the current generation."""
        generation, _, headers, body, compressed = entry
        size = (
            len(key)
            + len(body)
            + len(compressed or b"")
            + sum(len(name) + len(value) for name, value in headers)
        )
        limit = settings.PAGE_CACHE_PROCESS_BYTES
        with self._lock:
            if epoch != self.epoch or generation != self._generation or size > limit:
                return
            previous = self._entries.pop(key, None)
            if previous is not None:
                self.size -= previous[1]
            self._entries[key] = (entry, size)
            self.size += size
            while self.size > limit:
                _, (_, evicted) = self._entries.popitem(last=False)
                self.size -= evicted


_process_pages = _ProcessPages()


def _process_epoch(cache):
    """`_ProcessPages.start` when the page cache can watch its generation (Redis) and lets
    pages be kept in memory; None otherwise (the database cache: every request reads it)."""
    if settings.PAGE_CACHE_PROCESS_BYTES <= 0 or not getattr(cache, "process_pages", False):
        return None
    return _process_pages.start(cache)


def _accepts_gzip(request):
    return bool(re_accepts_gzip.search(request.headers.get("Accept-Encoding", "")))


def _compress(body):
    """`body` gzipped, or b"" where that does not pay."""
    if len(body) < COMPRESS_FROM_BYTES:
        return b""
    compressed = compress_string(body)
    return compressed if len(compressed) < len(body) else b""


def _stored(generation, expires, response, compress):
    """A page as the cache keeps it, in Redis and in memory: (generation, expiry as a Unix time,
    headers, body, the body gzipped). The last is None until a reader who accepts gzip asks
    for the page (with `compress`, at once), and b"" where gzip does not pay. Not the pickled
    response: that costs more to store and to read back."""
    body = response.content
    compressed = _compress(body) if compress else None
    return (generation, expires, tuple(response.items()), body, compressed)


def _compressed_once(gzip, cache, key, entry):
    """`entry`, or a new one with its gzipped body, made and stored in `cache` now, if this
    reader is the first who accepts gzip (`gzip`) since the page was stored."""
    generation, expires, headers, body, compressed = entry
    if compressed is not None or not gzip:
        return entry
    entry = (generation, expires, headers, body, _compress(body))
    seconds = math.floor(expires - time.time())
    if seconds > 0:
        cache.set(key, entry, seconds)
    return entry


def _send_compressed(gzip, response, compressed):
    """Sends `compressed` instead of the body when there is one and the reader accepts gzip
    (`gzip`); its ETag becomes weak, as Django's GZipMiddleware makes it (the same page, another
    encoding)."""
    if compressed and gzip:
        response.content = compressed
        response["Content-Length"] = str(len(compressed))
        response["Content-Encoding"] = "gzip"
        if response["ETag"].startswith('"'):
            response["ETag"] = "W/" + response["ETag"]


def _send_stored(request, entry, gzip):
    _, expires, headers, body, compressed = entry
    response = HttpResponse(body, headers=dict(headers))
    _send_compressed(gzip, response, compressed)
    return _send_shared(request, response, max(math.floor(expires - time.time()), 0))


def page_cache_middleware(get_response):
    """Serves and stores anonymous readers' pages (module docstring); marks signed-in readers'
    responses private and sets or clears their marker cookie.

    Listed before the session middleware, so that it answers a cached page before it runs and
    sees the `Vary` and cookies it adds to a fresh one; after the language is chosen, which
    finding the view needs.
    """

    def middleware(request):
        # A deleted cookie some clients still send back comes empty.
        signed_in = bool(request.COOKIES.get(SIGNED_IN_COOKIE))
        if signed_in or request.method not in ("GET", "HEAD") or not _shared_view(request):
            response = get_response(request)
            _without_vary_accept_language(response)
            if signed_in:
                patch_cache_control(response, private=True, no_store=True)
            return _update_marker(request, response)

        key = page_key(request)
        gzip = _accepts_gzip(request)
        cache = pages()
        epoch = _process_epoch(cache)
        if epoch is not None:
            entry = _process_pages.get(epoch, key)
            if entry is not None:
                kept, entry = entry, _compressed_once(gzip, cache, key, entry)
                if entry is not kept:
                    _process_pages.keep(epoch, key, entry)
                return _send_stored(request, entry, gzip)

        found = cache.get_many([GENERATION, NEXT_CHANGE, key])
        generation = _generation(found)
        if epoch is not None:
            _process_pages.learn(epoch, generation)
        request._page_cache_read = (generation, found)
        entry = found.get(key)
        # (An entry of another form, from an earlier version of the site, is not served.)
        if isinstance(entry, tuple) and len(entry) == 5 and entry[0] == generation:
            entry = _compressed_once(gzip, cache, key, entry)
            if epoch is not None:
                _process_pages.keep(epoch, key, entry)
            return _send_stored(request, entry, gzip)

        response = get_response(request)
        _without_vary_accept_language(response)
        if _shareable(response):
            seconds = min(response.shared_seconds, _lifetime(generation, found))
            set_response_etag(response)
            patch_vary_headers(response, ("Accept-Encoding",))
            if request.method == "GET" and seconds > 0:
                # One piece: a response written in many (the feeds' generator writes each
                # element) would be stored, and sent by the server, piece by piece.
                response.content = response.content
                # Stored under the generation read before rendering: a purge that happened
                # meanwhile retires this entry too.
                entry = _stored(generation, time.time() + seconds, response, compress=gzip)
                cache.set(key, entry, seconds)
                if epoch is not None:
                    _process_pages.keep(epoch, key, entry)
                _send_compressed(gzip, response, entry[4])
            response = _send_shared(request, response, seconds)
        return _update_marker(request, response)

    return middleware


# The version of what pages show, for the object caches -----------------------------------------


def site_version(request=None):
    """A name for the state of everything reader pages show: it changes with every purge (the
    generation) and at the next scheduled change (a publication, an early-access opening, a
    fundraiser block's start or end). Caches of the objects pages are made of
    (newsroom.object_cache) key on it, so they are retired exactly when pages are. Costs nothing
    more on a request the middleware has looked up; otherwise one read of the page cache."""
    known = getattr(request, "_page_cache_read", None)
    if known is None:
        found = pages().get_many([GENERATION, NEXT_CHANGE])
        known = (_generation(found), found)
        if request is not None:
            request._page_cache_read = known
    generation, found = known
    change = _known_next_change(generation, found, timezone.now())
    return f"{generation}:{change.timestamp() if change else ''}"


# The signed-in marker --------------------------------------------------------------------------


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    if request is not None:
        request.signed_in_marker = True


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs):
    if request is not None:
        request.signed_in_marker = False


def _update_marker(request, response):
    """Sets the marker on the response that logs a reader in, clears it on the one that logs
    them out, and clears a marker left without a session (the session expired)."""
    marker = getattr(request, "signed_in_marker", None)
    if marker is None and request.COOKIES.get(SIGNED_IN_COOKIE):
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            marker = False
    if marker:
        response.set_cookie(
            SIGNED_IN_COOKIE,
            "1",
            max_age=None
            if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
            else settings.SESSION_COOKIE_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    elif marker is False:
        response.delete_cookie(SIGNED_IN_COOKIE, samesite="Lax")
    return response


# Purging --------------------------------------------------------------------------------------

#: Everything a reader page shows comes from these models: saving or deleting any of them
#: purges the pages. Fundraiser counters (CallToActionCount) change pages only through their
#: goal bars, which may lag by `PAGE_CACHE_SECONDS`.
SHOWN_ON_PAGES = (
    Article,
    ArticleAuthor,
    Correction,
    Section,
    Region,
    Tag,
    Author,
    AuthorLink,
    Image,
    Page,
    Campaign,
    CallToAction,
    CallToActionCopy,
)
FILED_UNDER = (Article.regions.through, Article.tags.through, CallToAction.sections.through)


def _purge_now_and_after_commit(sender, **kwargs):
    # Twice: at once, and again after the commit, since a request that renders between the
    # two still reads the old rows and stores them under the first new generation.
    purge()
    transaction.on_commit(purge, using=kwargs.get("using"))
    # Then the caches in front (nginx, a CDN), after the app's own purge above.
    edge.purge_after_commit(using=kwargs.get("using"))


for model in SHOWN_ON_PAGES:
    post_save.connect(
        _purge_now_and_after_commit, sender=model, dispatch_uid=f"purge-{model.__name__}"
    )
    post_delete.connect(
        _purge_now_and_after_commit, sender=model, dispatch_uid=f"purge-{model.__name__}"
    )
for through in FILED_UNDER:
    m2m_changed.connect(
        _purge_now_and_after_commit, sender=through, dispatch_uid=f"purge-{through}"
    )
