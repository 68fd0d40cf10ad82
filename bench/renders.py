"""The origin's render counter (bench/caching.py): how many requests got past the page cache
and reached a view, per address, counted by every gunicorn worker together in the benchmark's
Redis.

`count_renders` is the innermost middleware of the benchmark's gunicorn when
`BENCH_COUNT_RENDERS` names a Redis database (bench/settings.py): a page served from the page
cache never reaches it, so each request it sees is one the origin renders. The counts live in
the `renders` cache alias, which holds nothing else (`reset()` empties it).
"""

import hashlib

from django.core.cache import caches

ALIAS = "renders"
TOTAL = "all"


def _key(address):
    return "renders:" + hashlib.sha256(address.encode()).hexdigest()


def _add(address):
    counts = caches[ALIAS]
    for key in (_key(address), _key(TOTAL)):
        counts.add(key, 0, None)
        counts.incr(key)


def count_renders(get_response):
    """Counts each GET that reaches a view, under its path and query string."""

    def middleware(request):
        if request.method in ("GET", "HEAD"):
            _add(request.get_full_path())
        return get_response(request)

    return middleware


def renders(address=TOTAL, counts=None):
    """Renders of `address` (a path with its query string) since the last reset; every
    address together by default. `counts` is the cache holding them, when this process has
    no `renders` alias (the benchmark's own process reads the gunicorn workers' counts)."""
    return (counts or caches[ALIAS]).get(_key(address), 0)


def reset(counts=None):
    (counts or caches[ALIAS]).clear()


def hit_ratio(renders_, requests):
    """The share of `requests` the page cache answered: 1 − renders ÷ requests (None without
    requests)."""
    if not requests:
        return None
    return max(0.0, 1 - renders_ / requests)
