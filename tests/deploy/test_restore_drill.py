"""`manage.py restore_drill`: a backup is made and restored (pg_dump and pg_restore on PostgreSQL,
SQLite's online backup on SQLite), compared table by table (row counts and a checksum of
`(id, amount, status)`), checked with `migrate --check`, and the media storage is compared with
its backup by sha256 (docs/deployment.md#backups-and-a-tested-restore)."""

import hashlib
import io
import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from members.models import Membership, Payment, StripeEvent, User
from newsroom.management.commands.restore_drill import _summaries, backup_sqlite, integrity_check
from newsroom.models import Article
from tests.deploy.servers import require
from tests.factories import ArticleFactory, ImageFactory, PriceFactory, SectionFactory

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="pg_dump and pg_restore: PostgreSQL (DATABASE_URL) only",
)


@pytest.fixture
def media(settings, tmp_path):
    """A media storage of this test's own, and where its backup goes."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media", tmp_path / "media-backup"


def drill_databases():
    if connection.vendor != "postgresql":
        return []
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


def seed(members=1000):
    """The check's sizes, in bulk: 1,000 members with 3,000 payments, 500 articles and 2,000
    Stripe events (or the same proportions for `members`)."""
    now = timezone.now()
    price = PriceFactory()
    users = User.objects.bulk_create(
        User(email=f"member{n}@example.com", password="!") for n in range(members)
    )
    memberships = Membership.objects.bulk_create(
        Membership(
            user=user,
            price=price,
            plan=price.plan,
            status=Membership.Status.ACTIVE,
            stripe_subscription_id=f"sub_seed_{n}",
            stripe_customer_id=f"cus_seed_{n}",
            current_period_end=now + timedelta(days=30),
            started_at=now - timedelta(days=90),
        )
        for n, user in enumerate(users)
    )
    Payment.objects.bulk_create(
        Payment(
            stripe_id=f"in_seed_{n}_{month}",
            user=membership.user,
            membership=membership,
            amount=500 + n % 7,
            currency="eur",
            kind=Payment.Kind.MEMBERSHIP,
            status=Payment.Status.REFUNDED if n % 10 == 0 else Payment.Status.PAID,
            paid_at=now - timedelta(days=30 * month),
        )
        for n, membership in enumerate(memberships)
        for month in range(3)
    )
    section = SectionFactory()
    Article.objects.bulk_create(
        Article(
            headline=f"Seeded story {n}",
            slug=f"seeded-story-{n}",
            standfirst="What happened.",
            body="<p>A paragraph.</p>",
            section=section,
            status=Article.Status.PUBLISHED,
            published_at=now - timedelta(hours=n),
        )
        for n in range(members // 2)
    )
    StripeEvent.objects.bulk_create(
        StripeEvent(
            stripe_id=f"evt_seed_{n}",
            type="invoice.paid",
            created=now,
            payload={"id": f"evt_seed_{n}", "type": "invoice.paid"},
            processed_at=now,
        )
        for n in range(members * 2)
    )


def test_the_checks_sizes_restore_with_equal_counts_checksums_and_media(media, tmp_path):
    """Check 61: the seeded sizes are backed up and restored (PostgreSQL: pg_dump -Fc and
    pg_restore; SQLite: the online backup and PRAGMA integrity_check), every table's count and
    checksum match, migrate --check is clean, and every media file matches its backup."""
    seed()
    pictures = ImageFactory.create_batch(3)
    media_root, backup = media
    shutil.copytree(media_root, backup)
    (backup / "images" / "deleted-since.jpg").write_bytes(b"kept by the backup")
    files = sum(1 for path in media_root.rglob("*") if path.is_file())  # originals, renditions

    output = drill(media_backup=backup, dump_dir=tmp_path / "dumps")

    assert "every count and checksum as in the backup" in output
    assert "migrate --check: the restored database has every migration." in output
    assert f"Media: {files} files" in output and "1 older files only in the backup" in output
    assert "Restore drill passed" in output
    rows = int(output.split(" rows, ")[-2].rsplit(" ", 1)[-1])
    assert rows >= 1000 + 1000 + 3000 + 500 + 2000
    [manifest] = (tmp_path / "dumps").glob("media-*.sha256")
    [dump] = set((tmp_path / "dumps").iterdir()) - {manifest}
    assert dump.suffix in (".dump", ".sqlite3") and dump.stat().st_size > 0
    lines = manifest.read_text().splitlines()
    assert len(lines) == files
    for picture in pictures:
        digest = hashlib.sha256((media_root / picture.file.name).read_bytes()).hexdigest()
        assert f"{digest}  {picture.file.name}" in lines
    if connection.vendor == "sqlite":
        assert integrity_check(dump) == []
        with sqlite3.connect(dump) as copy:
            assert copy.execute("SELECT count(*) FROM members_payment").fetchone() == (3000,)
        copy.close()
    assert drill_databases() == []  # the restored copy is dropped


def pg_restore_then(tmp_path, monkeypatch, statement):
    """Put a pg_restore on the PATH that restores, then runs `statement` in the copy: a restore
    that silently loses or changes data."""
    real = shutil.which("pg_restore")
    settings = connection.settings_dict
    conninfo = {
        "host": settings["HOST"] or None,
        "port": settings["PORT"] or None,
        "user": settings["USER"] or None,
        "password": settings["PASSWORD"] or None,
    }
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "pg_restore"
    script.write_text(
        f"#!{sys.executable}\n"
        "import subprocess, sys, psycopg\n"
        f"code = subprocess.run([{real!r}, *sys.argv[1:]]).returncode\n"
        "if code:\n    sys.exit(code)\n"
        "target = next(a.split('=', 1)[1] for a in sys.argv if a.startswith('--dbname='))\n"
        f"with psycopg.connect(dbname=target, **{conninfo!r}) as copy:\n"
        f"    copy.execute({statement!r})\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{shutil.os.environ['PATH']}")


@postgresql_only
@pytest.mark.parametrize(
    "statement, reported",
    [
        (
            "UPDATE members_payment SET amount = amount + 1 "
            "WHERE id = (SELECT min(id) FROM members_payment)",
            ["members_payment: the checksum of (id, amount, status) differs"],
        ),
        (
            "UPDATE members_payment SET status = 'paid' WHERE status = 'refunded'",
            ["members_payment: the checksum of (id, amount, status) differs"],
        ),
        (
            "DELETE FROM members_payment WHERE id = (SELECT max(id) FROM members_payment)",
            ["members_payment: 150 rows in the backup's snapshot, 149 restored"],
        ),
        (
            "DELETE FROM django_migrations WHERE id = (SELECT max(id) FROM django_migrations)",
            ["migrate --check: the restored database lacks migrations this release has"],
        ),
    ],
    ids=["amount", "status", "lost-row", "migration"],
)
def test_a_restore_that_differs_fails_the_drill(media, tmp_path, monkeypatch, statement, reported):
    """Check 61: a copy whose rows differ from the backed-up snapshot fails the drill, naming
    the table (and migrate --check fails on a copy that lacks a migration)."""
    seed(members=50)
    pg_restore_then(tmp_path, monkeypatch, statement)

    with pytest.raises(CommandError, match="The restore drill failed") as failure:
        drill()

    for message in reported:
        assert message in str(failure.value)
    assert drill_databases() == []


def test_a_media_file_altered_or_missing_in_the_backup_fails_the_drill(media):
    """Check 61: the sha256 manifest of the media storage must match the backup's files."""
    altered, missing, intact = ImageFactory.create_batch(3)
    media_root, backup = media
    shutil.copytree(media_root, backup)
    (backup / altered.file.name).write_bytes(b"\xff\xd8 not the same picture")
    (backup / missing.file.name).unlink()

    with pytest.raises(CommandError, match="The restore drill failed") as failure:
        drill(media_backup=backup)

    message = str(failure.value)
    assert f"{altered.file.name}: differs in the media backup {backup} (sha256)" in message
    assert f"{missing.file.name}: missing from the media backup {backup}" in message
    assert intact.file.name not in message
    assert drill_databases() == []


