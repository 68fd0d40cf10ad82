#!/usr/bin/env python
"""The site under load: `make bench` (issue 14; docs/performance.md explains every figure).

On PostgreSQL it seeds an archive (the demo newsroom, `--articles` English stories and their
Russian editions), starts the site under gunicorn (sync workers) with the production settings
behind a pretend TLS proxy (every request carries `X-Forwarded-Proto: https`), and drives it
with wrk for a fixed time at each number of connections against the reader pages, uncached
(every request misses the app's page cache) and from the app's page cache; then the Stripe
webhook with freshly signed events, posted by 10 concurrent clients. In the same run it measures
three ceilings — nginx serving a saved copy of the article page (and of the home page) as a
static file, a bare Django view returning the article's bytes through the project's middleware,
and the same view behind SecurityMiddleware alone — and the shipped nginx configuration
(deploy/nginx/newsroom.conf) in front of gunicorn. The two comparisons behind the middleware's
and the edge's targets measure their two set-ups in turn, three times (A B A B A B), and keep
the best run of each. It prints a table per target (req/s, p50, p99, non-2xx, SQL queries per
request, response bytes, ratios to the ceilings), the peak memory per gunicorn worker, the
seeding rate, the EXPLAIN of the deep listing page's query, and which targets of the issue are
met.

    .venv/bin/python bench/load.py                     # 20,000 stories, 10 s per run
    .venv/bin/python bench/load.py --articles 2000 --seconds 5
    .venv/bin/python bench/load.py --keep              # keep the seeded database for next time

Everything runs in throwaway places: a database `newsroom_bench_<pid>` on the PostgreSQL server
(dropped at the end unless --keep or --database), a Redis server, gunicorn and nginx processes of
its own on free loopback ports, files in a temporary directory. All are stopped and removed at
the end, also on Ctrl-C or an error. wrk, nginx and libnginx-mod-http-lua are installed with
apt-get when missing (as root), and stay installed.
"""

import argparse
import contextlib
import http.client
import itertools
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import nginx  # noqa: E402

WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
PROXY_HEADER = ("X-Forwarded-Proto", "https")
WEBHOOK_CONCURRENCY = 10
# The comparisons behind the middleware's, the cached article's and the edge's targets measure
# their sides in turn, A B A B A B: each round's runs are named by the mode and these suffixes,
# and the best run of each side counts.
ROUNDS = ("", ", run 2", ", run 3")
# How far one set-up's req/s may move between rounds on a quiet machine; past it the report says
# the machine's other work moved the figures.
STEADY = 0.10
# The pages measured through the edge, and for each its ceiling (a), nginx serving that page's
# saved copy: its key among the ceilings and its name in the table. The article's copy is also
# the bare view's body and the `÷nginx` of every row.
STATIC_CEILING = {"article": "nginx", "home": "nginx home"}
STATIC_TARGET = {"article": "nginx static (a)", "home": "nginx static (a), home"}
# Both sides of that comparison are measured twice: as browsers ask (Accept-Encoding: gzip: the
# edge sends the app's gzipped copy, nginx the saved copy's .gz), and as clients without gzip
# do (every other run of the benchmark). The suffix names the first in modes and ceilings.
ENCODINGS = {"": {}, " gzip": {"Accept-Encoding": "gzip"}}


def env_default(name, default):
    return os.environ.get(name, "").strip() or default


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_site_arguments(parser, seconds="10", connections="16,32", members=500)
    parser.add_argument(
        "--targets",
        default="",
        help="only the targets whose names contain one of these comma-separated words "
        "(e.g. article,home); the ceilings always run",
    )
    args = parser.parse_args()
    check_site_arguments(parser, args)
    args.targets = [word.strip().lower() for word in args.targets.split(",") if word.strip()]
    return args


