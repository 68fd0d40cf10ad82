"""Shared personas and fixtures.

Personas are people as the product knows them: roles are the groups of the roles migration;
more personas arrive with memberships. Stripe is the fake Stripe (tests/fake_stripe): with its
webhooks (`fake_stripe`) or without (`stripe_api`).
"""

import os
import threading
import time
import types
from datetime import timedelta
from importlib import import_module

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.test import Client
from django.urls import clear_url_caches
from django.utils import timezone, translation

from newsroom.page_cache import CACHE_ALIAS, SIGNED_IN_COOKIE
from tests.factories import MembershipFactory, UserFactory
from tests.fake_stripe import FakeStripe
from tests.members.stripe_events import SECRET as STRIPE_WEBHOOK_SECRET
from tests.members.stripe_events import URL as STRIPE_WEBHOOK_PATH

PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"


def _verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def reader(db):
    """A registered reader with a verified email address and no special rights."""
    return _verified(UserFactory(email="reader@example.com"))


def define_roles():
    """The staff groups with their permissions, as the roles migrations define them.

    They come from the migrations (newsroom 0007), as in production. Transactional tests (live
    server, concurrency) empty the database afterwards; the migrations' own definitions put the
    groups back.
    """
    if not Group.objects.filter(name="Editors").exists():
        import_module("newsroom.migrations.0007_roles").define_roles(django_apps)
        import_module("members.migrations.0003_membership_manager_permissions").grant(django_apps)
        import_module("members.migrations.0008_reporting_data").grant(django_apps)


def _in_group(user, name):
    define_roles()
    user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def editor(db):
    """An editor: in the Editors group, so they may publish, schedule and correct stories."""
    return _in_group(_verified(UserFactory(email="editor@example.com", is_staff=True)), "Editors")


@pytest.fixture
def contributor(db):
    """A reporter in the Contributors group: writes and submits stories, never publishes."""
    return _in_group(
        _verified(UserFactory(email="contributor@example.com", is_staff=True)), "Contributors"
    )


@pytest.fixture
def other_contributor(db):
    """Another reporter, whose drafts are not the first contributor's business."""
    return _in_group(
        _verified(UserFactory(email="other.contributor@example.com", is_staff=True)),
        "Contributors",
    )


@pytest.fixture
def membership_manager(db):
    """Looks after members and payments; no editorial rights."""
    return _in_group(
        _verified(UserFactory(email="members.desk@example.com", is_staff=True)),
        "Membership managers",
    )


@pytest.fixture
def member(db):
    """A reader with an active monthly membership (a Stripe subscription, paid up)."""
    user = _verified(UserFactory(email="member@example.com"))
    MembershipFactory(user=user)
    return user


@pytest.fixture
def lapsed_member(db):
    """A former member whose subscription was canceled and ended two months ago."""
    user = _verified(UserFactory(email="lapsed@example.com"))
    ended = timezone.now() - timedelta(days=60)
    MembershipFactory(
        user=user, status="canceled", canceled_at=ended, ended_at=ended, current_period_end=ended
    )
    return user


@pytest.fixture
def superuser(db):
    """The site's administrator: every permission."""
    return _verified(UserFactory(email="admin@example.com", is_staff=True, is_superuser=True))


def _point_the_site_at(fake, settings):
    """The app's Stripe settings for the fake (test mode), and its hosted pages allowed as the
    target of the site's forms, as Stripe's are."""
    overrides = fake.settings_overrides()
    settings.STRIPE_API_BASE = overrides["STRIPE_API_BASE"]
    settings.STRIPE_SECRET_KEY = overrides["STRIPE_SECRET_KEY"]
    settings.STRIPE_WEBHOOK_SECRETS = [STRIPE_WEBHOOK_SECRET]
    settings.STRIPE_LIVEMODE = False
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [*settings.SECURE_CSP["form-action"], fake.url],
    }


