"""Emails to members and staff about memberships and payments.

Webhook handlers never send mail themselves: they enqueue a task (members.tasks) inside the
transaction that changes the data; the task re-reads its rows and calls one of the functions
here, which render `templates/members/email/<name>_subject.txt` and `_body.txt` and send.

Mail to a member goes out in the language they signed up in (`User.language`, else the site's
LANGUAGE_CODE); mail to staff in LANGUAGE_CODE. Links are absolute (SITE_URL, else the first
concrete host in ALLOWED_HOSTS) because a task has no request to build them from.
"""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .models import CancellationFeedback, CancellationReason
from .money import format_money

logger = logging.getLogger(__name__)

TEMPLATES = "members/email"


def site_url(path="/"):
    """`path` as an absolute URL on this site, for links in emails.

    SITE_URL when set; otherwise the scheme is ACCOUNT_DEFAULT_HTTP_PROTOCOL (https in
    production) and the host the first entry of ALLOWED_HOSTS that names one host (not `*` nor a
    `.example.org` pattern).
    """
    if settings.SITE_URL:
        return settings.SITE_URL + path
    host = next(
        (
            name
            for name in settings.ALLOWED_HOSTS
            if name and "*" not in name and not name.startswith(".")
        ),
        "localhost",
    )
    return f"{settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL}://{host}{path}"


def page_url(name):
    """The absolute URL of a named page, in the active language (the email's)."""
    return site_url(reverse(name))


def language_of(user):
    """The language to write to `user` in: the one they signed up in, else the site's."""
    language = getattr(user, "language", "")
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def one_line(value):
    """`value` with every run of whitespace (CR and LF included) made a single space.

    Header values come partly from data (a plan name, a Stripe reason code); a line break in a
    header would start a new header.
    """
    return " ".join(str(value).split())


