"""When existing memberships started, and the membership desk's new permissions.

A membership's start was only the row's creation time; that is the best guess for rows written
before the column existed (`stripe_reconcile` replaces it with the subscription's start at
Stripe). Membership managers may see the dashboard, export, refund, cancel on a member's behalf,
keep notes about members and read the export log; editors and contributors get none of these.
Running it again adds what is missing and removes nothing.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import F

MEMBERSHIP_MANAGERS = "Membership managers"
CODENAMES = [
    "view_dashboard",
    "export_members",
    "cancel_membership",
    "refund_payment",
    "add_membernote",
    "view_membernote",
    "view_dataexport",
]


def backfill_started_at(apps, schema_editor):
    Membership = apps.get_model("members", "Membership")
    Membership.objects.filter(started_at__isnull=True).update(started_at=F("created"))


def grant(apps, schema_editor=None):
    """Give the Membership managers group the desk's permissions (also used by tests, whose
    transactional cases empty the database)."""
    members = apps.get_app_config("members")
    models_module = getattr(members, "models_module", None)
    members.models_module = True
    create_permissions(members, apps=apps, verbosity=0)
    members.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    managers, _ = Group.objects.get_or_create(name=MEMBERSHIP_MANAGERS)
    managers.permissions.add(
        *Permission.objects.filter(content_type__app_label="members", codename__in=CODENAMES)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for managers in Group.objects.filter(name=MEMBERSHIP_MANAGERS):
        managers.permissions.remove(
            *Permission.objects.filter(content_type__app_label="members", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [("members", "0007_reporting")]

    operations = [
        migrations.RunPython(backfill_started_at, migrations.RunPython.noop),
        migrations.RunPython(grant, revoke),
    ]