@pytest.fixture(scope="session")
def live_server(live_server):
    """pytest-django's live server, answering one request at a time on SQLite: the test
    database is one in memory in SQLite's shared-cache mode, which is not meant for connections
    in several threads at once, and the browser asks several things at once (an autocomplete, a
    picture, the form's post). An editor's save once failed there with sqlite3's "bad parameter
    or other API misuse". On PostgreSQL requests run side by side, as in production."""
    if connection.vendor == "sqlite":
        server = live_server.thread.httpd
        server.set_app(_one_at_a_time(server.get_app()))
    return live_server


def _one_at_a_time(app):
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            response = app(environ, start_response)
            try:
                # The body too: a streamed response reads the database as it is sent.
                return list(response)
            finally:
                if hasattr(response, "close"):
                    response.close()

    return serialised


@pytest.fixture
def stripe_webhook_events():
    """The event types the fake Stripe sends to the site: all of them. A module narrows them,
    as the webhook endpoint configured in Stripe's Dashboard does, by defining a fixture of
    this name."""
    return ["*"]


@pytest.fixture
def fake_stripe(live_server, settings, stripe_webhook_events):
    """The fake Stripe with the site pointed at it, posting signed webhooks to the live
    server's endpoint (with the secret `tests.members.stripe_events` signs with). Deliveries
    caused by API calls follow the response: `fake_stripe.wait_for_webhooks()` before checking
    what the site made of them."""
    with FakeStripe(
        webhook_url=live_server.url + STRIPE_WEBHOOK_PATH,
        webhook_secret=STRIPE_WEBHOOK_SECRET,
        enabled_events=stripe_webhook_events,
    ) as fake:
        _point_the_site_at(fake, settings)
        yield fake
        fake.wait_for_webhooks()


@pytest.fixture
def stripe_api(settings):
    """The fake Stripe with the site pointed at it, sending no webhooks: what the site asks
    Stripe is all there is to check (no live server needed)."""
    with FakeStripe(webhook_url=None, webhook_secret=STRIPE_WEBHOOK_SECRET) as fake:
        _point_the_site_at(fake, settings)
        yield fake


@receiver(setting_changed)
def _addresses_follow_the_default_language(*, setting, **kwargs):
    """The URL resolver keeps its patterns per language, the default language's without a
    /xx/ prefix, for the whole process: after a test that makes Russian the default, a Russian
    story's address would lose its /ru/ in every later test of that process."""
    if setting in {"LANGUAGE_CODE", "LANGUAGES"}:
        clear_url_caches()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language: a request to /ru/… through the test
    client leaves Russian active in the test's thread, and reverse() would follow it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


class SignedInClient(Client):
    """The test client, whose `force_login()` leaves the cookies a browser has after logging
    in on the site: the session and the signed-in marker that the log-in response sets."""

    def _login(self, user, backend=None):
        super()._login(user, backend)
        self.cookies[SIGNED_IN_COOKIE] = "1"


@pytest.fixture
def client():
    return SignedInClient()


@pytest.fixture(autouse=True)
def _empty_page_cache():
    """Each test starts with no cached page."""
    caches[CACHE_ALIAS].clear()
    yield
    caches[CACHE_ALIAS].clear()


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium driven by Playwright (no browser download exists here)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("NEWSROOM_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing but browser tests are required (CI).")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); .ci/run installs it")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test itself in the same thread are safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def rate_limits_on():
    """allauth's default limits, as in production (test settings switch them off)."""
    from django.core.cache import cache
    from django.test import override_settings

    cache.clear()
    with override_settings(ACCOUNT_RATE_LIMITS={}):
        yield
    cache.clear()


def shift_clock(monkeypatch, module):
    """Replace `module.time` (a module that does `import time`) by a clock `offset` seconds
    ahead of the real one; returns it, so that a test moves time by setting `offset`."""
    shifted = types.SimpleNamespace(offset=0)
    shifted.time = lambda: time.time() + shifted.offset
    monkeypatch.setattr(module, "time", shifted)
    return shifted
