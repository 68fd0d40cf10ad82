"""The newsroom's roles as groups (issue 4): Contributors, Editors, Membership managers.

What each role may do beyond model permissions (a contributor edits only their own unpublished
stories, only holders of `publish_article` publish) is enforced in newsroom.admin.

Running it again adds what is missing and removes nothing, so permissions an administrator gave
a group by hand survive. New newsroom models need a later migration to reach the Editors.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CONTRIBUTORS = "Contributors"
EDITORS = "Editors"
MEMBERSHIP_MANAGERS = "Membership managers"

CONTRIBUTOR_PERMISSIONS = [
    "newsroom.add_article",
    "newsroom.change_article",
    "newsroom.view_article",
    "newsroom.add_image",
    "newsroom.change_image",
    "newsroom.view_image",
    "newsroom.view_section",
    "newsroom.view_region",
    "newsroom.view_tag",
    "newsroom.view_author",
    "newsroom.add_articleauthor",
    "newsroom.change_articleauthor",
    "newsroom.delete_articleauthor",
    "newsroom.view_articleauthor",
]
# Member and payment data; the membership issue adds its models' view permissions.
MEMBERSHIP_MANAGER_PERMISSIONS = ["members.view_user"]


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); a fresh database
    # needs them now.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    define_roles(apps)


def define_roles(apps):
    """The groups and their permissions (the permissions must exist). Also used by the tests,
    whose transactional cases empty the database, groups included."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def permissions(names):
        found = []
        for name in names:
            app_label, codename = name.split(".")
            found.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return found

    contributors, _ = Group.objects.get_or_create(name=CONTRIBUTORS)
    contributors.permissions.add(*permissions(CONTRIBUTOR_PERMISSIONS))

    editors, _ = Group.objects.get_or_create(name=EDITORS)
    # Everything on the newsroom's models, publish_article included.
    editors.permissions.add(*Permission.objects.filter(content_type__app_label="newsroom"))

    managers, _ = Group.objects.get_or_create(name=MEMBERSHIP_MANAGERS)
    managers.permissions.add(*permissions(MEMBERSHIP_MANAGER_PERMISSIONS))


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=[CONTRIBUTORS, EDITORS, MEMBERSHIP_MANAGERS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("newsroom", "0006_publish_permission_and_redirects"),
        ("members", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