def test_a_picture_missing_from_the_media_storage_fails_the_drill(media):
    image = ImageFactory()
    image.file.storage.delete(image.file.name)

    with pytest.raises(CommandError) as failure:
        drill()

    assert f"{image.file.name}: a picture missing from the media storage" in str(failure.value)


def test_the_newest_pictures_are_looked_for_without_a_media_backup(media):
    story = ArticleFactory(headline="The dam that was never built")
    ArticleFactory.create_batch(2, hero_image=story.hero_image)

    output = drill()

    assert "The newest 1 pictures are in the media storage." in output
    assert "Restore drill passed" in output
    assert drill_databases() == []


class Writer(threading.Thread):
    """Inserts payments one transaction at a time, as a busy site would, until stopped."""

    def __init__(self, path):
        super().__init__()
        self.path, self.written, self.stopping = path, 0, threading.Event()

    def run(self):
        database = sqlite3.connect(self.path, isolation_level=None, timeout=20)
        while not self.stopping.is_set():
            database.execute(
                "INSERT INTO payment (amount, status) VALUES (?, 'paid')", [500 + self.written]
            )
            self.written += 1
        database.close()

    def __enter__(self):
        self.start()
        while self.written < 100:  # the writer is busy before the backup starts
            threading.Event().wait(0.001)
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self.join()