def add_site_arguments(parser, *, seconds, connections, members):
    """The options of every benchmark that runs the site under gunicorn (this one and
    bench/caching.py), with their defaults."""
    parser.add_argument(
        "--articles",
        type=int,
        default=int(env_default("BENCH_ARTICLES", "20000")),
        help="English stories in the archive (env BENCH_ARTICLES; default 20000)",
    )
    parser.add_argument(
        "--seconds",
        type=int,
        default=int(env_default("BENCH_SECONDS", seconds)),
        help=f"length of each measured run (env BENCH_SECONDS; default {seconds})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(env_default("BENCH_WORKERS", "2")),
        help="gunicorn sync workers (env BENCH_WORKERS; default 2)",
    )
    parser.add_argument(
        "--connections",
        default=env_default("BENCH_CONNECTIONS", connections),
        help=f"wrk connections, comma-separated (env BENCH_CONNECTIONS; default {connections})",
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of unmeasured load before each target"
    )
    parser.add_argument(
        "--members",
        type=int,
        default=members,
        help=f"members with subscriptions, for the webhook (default {members})",
    )
    parser.add_argument(
        "--server",
        default=env_default("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="the PostgreSQL server (a maintenance database on it); the benchmark makes its own "
        "database there",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database (newsroom_bench_<articles>) and reuse it on the next --keep run",
    )
    parser.add_argument(
        "--database",
        help="use (and keep) this database, made if missing; its name must start with "
        "newsroom_bench",
    )
    parser.add_argument(
        "--throwaway",
        metavar="NAME",
        help="the name of the database made for the run and dropped at the end (default "
        "newsroom_bench_<pid>); it must not exist",
    )
    parser.add_argument("--report", help="also write the report to this file")


def check_site_arguments(parser, args):
    try:
        args.connections = sorted({int(c) for c in args.connections.split(",") if c.strip()})
    except ValueError:
        parser.error("--connections takes whole numbers separated by commas, e.g. 16,32")
    if not args.connections or args.connections[0] < 1:
        parser.error("--connections needs at least one number of connections")
    if args.articles < 100:
        parser.error("--articles must be at least 100")
    if args.seconds < 1 or args.workers < 1:
        parser.error("--seconds and --workers must be at least 1")
    if args.database and not args.database.startswith("newsroom_bench"):
        parser.error("--database must name a database whose name starts with newsroom_bench")


def say(message):
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


# Tools ------------------------------------------------------------------------------------------


def install(package):
    """apt-get install `package` (it stays installed), with services kept from starting: the
    benchmark runs nginx of its own and never the system's."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(
            f"The benchmark needs the Debian package {package}: install it "
            f"(`sudo apt-get install {package}`) and run again."
        )
    say(f"Installing {package} with apt-get (it stays installed afterwards)…")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = False
    if not policy.exists():
        # Debian's way to keep a package's service from starting at installation.
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        made_policy = True
    try:
        command = ["apt-get", "install", "-y", "--no-install-recommends", package]
        if subprocess.run(command, env=environment).returncode:
            subprocess.run(["apt-get", "update"], env=environment, check=False)
            if subprocess.run(command, env=environment).returncode:
                raise SystemExit(f"apt-get could not install {package}; install it and run again.")
    finally:
        if made_policy:
            policy.unlink()


def ensure_tools():
    if not shutil.which("wrk"):
        install("wrk")
    if not Path(nginx.NGINX).exists():
        install("nginx")
    if not shutil.which("redis-server"):
        install("redis-server")


def ensure_lua_module():
    if not list(Path("/etc/nginx/modules-enabled").glob("*lua*")):
        install("libnginx-mod-http-lua")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def version_of(command):
    """The first line of a program's version, without its copyright."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "?"
    line = ((result.stdout + result.stderr).strip().splitlines() or ["?"])[0]
    return line.split(" Copyright")[0].strip()


# Processes --------------------------------------------------------------------------------------


class Cleanup:
    """What the run made, undone in reverse order at the end whatever happens."""

    def __init__(self):
        self.steps = []

    def add(self, description, undo):
        self.steps.append((description, undo))

    def run(self):
        while self.steps:
            description, undo = self.steps.pop()
            try:
                undo()
            except Exception as error:  # Keep undoing the rest.
                print(f"Could not {description}: {error}", file=sys.stderr)


def stop_process(process, name, sig=signal.SIGTERM, wait=15):
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(wait)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop in {wait} s; killing it.", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_redis(directory, cleanup):
    port = free_port()
    directory.mkdir()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
            "--logfile",
            str(directory / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    cleanup.add("stop Redis", lambda: stop_process(process, "Redis"))
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return port
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"Redis did not start; see {directory / 'redis.log'}.")


def request(port, path, *, method="GET", body=None, headers=None, timeout=60):
    """(status, headers, body) of one request to 127.0.0.1:`port`, as the load generator sends
    it (behind the pretend TLS proxy); redirects are not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            method, path, body=body, headers={PROXY_HEADER[0]: PROXY_HEADER[1], **(headers or {})}
        )
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class Gunicorn:
    """The site under gunicorn (sync workers) with bench.settings and `environment`."""

    def __init__(self, name, workers, environment, log_dir, cleanup):
        self.name = name
        self.port = free_port()
        self.workers = workers
        self.environment = environment
        self.log = log_dir / f"gunicorn-{name.replace(' ', '-')}.log"
        self.process = None
        self.restarts = 0
        cleanup.add(f"stop gunicorn ({name})", self.stop)

    def start(self):
        command = [
            sys.executable, "-m", "gunicorn", "bench.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
            "--worker-class", "sync", "--timeout", "120", "--graceful-timeout", "5",
            "--chdir", str(ROOT), "--log-level", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            env=self.environment,
            cwd=ROOT,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with contextlib.suppress(OSError, http.client.HTTPException):
                if request(self.port, "/healthz", timeout=5)[0] == 200 and len(self.pids()) == (
                    self.workers
                ):
                    return
            time.sleep(0.25)
        tail = self.log.read_text()[-3000:] if self.log.exists() else ""
        raise SystemExit(f"gunicorn ({self.name}) did not start:\n{tail}")

    def pids(self):
        if self.process is None or self.process.poll() is not None:
            return []
        pid = self.process.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def stop(self):
        if self.process is not None:
            stop_process(self.process, f"gunicorn ({self.name})")

    def restart(self, before_stop=None):
        """A new gunicorn on the same port: the only way to drop the queue of requests that a
        load generator gave up on (sync workers would render each of them)."""
        if before_stop is not None:
            before_stop()
        self.stop()
        self.restarts += 1
        self.start()


def memory_kib(pid):
    """(VmRSS, VmHWM) of a process in KiB from /proc, or (0, 0) once it is gone."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return found.get("VmRSS", 0), found.get("VmHWM", 0)


class MemorySampler(threading.Thread):
    """Samples the memory of the watched gunicorn's workers (from /proc) every 0.2 s and keeps
    each worker's peak resident size as sampled, and the kernel's own peak (VmHWM)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.server = None
        self.peaks = {}  # server name → {pid: (sampled peak KiB, VmHWM KiB)}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def watch(self, server):
        with self.lock:
            self.server = server
            self.peaks.setdefault(server.name, {})

    def sample(self):
        if self.server is None:
            return
        peaks = self.peaks[self.server.name]
        for pid in self.server.pids():
            rss, hwm = memory_kib(pid)
            sampled, known_hwm = peaks.get(pid, (0, 0))
            peaks[pid] = (max(sampled, rss), max(known_hwm, hwm))

    def finish(self):
        with self.lock:
            self.sample()
            self.server = None

    def run(self):
        while not self.stopping.wait(0.2):
            with self.lock:
                self.sample()


# Measuring --------------------------------------------------------------------------------------


@dataclass
class Result:
    target: str
    mode: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int  # connect, read, write errors and timeouts
    timeouts: int
    requests: int = 0  # completed by wrk in the run
    sql: object = None
    bytes: int = None
    status: int = 200  # of the probe before the run


def wrk(port, path, connections, seconds, headers=None):
    url = f"http://127.0.0.1:{port}{path}"
    threads = max(1, min(connections, os.cpu_count() or 2))
    sent = {PROXY_HEADER[0]: PROXY_HEADER[1], **(headers or {})}
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(WRK_SCRIPT), *(f"-H{name}: {value}" for name, value in sent.items()), url,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    for line in result.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return json.loads(line.removeprefix("BENCH-RESULT "))
    raise SystemExit(f"wrk gave no result for {url}:\n{result.stdout}\n{result.stderr}")


class Bench:
    def __init__(self, args, cleanup, sampler):
        self.args = args
        self.cleanup = cleanup
        self.sampler = sampler
        self.results = []
        self.notes = []

    def wanted(self, name):
        return not self.args.targets or any(word in name.lower() for word in self.args.targets)

    def settle(self, server):
        """Make sure `server` is idle before a run. A sync worker renders every queued request
        whose client has gone (wrk gives up on those in flight when it stops), which would slow
        the next run: a health check answered at once means the queue is empty; one that takes
        longer than a few seconds means a long queue of slow pages, dropped by a restart."""
        for _ in range(20):
            start = time.perf_counter()
            try:
                request(server.port, "/healthz", timeout=3)
            except (OSError, http.client.HTTPException):
                say(f"  (gunicorn {server.name} is busy with abandoned requests: restarting it)")
                server.restart(before_stop=self.sampler.finish)
                self.sampler.watch(server)
                return
            if time.perf_counter() - start < 0.2:
                return

    def measure(self, port, target, mode, path, *, server=None, sql=None, warm=True, headers=None):
        """Probe `path` once (it must answer 200), warm up, then one wrk run per number of
        connections, each after `server` (the gunicorn behind `port`) is idle. `headers` go
        with every request; one asking for gzip must get it."""
        start = time.perf_counter()
        status, answer, body = request(port, path, headers=headers, timeout=600)
        probe_seconds = time.perf_counter() - start
        if status != 200:
            self.notes.append(f"{target} ({mode}) answered {status} to the probe, not 200.")
        if "Accept-Encoding" in (headers or {}) and answer.get("Content-Encoding") != "gzip":
            self.notes.append(f"{target} ({mode}) was asked for gzip and sent it uncompressed.")
        # A page slower than half a second is warm after its probe: a warm-up would only queue
        # requests.
        if warm and self.args.warmup and probe_seconds < 0.5:
            wrk(port, path, max(self.args.connections), self.args.warmup, headers)
        for connections in self.args.connections:
            if server is not None:
                self.settle(server)
            data = wrk(port, path, connections, self.args.seconds, headers)
            seconds = data["duration_us"] / 1e6
            errors = sum(
                data[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
            )
            result = Result(
                target=target,
                mode=mode,
                connections=connections,
                rps=data["requests"] / seconds,
                # With no request completed, wrk's percentiles are 0: none is known.
                p50_ms=data["p50_us"] / 1000 if data["requests"] else math.nan,
                p99_ms=data["p99_us"] / 1000 if data["requests"] else math.nan,
                non_2xx=data["status_errors"] + (0 if status == 200 else data["requests"]),
                errors=errors,
                timeouts=data["timeouts"],
                requests=data["requests"],
                sql=sql,
                bytes=len(body),
                status=status,
            )
            self.results.append(result)
            say(
                f"  {target} ({mode}), {connections} connections: {result.rps:,.0f} req/s, "
                f"p50 {milliseconds(result.p50_ms)} ms, p99 {milliseconds(result.p99_ms)} ms"
                + (f", {result.non_2xx} non-2xx" if result.non_2xx else "")
                + (f", {errors} socket errors/timeouts" if errors else "")
            )
        return self.results[-len(self.args.connections) :]

    def find(self, target, mode, connections):
        for result in self.results:
            if (result.target, result.mode, result.connections) == (target, mode, connections):
                return result
        return None

    def best(self, target, mode, connections):
        """The best of the runs of `target` in `mode`, one per round (ROUNDS)."""
        runs = [self.find(target, mode + suffix, connections) for suffix in ROUNDS]
        return max((r for r in runs if r is not None), key=lambda r: r.rps, default=None)


def expect_stack(server, *, full):
    """Stops the run unless the bare view goes through the whole middleware stack (`full`) or
    through SecurityMiddleware alone: the Content-Security-Policy header tells them apart."""
    status, headers, _ = request(server.port, "/bench/bare/")
    has_csp = any(name.lower() == "content-security-policy" for name in headers)
    if status != 200 or has_csp != full:
        raise SystemExit(
            f"The bare view on gunicorn ({server.name}) answered {status} "
            f"{'without' if full else 'with'} the project's middleware (bench/wsgi.py)."
        )


# In-process measurements (the bench process runs the same settings and database) ---------------


def client():
    from django.test import Client

    return Client(headers={PROXY_HEADER[0]: PROXY_HEADER[1]})


def count_queries(browser, path, *, cached):
    """SQL queries of one request for `path` in this process, after a first request that warms
    it (and fills the page cache when `cached`): (count, queries, response)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.caches import serve_pages

    serve_pages(cached)
    try:
        browser.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = browser.get(path)
    finally:
        serve_pages(False)
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code} in the benchmark's process.")
    # Django's handler sets `resolver_match` when it calls the view: a page the page cache
    # serves never gets that far.
    if not cached and response.wsgi_request.resolver_match is None:
        raise SystemExit(
            f"{path} was served by the page cache with the page cache off, so bench/caches.py "
            "no longer recognises its entries (newsroom.page_cache.page_key)."
        )
    return len(captured), captured.captured_queries, response


