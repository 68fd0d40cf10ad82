"""Article bodies rendered for readers when saved (newsroom.body), filled in for every story;
indexes in the order of the listings (newsroom.pagination).

The fill uses the project's renderer as it is when the migration runs (a rendering holds the
markup of the templates of the day) and reads only the image columns it needs. Should a later
renderer differ, the stored fingerprints stop matching and pages render those bodies themselves
until `manage.py render_bodies` stores them again.
"""

from django.db import migrations, models


def render_bodies(apps, schema_editor):
    from newsroom.models.articles import store_renderings

    Article = apps.get_model("newsroom", "Article")
    stories = Article.objects.using(schema_editor.connection.alias).order_by("pk")
    store_renderings(Article, stories.values_list("pk", "body", "language").iterator())


class Migration(migrations.Migration):
    dependencies = [
        ("newsroom", "0014_editors_manage_pages"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="rendered_body",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="article",
            name="rendered_breaks",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.AddField(
            model_name="article",
            name="rendered_from",
            field=models.CharField(blank=True, editable=False, max_length=32),
        ),
        migrations.RunPython(render_bodies, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                fields=["language", "status", "-published_at", "-id", "home_placement"],
                name="newsroom_article_listing_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                fields=["section", "language", "status", "-published_at", "-id"],
                name="newsroom_article_section_idx",
            ),
        ),
    ]
