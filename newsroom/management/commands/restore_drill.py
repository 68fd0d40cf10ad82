"""`manage.py restore_drill`: prove that the database backup restores, and that media is there.

A backup that was never restored is a hope. On PostgreSQL this command makes one with `pg_dump`
(custom format) and restores it into a new, empty database with `pg_restore`; on SQLite it copies
the database with SQLite's online backup, which a writing site does not disturb, and runs
`PRAGMA integrity_check` on the copy. Either way it compares, for every table, the row count and
a checksum of `(id, amount, status)` (the columns of those a table has, or else its primary key)
with the source, read in the very snapshot that was backed up (so the drill can run while the
site is in use), and runs `migrate --check` against the copy. Then it checks that the pictures
the restored database names exist in the media storage (disk or S3) and, with `--media-backup`,
compares a sha256 manifest of every media file with the media backup. A PostgreSQL copy is
dropped at the end unless `--keep`; the dump (or SQLite copy) is kept when `--dump-dir` names
where (it is then a backup like any other).

Run it from cron once a month, and after any change to how backups are made
(docs/deployment.md#backups-and-a-tested-restore).
"""

import hashlib
import os
import posixpath
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from psycopg import sql

from newsroom.models import Image

#: The columns a table's checksum covers, besides its primary key, when the table has them.
CHECKSUM_COLUMNS = ("id", "amount", "status")


class Command(BaseCommand):
    help = (
        "Back up the database, restore it into a new database (PostgreSQL) or an online copy "
        "(SQLite), compare every table's rows and checksums, run migrate --check on it and "
        "check media files: a tested restore."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dump-dir",
            type=Path,
            help="Keep the dump (PostgreSQL) or the copy (SQLite), and the media manifest, in "
            "this directory (by default they are deleted after the drill).",
        )
        parser.add_argument(
            "--media-backup",
            type=Path,
            help="A restored copy of the media directory (from rsync, restic…): every file in "
            "the media storage must be there with the same sha256.",
        )
        parser.add_argument(
            "--pictures",
            type=int,
            default=5,
            help="Without --media-backup: how many of the newest pictures to look for in the "
            "media storage (default 5).",
        )
        parser.add_argument(
            "--keep",
            action="store_true",
            help="Keep the restored PostgreSQL database (its name is printed) instead of "
            "dropping it.",
        )

    def handle(self, *args, dump_dir, media_backup, pictures, keep, verbosity, **options):
        if connection.vendor not in ("postgresql", "sqlite"):
            raise CommandError("The restore drill knows PostgreSQL and SQLite only.")
        if media_backup is not None and not media_backup.is_dir():
            raise CommandError(f"--media-backup {media_backup} is not a directory.")
        if keep and connection.vendor == "sqlite":
            raise CommandError("On SQLite the copy is the backup: keep it with --dump-dir.")
        self.verbosity = verbosity
        started = time.monotonic()
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
        with tempfile.TemporaryDirectory(prefix="newsroom-drill-") as scratch:
            folder = dump_dir or Path(scratch)
            folder.mkdir(parents=True, exist_ok=True)
            drill = _postgresql if connection.vendor == "postgresql" else _sqlite
            with drill(self, folder, stamp, keep) as (expected, restored, copy_settings, copy):
                problems = _compare(expected, restored)
                if not problems:
                    self._say(
                        f"Restored: {len(restored)} tables, {sum(c for c, _ in restored.values())}"
                        " rows, every count and checksum as in the backup."
                    )
                migrations = _migrate_check(copy_settings)
                if not migrations:
                    self._say("migrate --check: the restored database has every migration.")
                problems += migrations
                if media_backup is None:
                    problems += self._check_media(_pictures(copy(), pictures))
                else:
                    problems += self._compare_media(
                        _pictures(copy(), None), media_backup, folder / f"media-{stamp}.sha256"
                    )
        if problems:
            raise CommandError("The restore drill failed:\n  " + "\n  ".join(problems))
        rows = sum(count for count, _ in expected.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Restore drill passed in {time.monotonic() - started:.1f} s: "
                f"{len(expected)} tables, {rows} rows, {self.media_checked} media files checked."
            )
        )

    def _say(self, message):
        if self.verbosity:
            self.stdout.write(message)

    def _check_media(self, names):
        """The newest pictures the restored database names, looked for in the media storage."""
        self.media_checked = len(names)
        if not names:
            self._say("No pictures in the database: no media file to check.")
            return []
        problems = []
        for name in names:
            try:
                _sha256(default_storage.open(name))
            except (OSError, ValueError) as error:
                problems.append(f"{name}: a picture missing from the media storage ({error})")
        if not problems:
            self._say(f"The newest {len(names)} pictures are in the media storage.")
        return problems

    def _compare_media(self, names, media_backup, manifest_path):
        """A sha256 manifest of every file in the media storage, compared with the backup's."""
        manifest = {name: _sha256(default_storage.open(name)) for name in _storage_files()}
        manifest_path.write_text(
            "".join(f"{digest}  {name}\n" for name, digest in sorted(manifest.items()))
        )
        backup = {
            path.relative_to(media_backup).as_posix(): path
            for path in media_backup.rglob("*")
            if path.is_file()
        }
        problems = [
            f"{name}: a picture the restored database names is missing from the media storage"
            for name in names
            if name not in manifest
        ]
        for name, digest in sorted(manifest.items()):
            if name not in backup:
                problems.append(f"{name}: missing from the media backup {media_backup}")
            elif _sha256(backup[name].open("rb")) != digest:
                problems.append(f"{name}: differs in the media backup {media_backup} (sha256)")
        self.media_checked = len(manifest)
        if not problems:
            extra = len(set(backup) - set(manifest))
            self._say(
                f"Media: {len(manifest)} files (manifest {manifest_path}), every one in "
                f"{media_backup} with the same sha256; the {len(names)} pictures the restored "
                "database names are among them"
                + (f"; {extra} older files only in the backup." if extra else ".")
            )
        return problems


