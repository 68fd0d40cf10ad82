"""Fixtures of the browser tests: the roles, and a browser logged in as someone."""

import importlib

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from newsroom.page_cache import SIGNED_IN_COOKIE
from tests.conftest import SignedInClient as Client


@pytest.fixture
def roles(transactional_db):
    """The groups of the roles migration, put back if an earlier transactional test's flush
    emptied the tables (serialized_rollback does not survive Playwright's event loop)."""
    migration = importlib.import_module("newsroom.migrations.0007_roles")
    if not Group.objects.filter(name=migration.EDITORS).exists():
        state = MigrationLoader(connection).project_state(("newsroom", "0007_roles"))
        migration.create_roles(state.apps, None)


def logged_in_context(chromium, live_server, user, **options):
    """A browser context whose session is `user`'s (`options` as for `new_context`)."""
    client = Client()
    client.force_login(user)
    context = chromium.new_context(**options)
    context.add_cookies(
        [
            {"name": name, "value": client.cookies[name].value, "url": live_server.url}
            for name in (settings.SESSION_COOKIE_NAME, SIGNED_IN_COOKIE)
        ]
    )
    return context


@pytest.fixture
def editor_page(live_server, chromium, roles, request):
    """A browser whose session is the editor's, and the console errors it reports."""
    context = logged_in_context(chromium, live_server, request.getfixturevalue("editor"))
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.errors = []

    def console(message):
        # The admin has no favicon; the browser asks for one anyway.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            page.errors.append(f"{message.text} ({message.location['url']})")

    page.on("console", console)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()
