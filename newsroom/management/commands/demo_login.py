"""`manage.py demo_login`: a demo editor account with a known password, for development."""

import os
import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction


class Command(BaseCommand):
    """Create or update the demo editor (a superuser for now) and print how to log in.

    The password is DEMO_EDITOR_PASSWORD when set, otherwise a new random one, and it is set on
    every run so the printed login always works. A superuser whose password is printed on a
    terminal must never appear in production, so this refuses to run unless DEBUG is on or
    --force is given.
    """

    help = "Create or update the demo editor account and print its login (development only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--email",
            default="editor@example.com",
            help="The editor's email address (default editor@example.com).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off. Never on a production site.",
        )

    def handle(self, *args, email, force, verbosity, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "demo_login creates a superuser with a known password, so it only runs with "
                "DJANGO_DEBUG=1. Use --force if you really mean it (never in production)."
            )
        # Lower-cased whole, as allauth stores addresses, so the User and its EmailAddress agree.
        email = email.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        password = os.environ.get("DEMO_EDITOR_PASSWORD", "").strip() or secrets.token_urlsafe(12)

        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = User.objects.create_user(email, password)
            else:
                user.set_password(password)
            user.email = email
            user.is_active = user.is_staff = user.is_superuser = True  # Roles come later.
            user.save()
            # Verified and primary, so allauth's mandatory verification does not stop the login;
            # a user may have only one primary address.
            EmailAddress.objects.filter(user=user, primary=True).exclude(email=email).update(
                primary=False
            )
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )

        if verbosity >= 1:
            port = os.environ.get("PORT", "").strip() or "8000"
            self.stdout.write(
                f"Demo editor: {email} / {password}  — log in at http://127.0.0.1:{port}/admin/"
            )
