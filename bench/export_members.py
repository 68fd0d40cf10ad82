#!/usr/bin/env python
"""How fast the members export runs, and whether its memory stays flat as members grow.

Seeds members (users, memberships and payments, with bulk_create) into a throwaway database,
then downloads the members CSV through the real admin view (Django's test client, signed in as
a superuser, reading the streamed response) at each size, and prints rows per second and the
peak memory of each export:

- traced: the peak of Python's allocations during the export (tracemalloc), measured in a
  second download so that tracing does not slow the timed one;
- RSS: how far the process's peak resident memory rose above its size before the timed
  download (Linux only).

The last line is the ratio of the traced peaks of the largest and smallest sizes: about 1 when
memory does not grow with the rows.

    .venv/bin/python bench/export_members.py                      # 10,000 and 100,000 rows
    .venv/bin/python bench/export_members.py --rows 1000,5000
    .venv/bin/python bench/export_members.py --database-url postgres://postgres@127.0.0.1/newsroom

The database is a temporary SQLite file unless --database-url names a PostgreSQL server; there
the benchmark creates its own database beside the named one and drops it at the end. Nothing is
left behind either way.
"""

import argparse
import contextlib
import io
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPORT_URL = "/admin/members/membership/export/"
BATCH = 5000
FIRST_NAMES = ["Nino", "Levan", "Ana", "Giorgi", "Mariam", "Davit", "Tamar", "Irakli", "Анна"]


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        default="10000,100000",
        help="comma-separated numbers of members to export (default: 10000,100000)",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL server to run on (its own throwaway database is created there); "
        "default: a temporary SQLite file",
    )
    args = parser.parse_args()
    try:
        args.rows = sorted({int(value.replace("_", "")) for value in args.rows.split(",")})
    except ValueError:
        parser.error("--rows takes whole numbers separated by commas, e.g. 10000,100000")
    if not args.rows or args.rows[0] < 1:
        parser.error("--rows must be at least 1")
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a postgres:// address")
    return args


