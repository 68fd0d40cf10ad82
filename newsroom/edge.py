"""Purging the caches in front of the site: nginx (deploy/nginx/newsroom.conf) or a CDN.

The app's own page cache is purged by moving a site-wide generation (newsroom.page_cache). A
shared cache in front keeps a page for its `s-maxage`, so without a purge an unpublished story
would stay there that long. Each time the page cache is purged after a commit, every address
in EDGE_PURGE_URLS therefore gets a POST with EDGE_PURGE_SECRET in the EDGE_PURGE_HEADER
header and the JSON body `{"purge_everything": true}`: the shipped nginx configuration starts a
new generation of its own; CDN purge-all APIs read the same request (docs/deployment.md).

A purge that fails (the edge is down or unreachable, or refuses the secret) is logged and tried
again later by a task on the db_worker queue: saving a story never fails because of an edge,
and waits at most `TIMEOUT` seconds for one.
"""

import json
import logging
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

logger = logging.getLogger(__name__)

#: Seconds to wait for each edge (they are asked side by side).
TIMEOUT = 2
#: When to try a failed edge again, in seconds after each failure; then give up (its copies
#: expire within `s-maxage` anyway).
RETRY_DELAYS = (10, 60, 300, 900)
BODY = json.dumps({"purge_everything": True}).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A purge endpoint that redirects is misconfigured: a POST turned into a GET elsewhere
    # would look like a success.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def purge_after_commit(using=None):
    """Purge every edge once the current transaction commits (at once outside one), once per
    transaction however many times it is asked. Called after the page cache's own after-commit
    purge has been queued, so an edge never fetches a page the app still serves from before."""
    if not settings.EDGE_PURGE_URLS:
        return
    connection = transaction.get_connection(using)
    # One save may change many rows (a story, its authors, tags and regions), each asking: one
    # purge is queued until it runs. A rollback drops it from the queue (Django's list of
    # (savepoint ids, callback, robust)), and the next change queues its own.
    queued = getattr(connection, "newsroom_edge_purge", None)
    if connection.in_atomic_block and any(
        callback is queued for _, callback, _ in connection.run_on_commit
    ):
        return

    def purge_once_committed():
        connection.newsroom_edge_purge = None
        purge()

    connection.newsroom_edge_purge = purge_once_committed
    transaction.on_commit(purge_once_committed, using=using, robust=True)


def purge():
    """Ask every edge in EDGE_PURGE_URLS to drop every page now; each one that fails is tried
    again by a task (`purge_edge`). Returns the addresses that failed."""
    urls = settings.EDGE_PURGE_URLS
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=min(len(urls), 8)) as pool:
        problems = list(pool.map(post, urls))
    failed = []
    for url, problem in zip(urls, problems):
        if problem:
            failed.append(url)
            _try_again(url, attempt=1, problem=problem)
    return failed


def post(url):
    """POST the purge to one edge. Returns None when it answered 2xx, else what went wrong."""
    if not settings.EDGE_PURGE_SECRET:
        return "EDGE_PURGE_SECRET is not set"
    request = urllib.request.Request(
        url,
        data=BODY,
        method="POST",
        headers={
            "Content-Type": "application/json",
            settings.EDGE_PURGE_HEADER: settings.EDGE_PURGE_SECRET,
        },
    )
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as error:
        return f"it answered {error.code} {error.reason}"
    except (OSError, ValueError) as error:  # refused, unreachable, timed out, a bad URL
        return str(getattr(error, "reason", None) or error)
    return None


def _try_again(url, attempt, problem):
    if attempt > len(RETRY_DELAYS):
        logger.error(
            "The edge cache at %s could not be purged (%s); giving up. Pages it holds expire "
            "within PAGE_CACHE_SECONDS; to drop them now, restart it or purge it by hand.",
            url,
            problem,
        )
        return False
    delay = RETRY_DELAYS[attempt - 1]
    logger.warning(
        "The edge cache at %s could not be purged (%s); trying again in %s s.",
        url,
        problem,
        delay,
    )
    queued = purge_edge
    if queued.get_backend().supports_defer:
        queued = queued.using(run_after=timezone.now() + timedelta(seconds=delay))
    queued.enqueue(url, attempt)
    return True


@task()
def purge_edge(url, attempt):
    """A purge of one edge that failed `attempt` times: try again, and again later if it
    fails once more. Fails (in the task results) when it gives up."""
    problem = post(url)
    if problem is None:
        logger.info("The edge cache at %s was purged (attempt %s).", url, attempt + 1)
        return True
    if not _try_again(url, attempt + 1, problem):
        raise RuntimeError(f"The edge cache at {url} could not be purged: {problem}")
    return False
