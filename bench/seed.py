"""The load benchmark's archive (bench/load.py): stories, pictures, members, and the pages to
measure.

Stories come from the demo newsroom (`manage.py demo`, newsroom.demo), which writes them with
`bulk_create` in batches: sections, regions, tags, bylines of one to three authors, hero images,
members-only and early-access stories, Russian editions and corrections. The hero images are
narrowed to six shared pictures of the demo's pool, whose renditions are built once. The story
the benchmark opens is then given an inline figure and saved the ordinary way.
"""

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.core.management import call_command
from django.db import close_old_connections, connection
from django.db.models import Count
from django.db.models.functions import Mod
from django.utils import timezone
from tqdm import tqdm

from members.models import Customer, Membership, Plan, Price, User
from newsroom.models import Article, Filing, Image, Tag
from newsroom.pagination import PER_PAGE

# The deep listing page the issue names; smaller archives use their deepest page.
DEEP_PAGE = 900
MEMBER_BATCH = 1000
# Pictures the stories' hero images and figures share (share_pictures).
SHARED_PICTURES = 6
# What webhook events refer to (bench/webhook.py).
BENCH_PRICE_ID = "price_bench_month_eur"
SUBSCRIPTION_PREFIX = "sub_bench_"
CUSTOMER_PREFIX = "cus_bench_"


@dataclass
class Seeding:
    added: int  # stories written now, Russian editions included
    seconds: float
    total: int  # stories in the archive

    @property
    def rate(self):
        return self.added / self.seconds if self.seconds else 0.0


def seed_stories(articles, seed=2026):
    """Add English stories (with the demo's share of Russian editions) until the archive has
    `articles` English ones. The taxonomy, pictures, pages, plans and fundraiser blocks come
    first and are not timed; the stories are, for the seeding rate."""
    existing = Article.objects.filter(language="en").count()
    if existing and existing >= articles:
        print(f"The archive has {existing:,} English stories already; nothing to seed.")
        return Seeding(0, 0.0, Article.objects.count())
    # Taxonomy, authors, the picture pool, pages, plans, fundraiser blocks, membership history.
    call_command("demo", articles=0, seed=seed, verbosity=1)
    before = Article.objects.count()
    start = time.perf_counter()
    call_command("demo", articles=articles - existing, seed=seed, verbosity=1)
    seconds = time.perf_counter() - start
    total = Article.objects.count()
    return Seeding(total - before, seconds, total)


def index_for_search():
    """Fill the search vectors that `bulk_create` left empty, as `Article.save()` would; the
    demo does it for what it wrote, this catches anything else. Returns seconds."""
    start = time.perf_counter()
    todo = Article.objects.filter(search_document__isnull=True)
    with tqdm(total=todo.count(), desc="Search index", unit=" stories") as bar:
        todo.index_for_search(progress=bar.update)
    return time.perf_counter() - start


