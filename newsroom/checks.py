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
