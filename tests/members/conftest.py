"""Fixtures for the membership tests: staff alert addresses and the production task queue (the
fake Stripe fixtures, `fake_stripe` and `stripe_api`, are in tests/conftest.py)."""

import signal

import pytest
from django.core.management import call_command

STAFF = ["members.desk@example.com", "editor.in.chief@example.com"]


@pytest.fixture
def staff_alerts(settings):
    """Two members of staff receive membership alerts (MEMBERSHIP_ALERTS_EMAIL)."""
    settings.MEMBERSHIP_ALERTS_EMAIL = list(STAFF)
    return STAFF


@pytest.fixture
def database_tasks(settings):
    """Tasks go to the database queue, as in production; call the fixture's value to run what
    is queued with `manage.py db_worker --batch` (what a worker process would do)."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }

    def run_queued_tasks():
        # The worker installs its own signal handlers for a graceful stop; give pytest its own
        # back afterwards.
        signals = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)
        saved = {sig: signal.getsignal(sig) for sig in signals}
        try:
            call_command("db_worker", batch=True, interval=0, startup_delay=False, verbosity=0)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)

    return run_queued_tasks
