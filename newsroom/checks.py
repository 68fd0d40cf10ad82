"""What the operator left out, said where they will see it: `manage.py check` (and `check
--deploy`, `migrate`, `runserver`) and, under gunicorn, the log at start-up (newsroom.wsgi)."""

import logging

from django.conf import settings
from django.core import checks

from .mail import UNCONFIGURED

logger = logging.getLogger("newsroom")


def email_is_configured():
    """False in production until EMAIL_URL is set (newsroom.mail): nothing can be mailed."""
    return settings.MAILERS["default"]["BACKEND"] != UNCONFIGURED


@checks.register("newsroom")
def check_email(app_configs=None, **kwargs):
    if email_is_configured():
        return []
    return [
        checks.Warning(
            "Email is not configured: readers cannot sign up or reset a password (sign-up "
            "answers that it is unavailable), and member emails fail.",
            hint="Set EMAIL_URL, e.g. smtp+tls://user:password@mail.example.org:587 "
            "(docs/configuration.md).",
            id="newsroom.W001",
        )
    ]


def warn_at_startup():
    """Log the warnings of the checks above (gunicorn runs no system checks of its own)."""
    for message in checks.run_checks(tags=["newsroom"]):
        logger.warning("%s %s", message.msg, message.hint or "")


@checks.register("newsroom")
def check_edge_purge(app_configs=None, **kwargs):
    if not settings.EDGE_PURGE_URLS or settings.EDGE_PURGE_SECRET:
        return []
    return [
        checks.Warning(
            "EDGE_PURGE_URLS is set but EDGE_PURGE_SECRET is empty: the caches in front of the "
            "site refuse to be purged, and keep pages (an unpublished story too) for up to "
            "PAGE_CACHE_SECONDS.",
            hint="Set EDGE_PURGE_SECRET to the edge's secret ($newsroom_purge_secret in "
            "deploy/nginx/newsroom.conf); docs/deployment.md#the-edge-nginx.",
            id="newsroom.W002",
        )
    ]
