"""`manage.py restore_drill`: prove that the database backup restores, and that media is there.

A backup that was never restored is a hope. This command makes one with `pg_dump` (custom
format), restores it into a new, empty database with `pg_restore`, and compares every table's
row count with the live database's, counted in the very snapshot that `pg_dump` copied (so the
drill can run while the site is in use). Then it checks that the newest pictures the restored
database names exist in the media storage (disk or S3) and, with `--media-backup`, that the
media backup holds the same bytes. The new database is dropped at the end unless `--keep`; the
dump is kept when `--dump-dir` names where (it is then a backup like any other).

Run it from cron once a month, and after any change to how backups are made
(docs/deployment.md#backups-and-a-tested-restore). PostgreSQL only.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from psycopg import sql

from newsroom.models import Image


class Command(BaseCommand):
    help = (
        "Dump the database, restore it into a new database, compare every table's rows and "
        "check media files: a tested restore."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dump-dir",
            type=Path,
            help="Keep the dump in this directory (by default it is deleted after the drill).",
        )
        parser.add_argument(
            "--media-backup",
            type=Path,
            help="A restored copy of the media directory (from rsync, restic…): each checked "
            "picture must be there with the same bytes as in the media storage.",
        )
        parser.add_argument(
            "--pictures",
            type=int,
            default=5,
            help="How many of the newest pictures to check (default 5).",
        )
        parser.add_argument(
            "--keep",
            action="store_true",
            help="Keep the restored database (its name is printed) instead of dropping it.",
        )

    def handle(self, *args, dump_dir, media_backup, pictures, keep, verbosity, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "The restore drill is for PostgreSQL (DATABASE_URL). An SQLite database is "
                "backed up by copying it while the site runs: "
                "sqlite3 var/newsroom.sqlite3 '.backup backup.sqlite3'."
            )
        tools = {name: shutil.which(name) for name in ("pg_dump", "pg_restore")}
        if not all(tools.values()):
            raise CommandError(
                "pg_dump and pg_restore are needed (apt-get install postgresql-client), of the "
                "server's major version or newer."
            )
        if media_backup is not None and not media_backup.is_dir():
            raise CommandError(f"--media-backup {media_backup} is not a directory.")
        self.verbosity = verbosity
        source = connection.settings_dict
        params = {
            "host": source["HOST"] or None,
            "port": source["PORT"] or None,
            "user": source["USER"] or None,
            "password": source["PASSWORD"] or None,
        }
        target = f"{source['NAME'][:40]}_drill_{timezone.now():%Y%m%d%H%M%S}"
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="newsroom-drill-") as scratch:
            dump = (
                dump_dir or Path(scratch)
            ) / f"{source['NAME']}-{timezone.now():%Y%m%dT%H%M%S}.dump"
            dump.parent.mkdir(parents=True, exist_ok=True)
            expected = self._dump(tools["pg_dump"], params, source["NAME"], dump)
            self._say(f"Dumped {len(expected)} tables to {dump} ({_size(dump)}).")
            self._create(params, target)
            try:
                self._restore(tools["pg_restore"], params, target, dump)
                restored = _count_rows(psycopg.connect(dbname=target, **params))
                self._compare(expected, restored)
                self._say(
                    f"Restored into {target}: {len(restored)} tables, "
                    f"{sum(restored.values())} rows, every count as in the backup."
                )
                names = self._pictures(params, target, pictures)
                self._check_media(names, media_backup)
            finally:
                if keep:
                    self._say(f"Kept the restored database {target}.")
                else:
                    self._drop(params, target)
        self.stdout.write(
            self.style.SUCCESS(
                f"Restore drill passed in {time.monotonic() - started:.1f} s: "
                f"{len(expected)} tables, {sum(expected.values())} rows, "
                f"{len(names)} media files checked."
            )
        )

    def _say(self, message):
        if self.verbosity:
            self.stdout.write(message)

    def _dump(self, pg_dump, params, name, dump):
        """pg_dump of `name` into `dump`, and the row count of every table in the snapshot
        that pg_dump copied."""
        self._say(f"Dumping {name}…")
        with psycopg.connect(dbname=name, **params) as snapshot:
            snapshot.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            (snapshot_id,) = snapshot.execute("SELECT pg_export_snapshot()").fetchone()
            counts = _count_rows(snapshot, close=False)
            result = subprocess.run(
                [
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot_id}",
                    f"--file={dump}",
                    *_connection_args(params),
                    f"--dbname={name}",
                ],
                env=_environment(params),
                capture_output=True,
                text=True,
            )
            snapshot.rollback()
        if result.returncode:
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        return counts

    def _create(self, params, target):
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            try:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
            except psycopg.errors.InsufficientPrivilege as error:
                raise CommandError(
                    f"Cannot create the database {target} to restore into ({error}): the drill "
                    "needs a role with CREATEDB (ALTER ROLE … CREATEDB), e.g. run it as postgres."
                ) from error

    def _drop(self, params, target):
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(target)))
        self._say(f"Dropped {target}.")

    def _restore(self, pg_restore, params, target, dump):
        self._say(f"Restoring into {target}…")
        result = subprocess.run(
            [
                pg_restore,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                *_connection_args(params),
                f"--dbname={target}",
                str(dump),
            ],
            env=_environment(params),
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise CommandError(f"pg_restore failed: {result.stderr.strip()}")

    def _compare(self, expected, restored):
        problems = [
            f"{table}: {expected.get(table, 'missing')} in the backup's snapshot, "
            f"{restored.get(table, 'missing')} restored"
            for table in sorted(set(expected) | set(restored))
            if expected.get(table) != restored.get(table)
        ]
        if problems:
            raise CommandError("The restored database differs:\n  " + "\n  ".join(problems))

    def _pictures(self, params, target, count):
        """The file names of the newest `count` pictures, read from the restored database."""
        with psycopg.connect(dbname=target, **params) as restored:
            rows = restored.execute(
                sql.SQL(
                    "SELECT {column} FROM {table} WHERE {column} <> '' ORDER BY id DESC LIMIT %s"
                ).format(
                    column=sql.Identifier(Image._meta.get_field("file").column),
                    table=sql.Identifier(Image._meta.db_table),
                ),
                [count],
            ).fetchall()
        return [name for (name,) in rows]

    def _check_media(self, names, media_backup):
        if not names:
            self._say("No pictures in the database: no media file to check.")
            return
        problems = []
        for name in names:
            try:
                digest = _sha256(default_storage.open(name))
            except (OSError, ValueError) as error:
                problems.append(f"{name}: not in the media storage ({error})")
                continue
            if media_backup is not None:
                copy = media_backup / name
                if not copy.is_file():
                    problems.append(f"{name}: not in the media backup {media_backup}")
                    continue
                if _sha256(copy.open("rb")) != digest:
                    problems.append(f"{name}: differs in the media backup {media_backup}")
        if problems:
            raise CommandError(
                "Pictures the restored database names are missing:\n  " + "\n  ".join(problems)
            )
        where = f"the media storage and {media_backup}" if media_backup else "the media storage"
        self._say(f"The newest {len(names)} pictures are in {where}.")


def _count_rows(database, close=True):
    """{table: rows} for every table of the public schema."""
    try:
        tables = [
            table
            for (table,) in database.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        return {
            table: database.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            for table in tables
        }
    finally:
        if close:
            database.close()


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
