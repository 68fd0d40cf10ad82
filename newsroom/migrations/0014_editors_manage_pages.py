"""Editors manage the static pages and authors' links; contributors get none of it.

Like 0007_roles, running it again adds what is missing and removes nothing.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "Editors"
MODELS = ["page", "authorlink"]


def grant(apps, schema_editor):
    newsroom = apps.get_app_config("newsroom")
    models_module = getattr(newsroom, "models_module", None)
    newsroom.models_module = True
    create_permissions(newsroom, apps=apps, verbosity=0)
    newsroom.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors, _ = Group.objects.get_or_create(name=EDITORS)
    editors.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="newsroom", content_type__model__in=MODELS
        )
    )


class Migration(migrations.Migration):
    dependencies = [("newsroom", "0013_article_search")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