def external_link(url):
    """`url` if it is a plain http(s) link (Stripe's hosted invoice page), else ""."""
    url = str(url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc or any(c.isspace() for c in url):
        return ""
    return url


def deliverable(addresses):
    """The addresses that are valid single email addresses; others are logged and dropped.

    Addresses of anonymous donors come from Stripe Checkout and were never validated here.
    """
    valid = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            logger.warning("Email address %r is not valid; no email sent to it.", address)
        else:
            valid.append(address)
    return valid


def send(name, recipients, context):
    """Render the `name` email in the active language and send it; returns how many went."""
    recipients = deliverable(recipients)
    if not recipients:
        return 0
    context = {
        "newsroom_name": settings.NEWSROOM_NAME,
        "account_url": page_url("members:account"),
        **context,
    }
    subject = one_line(render_to_string(f"{TEMPLATES}/{name}_subject.txt", context))
    body = render_to_string(f"{TEMPLATES}/{name}_body.txt", context)
    return EmailMessage(subject=subject, body=body, to=recipients).send()


def send_welcome(membership):
    """Welcome a new member: what they joined, when it renews, where to manage it."""
    with translation.override(language_of(membership.user)):
        return send(
            "welcome",
            [membership.user.email],
            {
                "user": membership.user,
                "plan_name": membership.plan.name if membership.plan else "",
                "renews_at": membership.current_period_end,
                "trialing": membership.status == membership.Status.TRIALING,
            },
        )


def send_payment_problem(
    problem,
    *,
    to,
    what,
    user=None,
    plan=None,
    invoice_url="",
    amount=0,
    currency="",
    next_attempt=None,
):
    """Tell a member or donor a renewal failed (`problem="failed"`) or needs their bank's
    confirmation (`"action_required"`), with the link to put it right. `amount` is in minor
    units of `currency` (0 when unknown)."""
    with translation.override(language_of(user)):
        return send(
            f"payment_{problem}",
            [to],
            {
                "what": what,
                "plan_name": plan.name if plan else "",
                "invoice_url": external_link(invoice_url),
                "amount": format_money(amount, currency) if amount else "",
                "next_attempt": next_attempt,
            },
        )


def send_membership_ended(membership):
    """Tell a member their membership has ended, and how to come back."""
    with translation.override(language_of(membership.user)):
        return send(
            "membership_ended",
            [membership.user.email],
            {
                "plan_name": membership.plan.name if membership.plan else "",
                "ended_at": membership.ended_at or membership.canceled_at,
                "join_url": page_url("members:plans"),
            },
        )


def send_staff_alert(kind, text):
    """Mail an alert to MEMBERSHIP_ALERTS_EMAIL (nobody when empty: the log line is all)."""
    with translation.override(settings.LANGUAGE_CODE):
        return send(
            "staff_alert",
            settings.MEMBERSHIP_ALERTS_EMAIL,
            {"kind": kind, "text": text, "admin_url": page_url("admin:index")},
        )


# What staff hear about memberships (MEMBERSHIP_ALERTS_EMAIL), by kind: the subject of each is
# in templates/members/email/staff_alert_subject.txt.
MEMBERSHIP_NEWS = {
    "joined",  # a new member
    "cancelling",  # a member scheduled their cancellation at the end of the period
    "cancelled",  # a membership ended because the member cancelled
    "unpaid",  # Stripe gave up collecting a renewal: the membership is unpaid
    "lapsed",  # Stripe ended the membership after failed payments
}


def _day(moment):
    return date_format(timezone.localtime(moment), "DATE_FORMAT") if moment else ""


def membership_news_text(kind, membership, *, reason="", feedback="", comment=""):
    """What an email to staff says about `membership` (in the active language)."""
    user = membership.user
    name = user.get_full_name()
    who = f"{name} <{user.email}>" if name else user.email
    plan = membership.plan.name if membership.plan else _("no plan")
    price = membership.price
    paying = (
        f"{format_money(price.amount, price.currency)} {price.get_interval_display()}"
        if price
        else "?"
    )
    facts = {"who": who, "plan": plan, "price": paying}
    if kind == "joined":
        if membership.status == membership.Status.TRIALING:
            lines = [
                _("%(who)s started a trial of %(plan)s (%(price)s) until %(day)s.")
                % {**facts, "day": _day(membership.current_period_end)}
            ]
        else:
            lines = [_("%(who)s joined: %(plan)s, %(price)s.") % facts]
    elif kind == "cancelling":
        lines = [
            _(
                "%(who)s cancelled their membership (%(plan)s, %(price)s); it ends on %(day)s, "
                "at the end of the period they paid for."
            )
            % {**facts, "day": _day(membership.current_period_end)}
        ]
    elif kind == "cancelled":
        lines = [
            _("The membership of %(who)s (%(plan)s, %(price)s) has ended: they cancelled it.")
            % facts
        ]
    elif kind == "unpaid":
        lines = [
            _(
                "The renewal of %(who)s (%(plan)s, %(price)s) could not be collected: Stripe "
                "marked the membership unpaid, and it no longer gives access."
            )
            % facts
        ]
    elif kind == "lapsed":
        lines = [
            _(
                "The membership of %(who)s (%(plan)s, %(price)s) has ended: Stripe cancelled it "
                "after its payments failed."
            )
            % facts
        ]
    else:
        raise ValueError(f"Unknown kind of membership news {kind!r}.")
    if kind in ("cancelling", "cancelled"):
        if reason in CancellationReason.values:
            lines.append(_("Reason: %s") % CancellationReason(reason).label)
        lines.append(
            _("Their feedback: %s")
            % (
                CancellationFeedback(feedback).label
                if feedback in CancellationFeedback.values
                else _("none given")
            )
        )
        lines.append(_("Their comment: %s") % (comment or _("none")))
    return "\n".join(lines)


def send_membership_news(kind, membership, *, reason="", feedback="", comment=""):
    """Mail staff (MEMBERSHIP_ALERTS_EMAIL, in LANGUAGE_CODE) what happened to a membership,
    with a link to it in the admin. `reason`, `feedback` and `comment` are Stripe's
    cancellation details when it happened."""
    with translation.override(settings.LANGUAGE_CODE):
        return send(
            "staff_alert",
            settings.MEMBERSHIP_ALERTS_EMAIL,
            {
                "kind": kind,
                "text": membership_news_text(
                    kind, membership, reason=reason, feedback=feedback, comment=comment
                ),
                "admin_url": site_url(
                    reverse("admin:members_membership_change", args=[membership.pk])
                ),
            },
        )
