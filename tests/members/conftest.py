"""Fixtures for the membership tests: staff alert addresses, the production task queue, and the
fake Stripe sending its webhooks to the live server."""

import signal

import pytest
from django.core.management import call_command

from tests.fake_stripe import FakeStripe
from tests.members.stripe_events import SECRET, URL

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


@pytest.fixture
def fake_stripe(live_server, settings):
    """The fake Stripe, posting signed webhooks to the live server's endpoint (test mode)."""
    with FakeStripe(webhook_url=live_server.url + URL, webhook_secret=SECRET) as fake:
        settings.STRIPE_WEBHOOK_SECRETS = [SECRET]
        settings.STRIPE_LIVEMODE = False
        settings.STRIPE_SECRET_KEY = "sk_test_fake"
        settings.STRIPE_API_BASE = fake.url
        yield fake
