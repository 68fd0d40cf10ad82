"""Shared personas and fixtures.

Personas are people as the product knows them; more arrive with roles and memberships.
"""

import os
import shutil

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings

from tests.factories import UserFactory

PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"


def _verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def reader(db):
    """A registered reader with a verified email address and no special rights."""
    return _verified(UserFactory(email="reader@example.com"))


@pytest.fixture
def editor(db):
    """A member of staff who runs the newsroom's admin."""
    return _verified(UserFactory(email="editor@example.com", is_staff=True, is_superuser=True))


@pytest.fixture(scope="session", autouse=True)
def _remove_test_media():
    yield
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)


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