def cold_queries(browser, path):
    """SQL queries of one request for `path` right after a purge, in this process with the page
    cache off: everything the page is made of is read again, a listing's page of ids among
    them (kept in the object cache otherwise)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from newsroom.page_cache import purge

    purge()
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(path)
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code} in the benchmark's process.")
    return captured.captured_queries


def explain(queries):
    """EXPLAIN (ANALYZE, BUFFERS) of the listing query among `queries` (the one with an
    OFFSET; else the slowest)."""
    from django.db import connection

    listing = [q for q in queries if "OFFSET" in q["sql"].upper()]
    chosen = listing[0] if listing else max(queries, key=lambda q: float(q["time"]))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + chosen["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return chosen["sql"], plan


def webhook_queries(browser, secret, subscription):
    """SQL queries of one signed invoice.paid delivery, in this process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench import webhook

    now = int(time.time())
    subscription_id, customer_id = subscription
    token = time.time_ns()
    invoice = webhook.invoice_paid(f"in_benchprobe_{token}", subscription_id, customer_id, now)
    data = webhook.event(f"evt_benchprobe_{token}", "invoice.paid", invoice, now)
    body = json.dumps(data).encode()
    with CaptureQueriesContext(connection) as captured:
        response = browser.post(
            webhook.WEBHOOK_PATH,
            data=body,
            content_type="application/json",
            headers={"Stripe-Signature": webhook.signature(body, secret)},
        )
    if response.status_code != 200 or response.content != b"OK":
        raise SystemExit(
            f"The webhook answered {response.status_code} {response.content[:100]!r} to a new "
            "signed event."
        )
    return len(captured)


