"""`manage.py restore_drill`: a backup is dumped, restored into a new database, compared row by
row count, and the pictures it names are found in the media storage and its backup
(docs/deployment.md#backups-and-a-tested-restore)."""

import io
import shutil

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from tests.factories import ArticleFactory, ImageFactory

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="the drill dumps and restores PostgreSQL (DATABASE_URL); SQLite has its own test",
)


def drill_databases():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            [f"{connection.settings_dict['NAME'][:40]}\\_drill\\_%"],
        )
        return [name for (name,) in cursor.fetchall()]


def drill(**options):
    output = io.StringIO()
    call_command("restore_drill", stdout=output, **options)
    return output.getvalue()


@postgresql_only
def test_a_backup_restores_with_every_row_and_its_pictures(tmp_path):
    story = ArticleFactory(headline="The dam that was never built")
    ArticleFactory.create_batch(2, hero_image=story.hero_image)
    backup = tmp_path / "media-backup"
    shutil.copytree(settings.MEDIA_ROOT, backup)

    output = drill(media_backup=backup, dump_dir=tmp_path / "dumps")

    assert "Restore drill passed" in output
    assert "every count as in the backup" in output
    assert f"The newest 1 pictures are in the media storage and {backup}" in output
    [dump] = (tmp_path / "dumps").iterdir()
    assert dump.suffix == ".dump" and dump.stat().st_size > 0
    assert drill_databases() == []  # the restored copy is dropped


@postgresql_only
def test_a_picture_missing_from_the_media_backup_fails_the_drill(tmp_path):
    image = ImageFactory()
    backup = tmp_path / "media-backup"
    backup.mkdir()

    with pytest.raises(CommandError, match="missing") as failure:
        drill(media_backup=backup)

    assert f"{image.file.name}: not in the media backup" in str(failure.value)
    assert drill_databases() == []


@postgresql_only
def test_a_picture_missing_from_the_media_storage_fails_the_drill():
    image = ImageFactory()
    image.file.storage.delete(image.file.name)

    with pytest.raises(CommandError, match=f"{image.file.name}: not in the media storage"):
        drill()


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite only")
def test_on_sqlite_the_drill_says_how_to_back_up_instead():
    with pytest.raises(CommandError, match=r"\.backup"):
        drill()