def sqlite_database(path, rows=50_000):
    """An SQLite database in WAL mode (as the site runs it) with a table of payments."""
    with sqlite3.connect(path, isolation_level=None) as database:
        database.execute("PRAGMA journal_mode=WAL")
        database.execute(
            "CREATE TABLE payment (id INTEGER PRIMARY KEY, amount INTEGER, status TEXT, note TEXT)"
        )
        database.execute("BEGIN")
        database.executemany(
            "INSERT INTO payment (amount, status, note) VALUES (?, 'paid', ?)",
            ((n, "x" * 100) for n in range(rows)),
        )
        database.execute("COMMIT")
    database.close()


def assert_consistent_copy(copy, before, after):
    """A copy that is the database as of one moment: intact, ids without a gap, and between
    what the source held when the backup started and when it ended."""
    assert integrity_check(copy) == []
    with sqlite3.connect(copy) as database:
        count, last = database.execute("SELECT count(*), max(id) FROM payment").fetchone()
    database.close()
    assert count == last  # every insert is in, or not: no row missing in between
    assert before <= count <= after


def count(path):
    with sqlite3.connect(path) as database:
        (rows,) = database.execute("SELECT count(*) FROM payment").fetchone()
    database.close()
    return rows


def test_an_sqlite_backup_taken_while_a_writer_inserts_is_consistent(tmp_path):
    """Check 61 (SQLite): the drill's online backup, taken while a thread keeps inserting,
    passes PRAGMA integrity_check and holds exactly the snapshot whose counts and checksums
    the drill compares."""
    source, copy = tmp_path / "newsroom.sqlite3", tmp_path / "copy.sqlite3"
    sqlite_database(source)

    with Writer(source) as writer:
        before, written = count(source), writer.written
        snapshot = backup_sqlite(str(source), copy)
        after, written_during = count(source), writer.written - written
    assert written_during > 0  # the site kept writing while the backup was taken

    assert_consistent_copy(copy, before, after)
    with sqlite3.connect(copy) as database:
        assert _summaries(database, close=False)["payment"] == snapshot["payment"]
    database.close()
    assert count(source) > snapshot["payment"][0]


def test_the_sqlite_command_line_backup_while_a_writer_inserts_is_consistent(tmp_path):
    """Check 61 (SQLite): the nightly command of docs/deployment.md, `sqlite3 … "VACUUM INTO
    …"`, run while a thread keeps inserting, gives an intact copy of one moment."""
    sqlite3_cli = require("sqlite3", "sqlite3")
    source, copy = tmp_path / "newsroom.sqlite3", tmp_path / "copy.sqlite3"
    sqlite_database(source)

    with Writer(source):
        before = count(source)
        subprocess.run([sqlite3_cli, str(source), f"VACUUM INTO '{copy}'"], check=True, timeout=60)
        after = count(source)

    assert_consistent_copy(copy, before, after)
    assert count(source) > count(copy)
