"""`manage.py membership_summary [--email]`: the week's membership figures in a few lines.

Members now (paying, trialing, in the grace period, complimentary), MRR per currency, the last
7 days' new and cancelled subscriptions, and the churn of the last complete month, counted as
the dashboard counts them (members.reporting). Printed; with --email also mailed to
MEMBERSHIP_ALERTS_EMAIL in the site's language. The deployment guide runs it weekly from cron.
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string
from django.utils import timezone, translation

from members import reporting
from members.emails import TEMPLATES, page_url, send


class Command(BaseCommand):
    help = (
        "Print this week's membership figures (members, MRR, new and cancelled, last month's "
        "churn); with --email, also mail them to MEMBERSHIP_ALERTS_EMAIL."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--email",
            action="store_true",
            help="Also mail the summary to the addresses in MEMBERSHIP_ALERTS_EMAIL.",
        )

    def handle(self, *args, email=False, **options):
        if email and not settings.MEMBERSHIP_ALERTS_EMAIL:
            raise CommandError(
                "MEMBERSHIP_ALERTS_EMAIL is empty: set it to the addresses that should get "
                "the summary, or run the command without --email."
            )
        with translation.override(settings.LANGUAGE_CODE):
            context = summary(timezone.now())
            self.stdout.write(
                render_to_string(
                    f"{TEMPLATES}/membership_summary_body.txt",
                    {"newsroom_name": settings.NEWSROOM_NAME, **context},
                )
            )
            if email:
                sent = send("membership_summary", settings.MEMBERSHIP_ALERTS_EMAIL, context)
                if not sent:
                    raise CommandError("The summary could not be mailed: no valid address.")
                self.stdout.write(f"Mailed to {', '.join(settings.MEMBERSHIP_ALERTS_EMAIL)}.")


def summary(now):
    """What the summary says, as of `now`."""
    figures = reporting.dashboard(now)
    week = reporting.started_and_ended(now - timedelta(days=7), now)
    last_month = figures.months[-2]
    return {
        "now": now,
        "dashboard": figures,
        "mrr": list(figures.mrr_rounded.items()),
        "week_new": week["new"],
        "week_cancelled": week["cancelled"],
        "last_month": last_month,
        "dashboard_url": page_url("admin:members_dashboard"),
    }
