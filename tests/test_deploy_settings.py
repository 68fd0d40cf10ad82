"""The production settings: what an operator sets, and what happens when they forget."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage_environment():
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "NEWSROOM_", "PYTEST_"))
    }
    # Empty values shadow anything a developer's local .env would add.
    return clean | {"DJANGO_DEBUG": "", "DJANGO_SECRET_KEY": "", "DJANGO_ALLOWED_HOSTS": ""}


def manage(*args, **env):
    clean = manage_environment() | env
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(48)[:64],
    "DJANGO_ALLOWED_HOSTS": "news.example",
}


def test_check_deploy_passes_with_the_three_production_values_and_a_mail_server():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
        EMAIL_URL="smtp+tls://newsroom:secret@mail.example:587",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_site_starts_with_only_the_three_values_and_says_that_email_is_missing():
    """Security sweep, finding 3: said by `check --deploy` and at start-up under gunicorn."""
    result = manage("check", "--deploy", **PRODUCTION, EMAIL_URL="")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(newsroom.W001) Email is not configured" in result.stderr
    assert "Set EMAIL_URL" in result.stderr

    assert manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION).returncode != 0

    started = subprocess.run(
        [sys.executable, "-c", "import newsroom.wsgi"],
        cwd=ROOT,
        env={**manage_environment(), **PRODUCTION, "EMAIL_URL": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr
    assert "Email is not configured" in started.stdout + started.stderr


@pytest.mark.parametrize("key", ["", "short", "django-insecure-" + "x" * 60, "a" * 64])
def test_refuses_to_start_without_a_real_secret_key(key):
    result = manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY=key)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("hosts", ["*", "news.example,*"])
def test_refuses_to_start_when_any_host_is_allowed(hosts):
    """Security check 23: `DJANGO_ALLOWED_HOSTS=*` without debug stops start-up, saying why."""
    result = manage("check", **(PRODUCTION | {"DJANGO_ALLOWED_HOSTS": hosts}))
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "DJANGO_ALLOWED_HOSTS must name the site's hosts" in result.stderr


def test_debug_mode_allows_any_host_for_development():
    result = manage("check", DJANGO_DEBUG="1", DJANGO_ALLOWED_HOSTS="*")
    assert result.returncode == 0, result.stderr


def test_debug_mode_starts_without_a_secret_key():
    result = manage("check", DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_bad_number_in_environment_is_explained():
    result = manage("check", DJANGO_DEBUG="1", DJANGO_HSTS_SECONDS="a year")
    assert result.returncode != 0
    assert "DJANGO_HSTS_SECONDS must be a whole number" in result.stderr


def test_bad_email_url_is_explained():
    result = manage("check", DJANGO_DEBUG="1", EMAIL_URL="mailserver")
    assert result.returncode != 0
    assert "EMAIL_URL must look like" in result.stderr


def test_an_empty_database_url_means_sqlite_and_a_bad_one_is_explained(tmp_path):
    empty = manage(
        "shell",
        "-c",
        "from django.db import connection; print(connection.vendor)",
        DJANGO_DEBUG="1",
        NEWSROOM_VAR_DIR=str(tmp_path),
        DATABASE_URL="",
    )
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.split()[-1] == "sqlite"
    bad = manage("check", DJANGO_DEBUG="1", DATABASE_URL="mysqlx://db.example/newsroom")
    assert bad.returncode != 0
    assert "DATABASE_URL must look like postgres://" in bad.stderr


def test_on_postgresql_a_request_gives_up_on_a_database_that_is_down_within_a_second():
    """Check 14/67: a request waits at most 0.5 s for a pooled connection (0.1 s once a wait
    has run out: newsroom.postgresql), the pool gives up on a new connection after 3 s and
    retries for 2 s, and a statement is cancelled after 30 s; so the webhook and the pages
    answer 503 rather than hang while the database is away. tests/deploy/test_outage.py
    proves it against a real outage."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from newsroom import settings; d = settings.DATABASES['default'];"
            "o = d['OPTIONS']; p = o['pool'];"
            "print(d['ENGINE'], o['connect_timeout'], p['timeout'], p['reconnect_timeout'],"
            " repr(o['options']))",
        ],
        cwd=ROOT,
        env=manage_environment()
        | PRODUCTION
        | {"DATABASE_URL": "postgres://newsroom@db.example:5432/newsroom"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == [
        "newsroom.postgresql",
        "3",
        "0.5",
        "2",
        "'-c",
        "statement_timeout=30000'",
    ], result.stderr


def test_on_sqlite_web_requests_wait_3_s_for_a_write_lock_commands_and_the_worker_20_s(tmp_path):
    """Check 14: a web process (newsroom.wsgi) gives up on a locked SQLite file after 3 s, so
    the webhook answers a 5xx within 5 s; the task worker and commands, sharing the file, wait
    20 s behind a long write."""
    timeouts = {}
    for name, code in {
        "command": "from django.conf import settings",
        "web": "import newsroom.wsgi; from django.conf import settings",
        # An empty value, as an env file with `SQLITE_TIMEOUT=` gives, is no value.
        "web, empty": "os.environ['SQLITE_TIMEOUT'] = ''; import newsroom.asgi;"
        " from django.conf import settings",
    }.items():
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'newsroom.settings';"
                f"{code}; print(settings.DATABASES['default']['OPTIONS']['timeout'])",
            ],
            cwd=ROOT,
            env={
                key: value
                for key, value in manage_environment().items()
                if key not in ("DATABASE_URL", "SQLITE_TIMEOUT")
            }
            | PRODUCTION
            | {"EMAIL_URL": "console://", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        timeouts[name] = float(result.stdout.split()[-1])
    assert timeouts == {"command": 20, "web": 3, "web, empty": 3}
