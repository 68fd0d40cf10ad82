"""The load benchmark's archive and its page cache switch (bench/seed.py, bench/caches.py).

Cheap: 40 stories with tiny pictures; no load is run here (bench/load.py is not a test).
"""

import io

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image as PillowImage

from bench import caches, seed
from members.models import Membership
from newsroom.models import Article, Image
from newsroom.page_cache import pages

pytestmark = pytest.mark.django_db


class LocMemPages(caches._MissesPages, LocMemCache):
    """The benchmark's switch on the test settings' memory cache."""


def tiny_picture(k):
    data = io.BytesIO()
    PillowImage.new("RGB", (48, 32), (k * 8 % 256, 90, 120)).save(data, "JPEG")
    return data.getvalue(), f"Picture {k}", "town"


@pytest.fixture
def page_switch():
    """The switch as it was, afterwards."""
    before = caches.KEEP_PAGES
    yield caches.serve_pages
    caches.serve_pages(before)


@pytest.fixture
def archive(monkeypatch, settings):
    # The demo draws 30 large pictures; tiny ones cost the same to the pages.
    monkeypatch.setattr("newsroom.management.commands.demo.draw_picture", tiny_picture)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    seeding = seed.seed_stories(40)
    pool = seed.share_pictures()
    return seeding, pool


def test_seeding_writes_the_stories_asked_for_and_their_russian_editions(archive):
    seeding, pool = archive
    assert Article.objects.filter(language="en").count() == 40
    assert seeding.added == Article.objects.count() >= 40
    assert seeding.rate > 0
    heroes = set(Article.objects.exclude(hero_image=None).values_list("hero_image", flat=True))
    assert heroes and heroes <= set(pool) and len(pool) == seed.SHARED_PICTURES
    # A second run finds the archive there and adds nothing.
    assert seed.seed_stories(40).added == 0


def test_the_benchmarks_members_have_subscriptions_the_webhook_can_name(archive):
    subscriptions = seed.seed_members(30)
    assert len(subscriptions) == 30
    assert (
        Membership.objects.filter(
            stripe_subscription_id__in=[sub for sub, _customer in subscriptions],
            status=Membership.Status.ACTIVE,
            price__stripe_price_id=seed.BENCH_PRICE_ID,
        ).count()
        == 30
    )
    assert len(seed.seed_members(30)) == 30  # Nothing added twice.
    assert Membership.objects.filter(stripe_subscription_id__startswith="sub_bench_").count() == 30


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_search_vectors_are_filled_as_a_save_fills_them(archive):
    seed.index_for_search()
    assert not Article.objects.filter(search_document=None).exists()


def test_every_target_answers_uncached_with_a_sane_number_of_queries(
    archive, client, settings, page_switch
):
    settings.CACHES = {**settings.CACHES, "pages": {"BACKEND": f"{__name__}.LocMemPages"}}
    Image.objects.filter(pk__in=archive[1]).update(renditions=["w320", "card320"])
    targets = seed.choose_targets()
    assert targets.article.visibility == Article.Visibility.PUBLIC
    assert "data-image-id" in Article.objects.get(pk=targets.article.pk).body
    assert targets.members_article.visibility == Article.Visibility.MEMBERS
    assert set(targets.paths) >= {"home", "article", "members-only article", "search"}
    page_switch(False)
    for name, path in targets.paths.items():
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, name
        # Rendered afresh each time (the page cache misses: the view is reached), at a cost
        # that does not run away; the exact budgets are the query-count tests'
        # (tests/newsroom/test_query_counts.py).
        assert response.wsgi_request.resolver_match is not None, name
        assert len(queries) <= 20, (name, len(queries))


def test_the_page_cache_switch_misses_pages_only_while_off(archive, client, settings, page_switch):
    settings.CACHES = {**settings.CACHES, "pages": {"BACKEND": f"{__name__}.LocMemPages"}}
    pages().clear()
    page_switch(True)
    client.get("/")
    with CaptureQueriesContext(connection) as served:
        assert client.get("/").status_code == 200
    page_switch(False)
    with CaptureQueriesContext(connection) as missed:
        assert client.get("/").status_code == 200
    assert len(served) == 0
    assert len(missed) > 0
