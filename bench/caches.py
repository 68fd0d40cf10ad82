"""The page cache as the load benchmark runs it (bench/settings.py).

"Uncached" means every request misses the app's whole-page cache and renders the page: this
backend still does everything a miss does (the look-up of the generation and the next
scheduled change, storing the fresh page) but never returns a stored page, and lets no process
keep pages in its memory (newsroom.page_cache's process layer), while `KEEP_PAGES` is off. `BENCH_PAGE_CACHE=off` in the environment starts it off; `serve_pages()` switches it in
the benchmark's own process. Object caches and every other key work as usual.
"""

import os
import re

from django.core.cache.backends.db import DatabaseCache

from newsroom.redis_cache import RedisCache

# What newsroom.page_cache.page_key() makes: "pages:" and a SHA-256 of the address.
PAGE_ENTRY = re.compile(r"pages:[0-9a-f]{64}")

KEEP_PAGES = os.environ.get("BENCH_PAGE_CACHE", "on") != "off"


def serve_pages(keep):
    """Whether stored pages are served (True) or every request misses (False)."""
    global KEEP_PAGES
    KEEP_PAGES = keep


def _is_page(key):
    return not KEEP_PAGES and isinstance(key, str) and PAGE_ENTRY.fullmatch(key)


class _MissesPages:
    @property
    def process_pages(self):
        return KEEP_PAGES and getattr(super(), "process_pages", False)

    def get(self, key, default=None, version=None):
        if _is_page(key):
            return default
        return super().get(key, default, version)

    def get_many(self, keys, version=None):
        return super().get_many([key for key in keys if not _is_page(key)], version)

    def has_key(self, key, version=None):
        return False if _is_page(key) else super().has_key(key, version)


class RedisPages(_MissesPages, RedisCache):
    """The site's RedisCache (newsroom.redis_cache) that can miss every page."""


class DatabasePages(_MissesPages, DatabaseCache):
    """Django's DatabaseCache that can miss every page."""
