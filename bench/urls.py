"""The site's URLs and the benchmark's bare view (bench/settings.py)."""

import os
from functools import cache

from django.http import HttpResponse
from django.urls import path

from newsroom.urls import urlpatterns as site_urlpatterns


@cache
def _saved_page():
    return open(os.environ["BENCH_BARE_HTML"], "rb").read()


def bare(request):
    """The ceiling: the saved article page's bytes, with no query and no template."""
    return HttpResponse(_saved_page(), content_type="text/html; charset=utf-8")


urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *site_urlpatterns]