def analyze():
    """Statistics for the planner, as autovacuum would have them on a real archive."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _build_one(pk):
    try:
        Image.objects.get(pk=pk).build_renditions()
    finally:
        close_old_connections()
        connection.close()


def share_pictures(count=SHARED_PICTURES):
    """Point every hero image at one of the first `count` pictures of the pool, so that only
    those need renditions (building all 30 takes minutes). Pages cost the same: each card and
    hero computes its picture markup whichever file it shows."""
    pool = list(Image.objects.order_by("pk").values_list("pk", flat=True)[:count])
    if not pool:
        return []
    heroes = Article.objects.filter(hero_image__isnull=False).exclude(hero_image__in=pool)
    for slot, pk in enumerate(pool):
        heroes.annotate(slot=Mod("id", len(pool))).filter(slot=slot).update(hero_image=pk)
    return pool


def build_renditions(pictures):
    """Build the renditions that `pictures` (ids) lack, in threads. Returns (pictures built,
    seconds)."""
    start = time.perf_counter()
    missing = [
        image.pk for image in Image.objects.filter(pk__in=pictures) if image.missing_renditions
    ]
    with (
        ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool,
        tqdm(total=len(missing), desc="Renditions", unit=" pictures", disable=not missing) as bar,
    ):
        for _ in pool.map(_build_one, missing):
            bar.update()
    return len(missing), time.perf_counter() - start


def seed_members(count):
    """Members with active monthly subscriptions (`sub_bench_<n>`, customer `cus_bench_<n>`)
    to a plan price Stripe knows as `price_bench_month_eur`, for the webhook's events. Returns
    [(subscription id, customer id)]."""
    plan, _ = Plan.objects.get_or_create(
        slug="bench", defaults={"name": "Bench supporter", "active": False}
    )
    price = Price.objects.filter(stripe_price_id=BENCH_PRICE_ID).first()
    if price is None:
        price = Price.objects.create(
            plan=plan, amount=500, currency="eur", interval="month", stripe_price_id=BENCH_PRICE_ID
        )
    done = Membership.objects.filter(stripe_subscription_id__startswith=SUBSCRIPTION_PREFIX).count()
    now = timezone.now()
    for first in range(done, count, MEMBER_BATCH):
        numbers = range(first, min(first + MEMBER_BATCH, count))
        users = User.objects.bulk_create(
            User(
                email=f"member{n}@bench.example",
                first_name="Bench",
                last_name=f"Member {n}",
                password="!",
            )
            for n in numbers
        )
        Customer.objects.bulk_create(
            Customer(user=user, stripe_customer_id=f"{CUSTOMER_PREFIX}{n}")
            for n, user in zip(numbers, users, strict=True)
        )
        Membership.objects.bulk_create(
            Membership(
                user=user,
                plan=plan,
                price=price,
                kind=Membership.Kind.SUBSCRIPTION,
                status=Membership.Status.ACTIVE,
                stripe_subscription_id=f"{SUBSCRIPTION_PREFIX}{n}",
                stripe_customer_id=f"{CUSTOMER_PREFIX}{n}",
                started_at=now - timedelta(days=60),
                current_period_end=now + timedelta(days=20),
                stripe_updated=now - timedelta(days=10),
            )
            for n, user in zip(numbers, users, strict=True)
        )
    return [(f"{SUBSCRIPTION_PREFIX}{n}", f"{CUSTOMER_PREFIX}{n}") for n in range(count)]


def signed_in_members(count, token):
    """`count` members, each with a complimentary membership, a sentinel name of their own
    (`sentinel-<token>-<n>`: their display name and the first part of their address, which
    their account page shows until they confirm it) and a session already made, as if they
    had logged in. Returns [(sentinel, session key)]."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore
    now = timezone.now()
    sentinels = [sentinel(token, n) for n in range(count)]
    users = User.objects.bulk_create(
        User(email=f"{name}@bench.example", first_name="Sentinel", last_name=name, password="!")
        for name in sentinels
    )
    Membership.objects.bulk_create(
        Membership(
            user=user,
            kind=Membership.Kind.COMPLIMENTARY,
            started_at=now - timedelta(days=30),
            complimentary_until=now + timedelta(days=30),
        )
        for user in users
    )
    members = []
    for name, user in zip(sentinels, users, strict=True):
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        members.append((name, session.session_key))
    return members


def sentinel(token, n):
    return f"sentinel-{token}-{n:03d}"


