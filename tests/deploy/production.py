"""App servers with the production settings, in processes of their own, on this test run's data.

`environment()` is what such a server gets: debug off, a fresh secret key, the static files a
deployment collects (`collect_static()`), and the test run's database as `SharedDatabase`
offers it. Requests reach them as a TLS proxy in front would send them (`browser()`).
"""

import secrets
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.cache.backends.db import DatabaseCache
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from tests.conftest import PASSWORD
from tests.deploy.http import Browser
from tests.deploy.servers import ROOT
from tests.html import form_data, parse
from tests.test_deploy_settings import manage_environment

#: The production caches without REDIS_URL (newsroom/settings.py): the tables `migrate` makes.
DATABASE_CACHE_TABLES = {"default": "newsroom_cache", "pages": "newsroom_page_cache"}


class SharedDatabase:
    """This test run's database as app servers in other processes reach it (`url`).

    On PostgreSQL it is the test database itself. SQLite's test database lives in this
    process's memory: the servers get a file, and `publish()` copies the test database into it,
    replacing what they wrote there; call it once the data a test needs is in place. Either way
    the production settings' database cache tables are made (test settings cache in memory).
    """

    def __init__(self, directory):
        settings = connection.settings_dict
        with override_settings(
            CACHES={
                alias: {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": table}
                for alias, table in DATABASE_CACHE_TABLES.items()
            }
        ):
            call_command("createcachetable", verbosity=0)
        if connection.vendor == "postgresql":
            user = settings["USER"] or ""
            password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
            host = settings["HOST"] or "127.0.0.1"
            port = settings["PORT"] or 5432
            self.file = None
            self.url = f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"
        else:
            self.file = Path(directory) / "site.sqlite3"
            self.url = f"sqlite:///{self.file}"
        self.clear_caches()
        self.publish()

    def clear_caches(self):
        """Empties the database cache tables (PostgreSQL keeps them from test to test)."""
        for table in DATABASE_CACHE_TABLES.values():
            DatabaseCache(table, {}).clear()

    def publish(self):
        if self.file is None:
            return
        connection.ensure_connection()
        with closing(sqlite3.connect(self.file)) as target:
            connection.connection.backup(target)
            target.execute("PRAGMA journal_mode=WAL")


def environment(var_dir, database_url, **settings):
    """The production environment of an app server on the database at `database_url` (a
    SharedDatabase's `url`, or a throwaway cluster's), with `var_dir` (see `collect_static()`)
    as its var directory; `settings` add or override variables."""
    return (
        {
            key: value
            for key, value in manage_environment().items()
            if not key.startswith(("AWS_", "EDGE_", "MEDIA_", "REDIS_", "DATABASE_", "SQLITE_"))
        }
        | {
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            # The same zone as the tests: an article's address carries its month there.
            "DJANGO_TIME_ZONE": "Asia/Tbilisi",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": database_url,
            "DATABASE_POOL_MAX_SIZE": "4",
            "NEWSROOM_VAR_DIR": str(var_dir),
            "EMAIL_URL": "console://",
            "EDGE_PURGE_URLS": "",
            # Staff would have to set up an authenticator app before the admin opens.
            "STAFF_REQUIRE_MFA": "0",
        }
        | settings
    )


def collect_static(var_dir):
    """Collects the static files into `var_dir` with the production storage's manifest of
    hashed names, as a deployment does before its servers start (they read the manifest once)."""
    env = manage_environment() | {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "NEWSROOM_VAR_DIR": str(var_dir),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return var_dir


def browser(server, **headers):
    """A reader's browser talking to `server` through a pretend TLS proxy."""
    origin = server.url.replace("http://", "https://")
    return Browser(server.url, headers={"X-Forwarded-Proto": "https", "Origin": origin, **headers})


def post_form(page):
    """What a browser sends from the page's first POST form (the log-in form, the log-out
    button), leaving out the search form every page has."""
    form = next(form for form in parse(page).find_all("form") if form.get("method") == "post")
    return form_data(str(form))


def server_password(user):
    """Gives `user` the tests' password hashed as the servers check it: the production hashers,
    not the tests' fast one (few iterations: a failed log-in costs little, and a successful one
    upgrades the hash, as in production)."""
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
    return user
