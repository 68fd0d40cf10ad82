"""Membership managers see and manage plans, memberships, donations, payments and Stripe events.

Superusers have every permission anyway; editors and contributors get none of these. Like
newsroom's 0007_roles, running it again adds what is missing and removes nothing.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MEMBERSHIP_MANAGERS = "Membership managers"
MODELS = ["plan", "price", "customer", "membership", "donation", "payment", "stripeevent"]
# Adding: plans and their prices, and complimentary memberships (the "grant" flow).
ADDABLE = ["plan", "price", "membership"]


def permission_codenames():
    codenames = [f"{action}_{model}" for model in MODELS for action in ("view", "change")]
    return codenames + [f"add_{model}" for model in ADDABLE]


def grant(apps, schema_editor=None):
    """Give the Membership managers group the members app's permissions (also used by tests,
    whose transactional cases empty the database)."""
    members = apps.get_app_config("members")
    # create_permissions skips an app without a models module, as migration states have;
    # the tests call this with the real app registry, whose module must stay in place.
    models_module = getattr(members, "models_module", None)
    members.models_module = True
    create_permissions(members, apps=apps, verbosity=0)
    members.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    managers, _ = Group.objects.get_or_create(name=MEMBERSHIP_MANAGERS)
    managers.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="members", codename__in=permission_codenames()
        )
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for managers in Group.objects.filter(name=MEMBERSHIP_MANAGERS):
        managers.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="members", codename__in=permission_codenames()
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0002_membership_and_stripe"),
        ("newsroom", "0007_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