def editor(email, password):
    """A staff member in the Editors group (who may publish) with a confirmed address, who logs
    in with `password`."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.models import Group

    user = User.objects.create_user(email, password, is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def breaking_drafts(count, token):
    """`count` draft stories ready to publish, the newest story on the home page once
    published. Returns them."""
    section = Article.objects.published().filter(language="en").first().section
    return [
        Article.objects.create(
            headline=f"Breaking {token} {n}: the dam above the valley gives way",
            slug=f"breaking-{token}-{n}",
            standfirst="Villages below the reservoir are being evacuated.",
            body="<p>The first reports came from the villages below the dam.</p>",
            language="en",
            section=section,
            status=Article.Status.DRAFT,
        )
        for n in range(count)
    ]


# The pages to measure ---------------------------------------------------------------------------


@dataclass
class Targets:
    """What the benchmark opens: name → path, and the stories behind the article pages."""

    paths: dict
    article: Article
    members_article: Article
    deep_page: int
    deep_of: int


def _story(**filters):
    """A recent published English story with a hero image, preferring one with several
    authors, tags and another edition (the fullest page), relaxing those wishes in turn."""
    recent = (
        Article.objects.published()
        .filter(language="en", hero_image__isnull=False, home_placement="", **filters)
        .order_by("-published_at", "-id")
    )
    candidates = (
        Article.objects.filter(pk__in=list(recent.values_list("pk", flat=True)[:300]))
        .annotate(
            authors_count=Count("bylines", distinct=True),
            tags_count=Count("tags", distinct=True),
            editions_count=Count("translations", distinct=True),
        )
        .order_by("-published_at", "-id")
    )
    for wishes in (
        {"authors_count__gte": 2, "tags_count__gte": 1, "editions_count__gte": 1},
        {"authors_count__gte": 2, "tags_count__gte": 1},
        {},
    ):
        story = candidates.filter(**wishes).first()
        if story is not None:
            return story
    raise SystemExit(f"The archive has no published story with a hero image ({filters}).")


def _with_figure(story):
    """Give the story an inline figure after its first paragraph, saved as an editor would
    (Article.save(): the body cleaned, the search vectors and whatever is rendered at save)."""
    if "data-image-id" in story.body:
        return story
    image = (
        Image.objects.exclude(pk=story.hero_image_id).exclude(renditions=[]).order_by("pk").first()
    )
    if image is None:
        return story
    figure = (
        f'<figure data-image-id="{image.pk}"><figcaption>The valley seen from the pass.'
        "</figcaption></figure>"
    )
    head, separator, tail = story.body.partition("</p>")
    story.body = f"{head}{separator}{figure}{tail}" if separator else f"{story.body}{figure}"
    story.save()
    return story


def deepest_tag_page():
    """(tag slug, page, address) of the deepest page (page DEEP_PAGE at most) of the tag with
    the most English stories: its ids come from the filings (newsroom.models.listings)."""
    busiest = (
        Filing.objects.filter(kind=Filing.Kind.TAG, language="en", published_at__lte=timezone.now())
        .values("subject_id")
        .annotate(stories=Count("id"))
        .order_by("-stories")
        .first()
    )
    if busiest is None:
        return None
    slug = Tag.objects.get(pk=busiest["subject_id"]).slug
    page = min(DEEP_PAGE, max(1, math.ceil(busiest["stories"] / PER_PAGE)))
    return slug, page, f"/tag/{slug}/?page={page}"


def choose_targets():
    """The pages the issue names, on this archive."""
    article = _with_figure(_story(visibility=Article.Visibility.PUBLIC))
    members_article = _story(visibility=Article.Visibility.MEMBERS)
    listed = Article.objects.published().filter(language="en", home_placement="").count()
    deepest = max(1, math.ceil(listed / PER_PAGE))
    deep_page = min(DEEP_PAGE, deepest)
    region = article.regions.order_by("name").first()
    term = region.name if region else article.section.name
    paths = {
        "home": "/",
        "section": article.section.get_absolute_url(),
        f"home page {deep_page}": f"/?page={deep_page}",
        "article": article.get_absolute_url(),
        "members-only article": members_article.get_absolute_url(),
        "RSS feed": "/feed/",
        "search": f"/search/?q={term}",
        "sitemap index": "/sitemap.xml",
        "sitemap of stories": "/sitemap-articles.xml",
    }
    return Targets(paths, article, members_article, deep_page, deepest)
