"""Email configuration from EMAIL_URL, and what happens when a production site has none."""

from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend

SMTP = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE = "django.core.mail.backends.console.EmailBackend"
UNCONFIGURED = "newsroom.mail.UnconfiguredEmailBackend"


def mailer_from_url(url):
    """A MAILERS entry from an EMAIL_URL such as `smtp+tls://user:password@host:587`.

    Schemes: `smtp` (plain), `smtp+tls` (STARTTLS), `smtps` (TLS from the start), `console`.
    A `?timeout=` query sets the SMTP timeout in seconds.
    """
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"BACKEND": CONSOLE}
    if parts.scheme not in {"smtp", "smtp+tls", "smtps"} or not parts.hostname:
        raise ValueError(
            "EMAIL_URL must look like smtp+tls://user:password@mail.example.org:587 "
            "(schemes: smtp, smtp+tls, smtps, console)"
        )
    query = parse_qs(parts.query)
    options = {
        "host": parts.hostname,
        "port": parts.port or {"smtp": 25, "smtp+tls": 587, "smtps": 465}[parts.scheme],
        "use_tls": parts.scheme == "smtp+tls",
        "use_ssl": parts.scheme == "smtps",
        "timeout": int(query.get("timeout", ["20"])[0]),
    }
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    return {"BACKEND": SMTP, "OPTIONS": options}


class EmailNotConfigured(ImproperlyConfigured):
    """Raised on sending while EMAIL_URL is unset (production)."""


class UnconfiguredEmailBackend(BaseEmailBackend):
    """Used in production until EMAIL_URL is set: sending fails with an explanation."""

    def send_messages(self, email_messages):
        raise EmailNotConfigured(
            "Email is not configured: set EMAIL_URL (e.g. smtp+tls://user:password@host:587)."
        )
