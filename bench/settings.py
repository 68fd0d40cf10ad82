"""Settings of the load benchmark (bench/load.py): the production settings, plus what only the
benchmark needs, chosen by environment variables that bench/load.py sets. The product itself has
no benchmark code.

- The URLs gain the ceiling's bare view (bench/urls.py).
- The page cache alias can miss every page (`BENCH_PAGE_CACHE=off`, bench/caches.py): the
  "uncached" runs.
- `BENCH_MIDDLEWARE=security` keeps SecurityMiddleware alone (done in bench/wsgi.py, after the
  apps are loaded): the third ceiling, which shows what the project's middleware stack costs.
- `BENCH_COUNT_RENDERS=redis://…` counts the requests that reach a view (a page-cache miss),
  per address, in that Redis database (bench/renders.py): the origin render counter.
"""

import os

from newsroom.settings import *  # noqa: F403
from newsroom.settings import CACHES, MIDDLEWARE

ROOT_URLCONF = "bench.urls"

CACHES = {
    **CACHES,
    "pages": {
        **CACHES["pages"],
        "BACKEND": (
            "bench.caches.RedisPages"
            if CACHES["pages"]["BACKEND"].endswith("RedisCache")
            else "bench.caches.DatabasePages"
        ),
    },
}

if os.environ.get("BENCH_COUNT_RENDERS"):
    # Last, so that only what reaches the view is counted.
    MIDDLEWARE = [*MIDDLEWARE, "bench.renders.count_renders"]
    CACHES["renders"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["BENCH_COUNT_RENDERS"],
    }