# Database ---------------------------------------------------------------------------------------


def server_connection(server_url):
    import psycopg

    parts = urlsplit(server_url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        autocommit=True,
    )


def database_url(server_url, name):
    parts = urlsplit(server_url)
    return parts._replace(path=f"/{name}").geturl()


def prepare_database(args, cleanup):
    """The database to run on: made now (dropped at the end), or the kept one."""
    throwaway = getattr(args, "throwaway", None)
    if args.database:
        name, keep = args.database, True
    elif throwaway:
        name, keep = throwaway, False
    elif args.keep:
        name, keep = f"newsroom_bench_{args.articles}", True
    else:
        name, keep = f"newsroom_bench_{os.getpid()}", False
    try:
        with server_connection(args.server) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            version = admin.execute("SHOW server_version").fetchone()[0]
            if exists and throwaway:
                raise SystemExit(f"The database {name} exists: a throwaway one must not.")
            if not exists:
                admin.execute(f'CREATE DATABASE "{name}"')
    except SystemExit:
        raise
    except Exception as error:
        raise SystemExit(
            f"Cannot reach PostgreSQL at {args.server} ({error}). Start it, or name another "
            "server with --server postgres://user@host:port/postgres."
        ) from error
    if not keep:

        def drop():
            from django.apps import apps

            if apps.ready:
                from django.db import connections

                for connection in connections.all():
                    connection.close()
                    if hasattr(connection, "close_pool"):
                        connection.close_pool()
            # FORCE ends the connections left (the gunicorn workers' pools are gone by now).
            with server_connection(args.server) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            say(f"Dropped the database {name}.")

        cleanup.add(f"drop the database {name}", drop)
    say(
        f"Database {name} on PostgreSQL {version} "
        + ("(kept; reused if seeded)" if keep else "(dropped at the end)")
        + ("" if not exists else ", found")
        + "."
    )
    return name, keep, version


# Report -----------------------------------------------------------------------------------------


def ratio(value, ceiling):
    return value / ceiling if ceiling else float("nan")


def percent(value):
    return "—" if value is None or math.isnan(value) else f"{value:.1%}"


def milliseconds(value):
    return "—" if math.isnan(value) else f"{value:.1f}"


def machine():
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores of {model}, {memory:.0f} GiB, Linux {platform.release()}"


def commit():
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + (" (with uncommitted changes)" if dirty else "")


def table(bench, ceilings):
    """The per-target table; ratios against the ceilings at the same number of connections."""
    header = (
        f"{'target':<28} {'mode':<18} {'conn':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'non-2xx':>7} {'errors':>6} {'SQL':>4} {'bytes':>9} {'÷nginx':>7} {'÷bare':>7}"
    )
    lines = [header, "-" * len(header)]
    for r in bench.results:
        # Rows asked with gzip against the saved article's .gz, the others against the page.
        encoding = next((e for e in ENCODINGS if e and e in r.mode), "")
        nginx_static = ceilings.get(("nginx" + encoding, r.connections))
        bare = ceilings.get(("bare", r.connections))
        lines.append(
            f"{r.target:<28.28} {r.mode:<18} {r.connections:>4} {r.rps:>8,.0f} "
            f"{milliseconds(r.p50_ms):>8} {milliseconds(r.p99_ms):>8} {r.non_2xx:>7} "
            f"{r.errors:>6} {'' if r.sql is None else r.sql:>4} "
            f"{'' if r.bytes is None else f'{r.bytes:,}':>9} "
            f"{percent(ratio(r.rps, nginx_static.rps) if nginx_static else None):>7} "
            f"{percent(ratio(r.rps, bare.rps) if bare else None):>7}"
        )
    return "\n".join(lines)


def steadiness(bench):
    """What the rounds say of the machine: how far the set-up that moved most between its runs
    (one a round) moved, and whether that is past `STEADY`. Nothing when nothing ran twice."""
    runs = {}
    for r in bench.results:
        mode = r.mode
        for suffix in ROUNDS[1:]:
            mode = mode.removesuffix(suffix)
        runs.setdefault((r.target, mode, r.connections), []).append(r.rps)
    moved = [
        (1 - min(rps) / max(rps), key, min(rps), max(rps))
        for key, rps in runs.items()
        if len(rps) > 1 and max(rps) > 0
    ]
    if not moved:
        return ""
    share, (target, mode, connections), low, high = max(moved)
    line = (
        f"Between rounds, {target} ({mode}) at c{connections} moved most: {low:,.0f}–{high:,.0f} "
        f"req/s, its lowest run {share:.1%} under its highest."
    )
    if share > STEADY:
        line += (
            f" More than {STEADY:.0%}: other work on the machine moved this run's figures, and "
            "each ratio holds only as well as its best runs do. For figures to keep, run again "
            "on a quiet machine."
        )
    return line