def configure(workdir, database_url):
    """The production settings module, debug off, pointed at `workdir` and the database; the
    environment wins over a local `.env`."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "newsroom.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "STAFF_REQUIRE_MFA": "0",
            "NEWSROOM_VAR_DIR": str(workdir),
            "DJANGO_MEDIA_ROOT": str(workdir / "media"),
            "REDIS_URL": "",
            "DATABASE_URL": database_url or f"sqlite:///{workdir / 'unused.sqlite3'}",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    (workdir / "static").mkdir()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def create_database(workdir):
    """A fresh, migrated database: a file in `workdir`, or a new PostgreSQL database."""
    from django.db import connection

    if connection.vendor == "sqlite":
        name = str(workdir / "bench.sqlite3")
    else:
        name = f"newsroom_bench_export_{os.getpid()}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    original = connection.settings_dict["NAME"]
    # createcachetable reports the page cache's table, which migrate already made.
    with contextlib.redirect_stdout(io.StringIO()):
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return original


def seed(upto, prices, plan, rng, progress):
    """Adds members until there are `upto`: users, a membership each (mostly active monthly
    or yearly subscriptions; some cancelled, past due or complimentary) and their payments."""
    from django.utils import timezone

    from members.models import Membership, Payment, User

    now = timezone.now()
    done = User.objects.filter(is_staff=False).count()
    while done < upto:
        size = min(BATCH, upto - done)
        users = User.objects.bulk_create(
            User(
                email=f"member{n}@bench.example",
                first_name=rng.choice(FIRST_NAMES),
                last_name=f"Member {n}",
                language=rng.choice(["en", "ru"]),
                password="!",
            )
            for n in range(done, done + size)
        )
        memberships = []
        for user in users:
            started = now - timedelta(days=rng.randint(1, 720))
            roll = rng.random()
            price = rng.choice(prices)
            membership = Membership(
                user=user,
                plan=plan,
                price=price,
                status=Membership.Status.ACTIVE,
                stripe_subscription_id=f"sub_bench_{user.pk}",
                started_at=started,
                current_period_end=now + timedelta(days=rng.randint(1, 30)),
            )
            if roll < 0.05:
                membership.kind = Membership.Kind.COMPLIMENTARY
                membership.status = Membership.Status.COMPLIMENTARY
                membership.price = membership.stripe_subscription_id = None
                membership.current_period_end = None
                membership.complimentary_until = now + timedelta(days=90)
            elif roll < 0.15:
                membership.status = Membership.Status.CANCELED
                membership.ended_at = membership.canceled_at = now - timedelta(days=5)
            elif roll < 0.20:
                membership.status = Membership.Status.PAST_DUE
            elif roll < 0.30:
                membership.cancel_at_period_end = True
            memberships.append(membership)
        Membership.objects.bulk_create(memberships)
        payments = []
        for membership in memberships:
            if membership.price is None:
                continue
            for month in range(rng.randint(1, 3)):
                amount = membership.price.amount
                refunded = amount // 2 if rng.random() < 0.02 else 0
                payments.append(
                    Payment(
                        stripe_id=f"in_bench_{membership.pk}_{month}",
                        user_id=membership.user_id,
                        membership=membership,
                        amount=amount,
                        amount_refunded=refunded,
                        status="partially_refunded" if refunded else "paid",
                        currency=membership.price.currency,
                        kind=Payment.Kind.MEMBERSHIP,
                        paid_at=membership.started_at + timedelta(days=30 * month),
                    )
                )
        Payment.objects.bulk_create(payments, batch_size=BATCH)
        done += size
        progress.update(size)


def rss_kib(field):
    """VmRSS or VmHWM (peak) of this process in KiB, or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss():
    """Makes VmHWM start again from the current RSS (Linux ≥ 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def download(client):
    """Reads the whole members export as a browser would; returns (bytes read, rows the
    export recorded)."""
    from members.models import DataExport

    response = client.get(EXPORT_URL)
    if response.status_code != 200 or not response.streaming:
        raise SystemExit(f"The export answered {response.status_code}, not a streamed file.")
    size = 0
    for chunk in response.streaming_content:
        size += len(chunk)
    response.close()
    return size, DataExport.objects.latest("pk").rows


def measure(client, rows):
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    download(client)
    traced_peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()

    before = rss_kib("VmRSS")
    can_reset = reset_peak_rss()
    start = time.perf_counter()
    size, exported = download(client)
    seconds = time.perf_counter() - start
    if exported != rows:
        raise SystemExit(f"Exported {exported} rows, expected {rows}.")
    peak_rss = rss_kib("VmHWM") if can_reset else rss_kib("VmRSS")
    rss_rise = None if before is None or peak_rss is None else max(peak_rss - before, 0)
    return {
        "rows": rows,
        "seconds": seconds,
        "bytes": size,
        "traced": traced_peak,
        "rss": rss_rise,
        "rss_peak": can_reset,
    }


def main():
    args = arguments()
    workdir = Path(tempfile.mkdtemp(prefix="newsroom-bench-export-"))
    created = False
    try:
        configure(workdir, args.database_url)
        from django.db import connection
        from django.test import Client
        from tqdm import tqdm

        from members.models import Plan, Price, User

        print(f"Database: {connection.vendor}; creating and migrating a throwaway one…")
        original_name = create_database(workdir)
        created = True
        plan = Plan.objects.create(name="Supporter", slug="supporter")
        prices = [
            Price.objects.create(plan=plan, amount=500, currency="eur", interval="month"),
            Price.objects.create(plan=plan, amount=5000, currency="eur", interval="year"),
            Price.objects.create(plan=plan, amount=600, currency="usd", interval="month"),
        ]
        admin = User.objects.create_superuser("bench.admin@bench.example", secrets.token_hex(16))
        client = Client()
        client.force_login(admin)
        rng = random.Random(13)

        results = []
        for rows in args.rows:
            already = User.objects.filter(is_staff=False).count()
            with tqdm(
                total=rows, initial=already, desc="Seeding members", unit=" members"
            ) as progress:
                seed(rows, prices, plan, rng, progress)
            if not results:
                # The first export of a process loads the URLs, admin, templates, time zone and
                # currency data: not measured.
                download(client)
            print(f"Exporting {rows:,} members…")
            results.append(measure(client, rows))

        rss_label = "peak RSS rise MiB" if results[0]["rss_peak"] else "RSS rise MiB"
        print(
            f"\n{'rows':>9} {'seconds':>8} {'rows/s':>9} {'MiB out':>8} "
            f"{'traced peak MiB':>16} {rss_label:>18}"
        )
        for result in results:
            rss = "n/a" if result["rss"] is None else f"{result['rss'] / 1024:.1f}"
            print(
                f"{result['rows']:>9,} {result['seconds']:>8.2f} "
                f"{result['rows'] / result['seconds']:>9,.0f} "
                f"{result['bytes'] / 2**20:>8.1f} {result['traced'] / 2**20:>16.2f} {rss:>18}"
            )
        if len(results) > 1:
            first, last = results[0], results[-1]
            print(
                f"\nTraced peak memory {last['rows']:,}/{first['rows']:,} rows: "
                f"{last['traced'] / first['traced']:.2f} (1 = flat)"
            )
    finally:
        if created:
            from django.db import connection

            connection.creation.destroy_test_db(original_name, verbosity=0)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
