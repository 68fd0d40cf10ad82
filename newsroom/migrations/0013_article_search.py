"""Search vectors for articles: two columns, GIN-indexed and filled on PostgreSQL only.

The indexes are not part of the model's state: SQLite cannot build a GIN index, and it rebuilds
a table with every index the state names whenever a later migration alters one.
"""

import django.contrib.postgres.search
from django.db import migrations

from newsroom.search import search_vectors

INDEXES = {
    "newsroom_article_search_document_gin": "search_document",
    "newsroom_article_search_body_gin": "search_body",
}


def index_articles(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    Article = apps.get_model("newsroom", "Article")
    stories = Article.objects.using(schema_editor.connection.alias)
    fields = ("pk", "language", "headline", "standfirst", "body")
    for pk, language, headline, standfirst, body in stories.values_list(*fields).iterator():
        stories.filter(pk=pk).update(
            **search_vectors(
                language=language, headline=headline, standfirst=standfirst, body=body
            )
        )
    for name, column in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX {name} ON newsroom_article USING gin ({column})")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("newsroom", "0012_reader_site"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="search_document",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="article",
            name="search_body",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(index_articles, drop_indexes),
    ]