def verdict(label, ok, detail):
    """One line of the targets: met, NOT MET, or n/a (`ok` None)."""
    if ok is None:
        return f"  n/a      {label}: {detail}"
    return f"  {'met' if ok else 'NOT MET':<8} {label}: {detail}"


def verdicts(bench, ceilings, webhook_result, webhook_problems, middleware):
    """The issue's targets, met or not, from this run's figures."""
    lines = []

    def check(label, ok, detail):
        lines.append(verdict(label, ok, detail))

    for connections in bench.args.connections:
        bare = ceilings.get(("bare", connections))
        for target, mode, floor in (
            ("article", "uncached", 0.15),
            ("home", "uncached", 0.05),
            (f"home page {bench.deep_page}", "uncached", 0.04),
            ("article", "cached", 0.85),
        ):
            r = bench.best(target, mode, connections)
            if r is None or bare is None:
                continue
            share = r.rps / bare.rps
            ok = share >= floor and (r.timeouts == 0 if "page" in target else True)
            check(
                f"{target} {mode} ≥ {floor:.0%} of bare Django, c{connections}",
                ok,
                f"{share:.1%}" + (f", {r.timeouts} timeouts" if r.timeouts else ""),
            )
        # Each page through the edge against nginx serving the same bytes from a file: what
        # proxying and caching cost, not the size of the page.
        for (target, kind), encoding in itertools.product(STATIC_CEILING.items(), ENCODINGS):
            r = bench.best(target, "edge" + encoding, connections)
            static = ceilings.get((kind + encoding, connections))
            if r is None or static is None:
                continue
            share = r.rps / static.rps
            check(
                f"{target}{encoding} behind the shipped nginx ≥ 70% of nginx serving its saved "
                f"copy, p99 ≤ 2×, c{connections}",
                share >= 0.70 and r.p99_ms <= 2 * static.p99_ms,
                f"{share:.1%}, p99 {r.p99_ms:.1f} ms vs {static.p99_ms:.1f} ms",
            )
        if middleware.get(connections) is not None:
            check(
                f"project middleware: bare view ≥ 80% of SecurityMiddleware alone, c{connections}",
                middleware[connections] >= 0.80,
                f"{middleware[connections]:.1%}",
            )
    bad = sorted({f"{r.target} ({r.mode})" for r in bench.results if r.non_2xx or r.status != 200})
    if webhook_result is not None and webhook_result.non_2xx:
        bad.append("the webhook")
    check("0 non-2xx responses in every run", not bad, ", ".join(bad) or "none")
    limits = {
        "article": 3,
        "home": 4,
        "section": 4,
        f"home page {bench.deep_page}": 4,
    }
    for target, limit in limits.items():
        r = bench.find(target, "uncached", bench.args.connections[0])
        if r is not None and r.sql is not None:
            check(
                f"SQL per request, {target} ≤ {limit} (compare a run at another size)",
                r.sql <= limit,
                f"{r.sql}",
            )
    if webhook_result is not None:
        p99 = webhook_result.percentile(99)
        check(
            f"webhook: p99 < 2 s at {WEBHOOK_CONCURRENCY} concurrent, all 2xx, each applied once",
            p99 < 2 and not webhook_result.non_2xx and not webhook_problems,
            f"p99 {p99 * 1000:.0f} ms, {webhook_result.non_2xx} non-2xx"
            + (f"; {'; '.join(webhook_problems)}" if webhook_problems else "; applied once each"),
        )
    return "\n".join(lines)


# The run ----------------------------------------------------------------------------------------


def main():
    run_and_report(arguments(), run, "Newsroom load benchmark")