class _postgresql:
    """pg_dump in one snapshot, pg_restore into a new database, dropped on the way out."""

    def __init__(self, command, folder, stamp, keep):
        self.command, self.folder, self.stamp, self.keep = command, folder, stamp, keep
        self.tools = {name: shutil.which(name) for name in ("pg_dump", "pg_restore")}
        if not all(self.tools.values()):
            raise CommandError(
                "pg_dump and pg_restore are needed (apt-get install postgresql-client), of the "
                "server's major version or newer."
            )
        source = connection.settings_dict
        self.name = source["NAME"]
        self.params = {
            "host": source["HOST"] or None,
            "port": source["PORT"] or None,
            "user": source["USER"] or None,
            "password": source["PASSWORD"] or None,
        }
        self.target = f"{self.name[:40]}_drill_{stamp.replace('T', '')}"
        self.copy_settings = {**source, "NAME": self.target}

    def __enter__(self):
        dump = self.folder / f"{self.name}-{self.stamp}.dump"
        expected = self._dump(dump)
        self.command._say(f"Dumped {len(expected)} tables to {dump} ({_size(dump)}).")
        self._create()
        try:
            self._restore(dump)
            restored = _summaries(self.connect())
        except BaseException:
            self.__exit__()
            raise
        return expected, restored, self.copy_settings, self.connect

    def connect(self):
        return psycopg.connect(dbname=self.target, **self.params)

    def __exit__(self, *exc_info):
        if self.keep:
            self.command._say(f"Kept the restored database {self.target}.")
            return
        with psycopg.connect(dbname="postgres", autocommit=True, **self.params) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.target)
                )
            )
        self.command._say(f"Dropped {self.target}.")

    def _dump(self, dump):
        """pg_dump into `dump`, and every table's count and checksum in the snapshot that
        pg_dump copied."""
        self.command._say(f"Dumping {self.name}…")
        with psycopg.connect(dbname=self.name, **self.params) as snapshot:
            snapshot.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            (snapshot_id,) = snapshot.execute("SELECT pg_export_snapshot()").fetchone()
            summaries = _summaries(snapshot, close=False)
            result = subprocess.run(
                [
                    self.tools["pg_dump"],
                    "--format=custom",
                    f"--snapshot={snapshot_id}",
                    f"--file={dump}",
                    *_connection_args(self.params),
                    f"--dbname={self.name}",
                ],
                env=_environment(self.params),
                capture_output=True,
                text=True,
            )
            snapshot.rollback()
        if result.returncode:
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        return summaries

    def _create(self):
        with psycopg.connect(dbname="postgres", autocommit=True, **self.params) as admin:
            try:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.target)))
            except psycopg.errors.InsufficientPrivilege as error:
                raise CommandError(
                    f"Cannot create the database {self.target} to restore into ({error}): the "
                    "drill needs a role with CREATEDB (ALTER ROLE … CREATEDB), e.g. run it as "
                    "postgres."
                ) from error

    def _restore(self, dump):
        self.command._say(f"Restoring into {self.target}…")
        result = subprocess.run(
            [
                self.tools["pg_restore"],
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                *_connection_args(self.params),
                f"--dbname={self.target}",
                str(dump),
            ],
            env=_environment(self.params),
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise CommandError(f"pg_restore failed: {result.stderr.strip()}")


class _sqlite:
    """SQLite's online backup into a file, checked with PRAGMA integrity_check."""

    def __init__(self, command, folder, stamp, keep):
        self.command = command
        source = connection.settings_dict
        stem = "newsroom" if connection.is_in_memory_db() else Path(source["NAME"]).stem
        self.source = source["NAME"]
        self.copy = folder / f"{stem}-{stamp}.sqlite3"
        self.copy_settings = {**source, "NAME": str(self.copy)}

    def __enter__(self):
        self.command._say(f"Backing up {self.source}…")
        expected = backup_sqlite(self.source, self.copy)
        self.command._say(f"Copied {len(expected)} tables to {self.copy} ({_size(self.copy)}).")
        problems = integrity_check(self.copy)
        if problems:
            raise CommandError(
                f"PRAGMA integrity_check on the copy {self.copy}:\n  " + "\n  ".join(problems)
            )
        self.command._say("PRAGMA integrity_check on the copy: ok.")
        restored = _summaries(self.connect())
        return expected, restored, self.copy_settings, self.connect

    def connect(self):
        return sqlite3.connect(self.copy)

    def __exit__(self, *exc_info):
        pass  # the copy is in the scratch directory, or kept in --dump-dir


def backup_sqlite(source, target):
    """Copy the SQLite database `source` (a path or Django's in-memory URI) into the file
    `target` with SQLite's online backup, and return every table's count and checksum in the
    snapshot that was copied.

    The backup is read inside one read transaction, so it is the database as of one moment
    while the site's writers carry on (in WAL mode they are not even held up).
    """
    database = sqlite3.connect(source, uri=True, timeout=20, isolation_level=None)
    try:
        database.execute("BEGIN")  # the read snapshot starts at the first SELECT
        summaries = _summaries(database, close=False)
        with sqlite3.connect(target) as copy:
            database.backup(copy)
        copy.close()
        database.execute("COMMIT")
    finally:
        database.close()
    return summaries


def integrity_check(path):
    """The problems `PRAGMA integrity_check` finds in the SQLite file `path` (none: [])."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as database:
        rows = [row for (row,) in database.execute("PRAGMA integrity_check")]
    database.close()
    return [] if rows == ["ok"] else rows


def _summaries(database, close=True):
    """{table: (rows, checksum)} for every table (PostgreSQL: of the public schema).

    The checksum is the sha256 of the rows' `(id, amount, status)` columns (the primary key and
    those of `amount` and `status` the table has; every column for a table without a key), in
    key order: a payment whose amount or status changed, or a row replaced by another, changes it.
    """
    try:
        return {table: _summary(database, table) for table in _tables(database)}
    finally:
        if close:
            database.close()


def _tables(database):
    if isinstance(database, sqlite3.Connection):
        rows = database.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    else:
        rows = database.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    return [table for (table,) in rows]


def _columns(database, table):
    """(the table's columns in order, its primary key's columns)."""
    if isinstance(database, sqlite3.Connection):
        info = database.execute(f'PRAGMA table_info("{table}")').fetchall()
        columns = [row[1] for row in info]
        key = [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]]
        return columns, key
    columns = [
        name
        for (name,) in database.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = %s ORDER BY ordinal_position",
            [table],
        )
    ]
    key = [
        name
        for (name,) in database.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary "
            "ORDER BY array_position(i.indkey, a.attnum)",
            [sql.Identifier("public", table).as_string(database)],
        )
    ]
    return columns, key


def _summary(database, table):
    columns, key = _columns(database, table)
    chosen = key + [name for name in CHECKSUM_COLUMNS if name in columns and name not in key]
    order = key or columns
    if not key:
        chosen = columns
    if isinstance(database, sqlite3.Connection):
        quote = lambda name: '"' + name.replace('"', '""') + '"'  # noqa: E731
        query = "SELECT {} FROM {} ORDER BY {}".format(
            ", ".join(map(quote, chosen)), quote(table), ", ".join(map(quote, order))
        )
    else:
        query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
            sql.SQL(", ").join(map(sql.Identifier, chosen)),
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, order)),
        )
    cursor = database.cursor()
    cursor.execute(query)
    digest = hashlib.sha256()
    rows = 0
    while batch := cursor.fetchmany(10_000):
        rows += len(batch)
        for row in batch:
            digest.update(repr(row).encode())
            digest.update(b"\n")
    cursor.close()
    return rows, digest.hexdigest()[:16]


def _compare(expected, restored):
    problems = []
    for table in sorted(set(expected) | set(restored)):
        before, after = expected.get(table), restored.get(table)
        if before is None or after is None:
            where = "the restored copy" if after is None else "the backup's snapshot"
            problems.append(f"{table}: missing from {where}")
        elif before[0] != after[0]:
            problems.append(
                f"{table}: {before[0]} rows in the backup's snapshot, {after[0]} restored"
            )
        elif before[1] != after[1]:
            problems.append(
                f"{table}: the checksum of (id, amount, status) differs: {before[1]} in the "
                f"backup's snapshot, {after[1]} restored ({after[0]} rows each)"
            )
    return problems


def _migrate_check(settings_dict):
    """`manage.py migrate --check` against the restored copy: its problems (none: [])."""
    database = settings_dict["NAME"]
    if settings_dict["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{Path(database).resolve()}"
    else:
        credentials = quote(settings_dict["USER"] or "", safe="")
        if settings_dict["PASSWORD"]:
            credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
        address = settings_dict["HOST"] or "localhost"
        if settings_dict["PORT"]:
            address += f":{settings_dict['PORT']}"
        url = f"postgres://{credentials}@{address}/{quote(database, safe='')}"
    result = subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "migrate", "--check"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    if result.returncode == 0:
        return []
    if result.returncode == 1 and not result.stderr.strip():
        return ["migrate --check: the restored database lacks migrations this release has"]
    last = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return [f"migrate --check failed on the restored database: {last}"]


def _pictures(copy, count):
    """The file names of the newest `count` pictures (all if None) in the restored copy."""
    query = 'SELECT "{file}" FROM "{table}" WHERE "{file}" <> \'\' ORDER BY "{id}" DESC'.format(
        file=Image._meta.get_field("file").column,
        table=Image._meta.db_table,
        id=Image._meta.pk.column,
    )
    if count is not None:
        query += f" LIMIT {int(count)}"
    try:
        return [name for (name,) in copy.execute(query).fetchall()]
    finally:
        copy.close()


def _storage_files(folder=""):
    """Every file name in the media storage (disk or bucket)."""
    try:
        directories, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield posixpath.join(folder, name)
    for directory in directories:
        yield from _storage_files(posixpath.join(folder, directory))


def _sha256(opened):
    with opened:
        digest = hashlib.sha256()
        for chunk in iter(lambda: opened.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _connection_args(params):
    args = []
    if params["host"]:
        args.append(f"--host={params['host']}")
    if params["port"]:
        args.append(f"--port={params['port']}")
    if params["user"]:
        args.append(f"--username={params['user']}")
    return args


def _environment(params):
    env = dict(os.environ)
    if params["password"]:
        env["PGPASSWORD"] = params["password"]
    return env


def _size(path):
    size = path.stat().st_size
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
