"""`manage.py demo_membership_history`: a year of invented members, payments, gifts and
cancellations for the demo newsroom's membership dashboard (newsroom.demo.membership_history).

`manage.py demo` runs it once by itself; this command rebuilds it with another seed or length.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from newsroom.demo.membership_history import (
    HistoryError,
    build_membership_history,
    has_membership_history,
    remove_membership_history,
)


class Command(BaseCommand):
    """Write the demo membership history ending now. It refuses to write it a second time
    unless --reset is given, which first removes the one there (its readers, their memberships,
    payments and gifts, and the demo blocks' daily counts)."""

    help = "Invent months of membership history for the demo newsroom (after `manage.py demo`)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--months", type=int, default=12, help="How many months back (default 12)."
        )
        parser.add_argument(
            "--seed", type=int, default=2026, help="Seed for the invented history (default 2026)."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Remove the demo membership history first (otherwise a second run is refused).",
        )

    def handle(self, *args, months, seed, reset, verbosity, **options):
        if not 1 <= months <= 36:
            raise CommandError(f"--months must be between 1 and 36, got {months}.")
        if has_membership_history() and not reset:
            raise CommandError(
                "The demo membership history is there already; use --reset to replace it."
            )
        if reset:
            removed = remove_membership_history()
            if verbosity >= 1 and removed:
                self.stdout.write(f"Removed the demo membership history ({removed} readers).")
        began = time.monotonic()
        try:
            summary = build_membership_history(months=months, seed=seed)
        except HistoryError as error:
            raise CommandError(str(error)) from None
        if verbosity >= 1:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Membership history over {months} months: {summary} "
                    f"({time.monotonic() - began:.1f} s)."
                )
            )