def run_and_report(args, run_, title):
    """`run_(args, workdir, cleanup)` with a temporary directory, undoing what it made whatever
    happens (Ctrl-C, SIGTERM, an error), then prints its report under `title`."""
    cleanup = Cleanup()

    def stop(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    workdir = Path(tempfile.mkdtemp(prefix="newsroom-bench-"))
    cleanup.add(f"remove {workdir}", lambda: shutil.rmtree(workdir, ignore_errors=True))
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    try:
        report = run_(args, workdir, cleanup)
    except KeyboardInterrupt as interruption:
        print(
            f"\nInterrupted ({str(interruption) or 'Ctrl-C'}); stopping what the benchmark started…"
        )
        report = None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cleanup.run()
    if report is None:
        sys.exit(130)
    header = (
        f"{title}, {started:%Y-%m-%d %H:%M} UTC; {machine()}; "
        f"load average {load_before[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end."
    )
    text = header + "\n" + report
    print("\n" + text, flush=True)
    if args.report:
        Path(args.report).write_text(text + "\n")
        say(f"Report written to {args.report}.")


@dataclass
class Site:
    """The seeded site that the benchmark's gunicorn processes serve (prepare_site)."""

    database: str
    pg_version: str
    redis_port: int
    var: Path
    www: Path
    webhook_secret: str
    seeding: object
    search_seconds: float
    pictures: int
    rendition_seconds: float
    subscriptions: list


def prepare_site(args, workdir, cleanup):
    """The database (made or kept), a Redis server, the production settings in this process's
    environment (which the gunicorn processes copy), then the migrations, the archive, the
    members, the statistics and the static files."""
    name, _keep, pg_version = prepare_database(args, cleanup)
    redis_port = start_redis(workdir / "redis", cleanup)
    var = workdir / "var"
    (var / "media").mkdir(parents=True)
    www = workdir / "www"
    www.mkdir()
    webhook_secret = "whsec_bench_" + secrets.token_hex(16)
    environment = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "NEWSROOM_VAR_DIR": str(var),
        "DJANGO_MEDIA_ROOT": str(var / "media"),
        "DATABASE_URL": database_url(args.server, name),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        # Test mode; the API base is a port where nothing listens, so any call to Stripe from
        # an event's handling fails at once instead of reaching Stripe.
        "STRIPE_SECRET_KEY": "sk_test_bench_not_a_real_key",
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "DJANGO_LOG_LEVEL": "WARNING",
        "BENCH_PAGE_CACHE": "off",
        "BENCH_BARE_HTML": str(www / "article.html"),
    }
    os.environ.update(environment)
    import django

    django.setup()
    from django.core.management import call_command

    from bench import seed

    say("Migrating…")
    call_command("migrate", verbosity=0)
    say(f"Seeding {args.articles:,} English stories (the demo newsroom, bulk_create)…")
    seeding = seed.seed_stories(args.articles)
    if seeding.added:
        say(
            f"Seeded {seeding.added:,} stories in {seeding.seconds:.1f} s: "
            f"{seeding.rate:,.0f} stories/s ({seeding.total:,} in the archive)."
        )
    say("Search vectors…")
    search_seconds = seed.index_for_search()
    say(f"Renditions of the {seed.SHARED_PICTURES} pictures the stories share…")
    pictures, rendition_seconds = seed.build_renditions(seed.share_pictures())
    say(f"Members with subscriptions ({args.members})…")
    subscriptions = seed.seed_members(args.members)
    say("VACUUM ANALYZE…")
    seed.analyze()
    say("collectstatic…")
    call_command("collectstatic", interactive=False, verbosity=0)
    return Site(
        name,
        pg_version,
        redis_port,
        var,
        www,
        webhook_secret,
        seeding,
        search_seconds,
        pictures,
        rendition_seconds,
        subscriptions,
    )


def start_edge(workdir, site, upstream_port, cleanup, *, purge_secret=None, purge_port=None):
    """The benchmark's nginx: the static ceiling (the saved article page) and the shipped
    configuration in front of the gunicorn on `upstream_port`, with its purge endpoint on
    `purge_port` taking `purge_secret` when given. Returns (nginx, static port, edge port)."""
    nginx_dir = workdir / "nginx"
    nginx_dir.mkdir()
    (nginx_dir / "log").mkdir()
    static_port, edge_port = free_port(), free_port()
    fixed = [purge_port] if purge_port else []
    site_text = nginx.render_site(
        (ROOT / "deploy/nginx/newsroom.conf").read_text(),
        port=edge_port,
        upstream=f"127.0.0.1:{upstream_port}",
        checkout=ROOT,
        var_dir=site.var,
        cache_dir=nginx_dir / "cache",
        log_dir=nginx_dir / "log",
        other_port=lambda: fixed.pop(0) if fixed else free_port(),
        purge_secret=purge_secret,
    )
    lua = nginx.needs_lua(site_text)
    if lua:
        ensure_lua_module()
    (nginx_dir / "site.conf").write_text(site_text)
    proxy = nginx.Nginx(
        nginx_dir,
        nginx.main_config(
            directory=nginx_dir,
            site_file=nginx_dir / "site.conf",
            static_root=site.www,
            static_port=static_port,
            workers=os.cpu_count() or 2,
            lua=lua,
        ),
    )
    say("nginx -t on the rendered deploy/nginx/newsroom.conf: " + proxy.test().splitlines()[-1])
    cleanup.add("stop nginx", proxy.stop)
    proxy.start()
    return proxy, static_port, edge_port


def run(args, workdir, cleanup):
    ensure_tools()
    sampler = MemorySampler()
    sampler.start()
    cleanup.add("stop the memory sampler", sampler.stopping.set)
    bench = Bench(args, cleanup, sampler)
    site = prepare_site(args, workdir, cleanup)
    pg_version, www, webhook_secret = site.pg_version, site.www, site.webhook_secret
    seeding, subscriptions = site.seeding, site.subscriptions
    search_seconds, pictures = site.search_seconds, site.pictures
    rendition_seconds = site.rendition_seconds
    import django
    from django.utils.text import compress_string

    from bench import seed, webhook

    targets = seed.choose_targets()
    bench.deep_page = targets.deep_page
    paths = {name_: path for name_, path in targets.paths.items() if bench.wanted(name_)}
    say(
        f"Targets: {', '.join(paths)}; the deepest home page is {targets.deep_of} "
        f"(measuring page {targets.deep_page})."
    )

    # In this process: the saved article page, SQL per request, the deep page's plan.
    browser = client()
    say("Counting SQL queries per request (in this process, one request each)…")
    sql = {}
    for target, path in paths.items():
        sql[(target, "uncached")], _, _ = count_queries(browser, path, cached=False)
        sql[(target, "cached")], _, _ = count_queries(browser, path, cached=True)
    # The pages the edge serves, saved as static files: nginx serving each is its ceiling (a).
    saved = {}
    for target in STATIC_CEILING:
        if target == "article" or target in paths:
            _, _, response = count_queries(browser, targets.paths[target], cached=False)
            (www / f"{target}.html").write_bytes(response.content)
            # What the app sends browsers (newsroom.page_cache), for nginx's gzip_static.
            (www / f"{target}.html.gz").write_bytes(compress_string(response.content))
            saved[target] = f"/{target}.html"
    deep_path = targets.paths[f"home page {targets.deep_page}"]
    deep_sql, deep_plan = explain(cold_queries(browser, deep_path))
    # A tag's deepest page: its ids come from the filings, not the stories' own index.
    tag_page = seed.deepest_tag_page()
    if tag_page is not None:
        tag_sql, tag_plan = explain(cold_queries(browser, tag_page[2]))
    webhook_sql = webhook_queries(browser, webhook_secret, subscriptions[0])
    from django.db import connections

    connections.close_all()

    # nginx: the static ceiling, and the shipped configuration in front of gunicorn.
    logs = workdir / "logs"
    logs.mkdir()
    cached_server = Gunicorn(
        "cached", args.workers, os.environ.copy() | {"BENCH_PAGE_CACHE": "on"}, logs, cleanup
    )
    proxy, static_port, edge_port = start_edge(workdir, site, cached_server.port, cleanup)

    ceilings = {}

    def ceiling(kind, results):
        # Each ceiling is measured once a round and the best run counts (see below).
        for r in results:
            best = ceilings.get((kind, r.connections))
            if best is None or r.rps > best.rps:
                ceilings[(kind, r.connections)] = r

    def static_ceiling(encoding, again):
        for target, path in saved.items():
            mode = "static" + encoding + again
            say(f"Ceiling (a): nginx serving the saved {target} page as a static file ({mode})")
            ceiling(
                STATIC_CEILING[target] + encoding,
                bench.measure(
                    static_port, STATIC_TARGET[target], mode, path, headers=ENCODINGS[encoding]
                ),
            )

    # Uncached: every request misses the app's page cache.
    uncached_server = Gunicorn(
        "uncached", args.workers, os.environ.copy() | {"BENCH_PAGE_CACHE": "off"}, logs, cleanup
    )
    say(f"gunicorn, {args.workers} sync workers, page cache missing every page (uncached)…")
    uncached_server.start()
    sampler.watch(uncached_server)
    for target, path in paths.items():
        bench.measure(
            uncached_server.port,
            target,
            "uncached",
            path,
            server=uncached_server,
            sql=sql[(target, "uncached")],
        )
    sampler.finish()
    uncached_server.stop()

    # The production set-up: the page cache on.
    say(f"gunicorn, {args.workers} sync workers, page cache on (the production set-up)…")
    cached_server.start()
    expect_stack(cached_server, full=True)
    sampler.watch(cached_server)
    for target, path in paths.items():
        bench.measure(
            cached_server.port,
            target,
            "cached",
            path,
            server=cached_server,
            sql=sql[(target, "cached")],
        )
    sampler.finish()

    # Each comparison of two set-ups measures them in turn, three times (A B A B A B), and the
    # best run of each counts: the machine's other work only ever lowers a figure, and it comes
    # and goes within seconds on a shared machine, so runs apart in time would compare it, not
    # the set-ups. Ceiling (b) against (c): the project's middleware against SecurityMiddleware
    # alone, two gunicorns started side by side.
    security_server = Gunicorn(
        "SecurityMiddleware only",
        args.workers,
        os.environ.copy() | {"BENCH_MIDDLEWARE": "security"},
        logs,
        cleanup,
    )
    security_server.start()
    expect_stack(security_server, full=False)
    sides = (
        ("bare", cached_server, "(b)", "full stack", "through the project's middleware"),
        ("security", security_server, "(c)", "security", "behind SecurityMiddleware alone"),
    )
    for again in ROUNDS:
        for kind, server, label, mode, how in sides:
            say(f"Ceiling {label}: a bare view returning the saved page, {how}")
            sampler.watch(server)
            results = bench.measure(
                server.port,
                f"bare view {label}",
                mode + again,
                "/bench/bare/",
                server=server,
                sql=0,
            )
            ceiling(kind, results)
            sampler.finish()
        # The article from the page cache is compared with (b) too: its first run is the
        # one above, the next two follow rounds 2 and 3 of (b) and (c).
        if again and "article" in paths:
            say("The article from the page cache, again (against ceiling (b))")
            sampler.watch(cached_server)
            bench.measure(
                cached_server.port,
                "article",
                "cached" + again,
                paths["article"],
                server=cached_server,
                sql=sql[("article", "cached")],
            )
            sampler.finish()
    security_server.stop()

    # Ceiling (a) against the edge: nginx serving the page from a file, then the shipped
    # configuration in front of the cached gunicorn (anonymous pages cached at the edge).
    for again, encoding in itertools.product(ROUNDS, ENCODINGS):
        static_ceiling(encoding, again)
        say("The shipped nginx configuration in front (anonymous pages cached at the edge)")
        for target in STATIC_CEILING:
            if target in paths:
                bench.measure(
                    edge_port,
                    target,
                    "edge" + encoding + again,
                    paths[target],
                    server=cached_server,
                    headers=ENCODINGS[encoding],
                )
    edge_log = proxy.directory / "log" / "newsroom.access.log"
    edge_hits = edge_misses = None
    proxy.flush_logs(edge_log)
    if edge_log.exists():
        log_text = edge_log.read_text()
        edge_hits, edge_misses = log_text.count("cache=HIT"), log_text.count("cache=MISS")
    sampler.watch(cached_server)
    webhook_result, webhook_problems = None, []
    if bench.wanted("webhook"):
        bench.settle(cached_server)
        say(
            f"The Stripe webhook: signed events from {WEBHOOK_CONCURRENCY} concurrent clients "
            f"for {args.seconds} s…"
        )
        webhook_result = webhook.drive(
            "127.0.0.1",
            cached_server.port,
            webhook_secret,
            subscriptions,
            seed.BENCH_PRICE_ID,
            seconds=args.seconds,
            concurrency=WEBHOOK_CONCURRENCY,
        )
        webhook_problems = webhook.applied_exactly_once(webhook_result)
        connections.close_all()
        say(
            f"  webhook: {webhook_result.requests / webhook_result.seconds:,.0f} events/s, "
            f"p50 {webhook_result.percentile(50) * 1000:.0f} ms, "
            f"p99 {webhook_result.percentile(99) * 1000:.0f} ms, statuses {webhook_result.statuses}"
        )
    sampler.finish()
    cached_server.stop()

    proxy.stop()

    # The report.
    middleware = {
        c: ratio(ceilings[("bare", c)].rps, ceilings[("security", c)].rps) for c in args.connections
    }
    out = [""]
    out.append(
        f"PostgreSQL {pg_version}, Python {platform.python_version()}, Django "
        f"{django.get_version()}, {version_of([sys.executable, '-m', 'gunicorn', '--version'])}"
        f" ({args.workers} sync workers), {version_of([nginx.NGINX, '-v'])}, "
        f"{version_of(['wrk', '-v'])}; commit {commit()}."
    )
    out.append(
        f"{args.seconds} s per run after {args.warmup} s of warm-up; every request carries "
        "X-Forwarded-Proto: https. SQL: one request in the benchmark's process (Django's test "
        "client, CaptureQueriesContext, same database and settings) after a warming one."
    )
    out.append("")
    out.append(table(bench, ceilings))
    out.append("")
    out.append(
        "÷nginx: req/s over nginx serving the saved article page (ceiling a; for the rows "
        "asked with gzip, its .gz); ÷bare: over the bare view through the project's middleware "
        "(ceiling b), at the same connections."
    )
    for c in args.connections:
        for (target, kind), encoding in itertools.product(STATIC_CEILING.items(), ENCODINGS):
            edge = bench.best(target, "edge" + encoding, c)
            static = ceilings.get((kind + encoding, c))
            if edge is not None and static is not None:
                asked = "as browsers ask (gzip)" if encoding else "without gzip"
                out.append(
                    f"Edge, c{c}: the {target} page through the shipped nginx, {asked}, serves "
                    f"{percent(ratio(edge.rps, static.rps))} of what nginx serves from its saved "
                    f"copy ({static.bytes:,} bytes)."
                )
        out.append(
            f"Middleware stack, c{c}: the bare view through the project's middleware serves "
            f"{percent(middleware[c])} of what it serves behind SecurityMiddleware alone."
        )
    if steady := steadiness(bench):
        out.append(steady)
    if edge_hits is not None:
        out.append(f"Edge cache (nginx access log): {edge_hits:,} hits, {edge_misses:,} misses.")
    if webhook_result is not None:
        w = webhook_result
        out.append("")
        out.append(
            f"Stripe webhook, {WEBHOOK_CONCURRENCY} concurrent clients, {w.seconds:.1f} s: "
            f"{w.requests:,} deliveries ({len(w.deliveries.sent):,} distinct events, "
            f"{w.repeats:,} repeats), {w.requests / w.seconds:,.0f}/s, p50 "
            f"{w.percentile(50) * 1000:.0f} ms, p99 {w.percentile(99) * 1000:.0f} ms, "
            f"{w.non_2xx} non-2xx, {webhook_sql} SQL queries per invoice.paid; "
            + (
                "each applied exactly once."
                if not webhook_problems
                else "; ".join(webhook_problems)
            )
        )
        if w.errors:
            out.append(f"  unexpected answers: {w.errors[:5]}")
    out.append("")
    out.append(
        "Peak memory per gunicorn worker (resident size sampled every 0.2 s from /proc, and "
        "the kernel's own peak, VmHWM):"
    )
    for server in (uncached_server, cached_server, security_server):
        peaks = sampler.peaks.get(server.name, {})
        if not peaks:
            continue
        sampled = max(rss for rss, _hwm in peaks.values())
        hwm = max(hwm for _rss, hwm in peaks.values())
        restarts = f", gunicorn restarted {server.restarts}×" if server.restarts else ""
        out.append(
            f"  {server.name}: {sampled / 1024:.0f} MiB sampled, VmHWM {hwm / 1024:.0f} MiB "
            f"(the largest of {len(peaks)} workers{restarts})"
        )
    out.append("")
    if seeding.added:
        out.append(
            f"Seeding: {seeding.added:,} stories (English and their Russian editions) in "
            f"{seeding.seconds:.1f} s, {seeding.rate:,.0f} stories/s; search vectors "
            f"{search_seconds:.1f} s; renditions of {pictures} pictures {rendition_seconds:.1f} s. "
            f"Archive: {seeding.total:,} stories."
        )
    else:
        out.append(
            f"Seeding: none (the kept database already had the archive, {seeding.total:,} stories)."
        )
    out.append("")
    out.append(f"EXPLAIN (ANALYZE, BUFFERS) of home page {bench.deep_page}'s listing query:")
    out.append("  " + deep_sql)
    out.append("\n".join("  " + line for line in deep_plan.splitlines()))
    if tag_page is not None:
        slug, number, _ = tag_page
        out.append(f"EXPLAIN (ANALYZE, BUFFERS) of tag {slug}'s page {number}'s listing query:")
        out.append("  " + tag_sql)
        out.append("\n".join("  " + line for line in tag_plan.splitlines()))
    out.append("")
    out.append("Targets (issue 14), from this run:")
    out.append(verdicts(bench, ceilings, webhook_result, webhook_problems, middleware))
    went_wrong = any(r.non_2xx or r.errors or r.status != 200 for r in bench.results) or (
        webhook_result is not None and (webhook_result.non_2xx or webhook_problems)
    )
    for log in sorted(logs.glob("gunicorn-*.log")) if went_wrong else ():
        # The app's warnings and errors (DJANGO_LOG_LEVEL=WARNING), gone with the temporary
        # directory: what a non-2xx or a failed event says about itself.
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        if lines:
            bench.notes.append(f"The last lines of {log.name} ({len(lines)} lines):")
            bench.notes.extend("  " + line[:300] for line in lines[-15:])
    if bench.notes:
        out.append("")
        out.extend(bench.notes)
    return "\n".join(out)


if __name__ == "__main__":
    main()
