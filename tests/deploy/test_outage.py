"""Real database outages behind real app servers (checks 14 and 67).

gunicorn with the production settings (as tests/deploy/test_scale_out.py starts it), on a
throwaway PostgreSQL cluster of its own (tests.deploy.servers.PostgresCluster: stopped, its
role refused, started again) with the page cache in a throwaway Redis; and on a SQLite file
that another connection holds with `BEGIN EXCLUSIVE`. Stripe deliveries are signed as Stripe
signs them (tests/members/stripe_events.py).

The PostgreSQL tests run in the PostgreSQL phase only, the SQLite one in the SQLite phase.
"""

import secrets
import sqlite3
import sys
import threading
import time

import psycopg
import pytest
from django.db import connection

from tests.deploy.http import Browser
from tests.deploy.production import environment
from tests.deploy.servers import ROOT, PostgresCluster, Process, app_server, children, redis_server
from tests.members.stripe_events import (
    SECRET,
    URL,
    body_of,
    donation_session,
    make_event,
    signature,
)

#: Check 14: the webhook's answer while the database is away comes within this many seconds.
WEBHOOK_BOUND = 5
#: Check 67: an uncached page's answer while the database is away comes within this.
PAGE_BOUND = 1


def start_site(var_dir, directory, database_url, workers, **settings):
    """The schema on `database_url`, then gunicorn with the production settings on it."""
    env = environment(
        var_dir,
        database_url,
        STRIPE_WEBHOOK_SECRET=SECRET,
        STRIPE_SECRET_KEY="sk_test_newsroom",
        **settings,
    )
    migrate = Process(
        "migrate",
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        directory / "migrate.log",
        env=env,
        cwd=ROOT,
    )
    assert migrate.process.wait(timeout=180) == 0, migrate.tail()
    server = app_server("outage", directory, env, workers=workers)
    server.wait_for(f"{server.url}/healthz")
    return server


def reader(server):
    return Browser(server.url, headers={"X-Forwarded-Proto": "https"}, timeout=60)


def a_gift():
    """A signed `checkout.session.completed` for a paid one-off gift with fresh ids."""
    token = secrets.token_hex(6)
    event = make_event(
        "checkout.session.completed",
        donation_session(
            id=f"cs_gift_{token}", payment_intent=f"pi_gift_{token}", payment_status="paid"
        ),
    )
    return event


def deliver(server, event):
    """POST the event as Stripe does (signed now); the response and its time in seconds."""
    body = body_of(event)
    started = time.monotonic()
    response = reader(server).request(
        "POST",
        URL,
        body=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature(body)},
    )
    return response, time.monotonic() - started


def redeliver_until_accepted(server, event, timeout=30):
    """Stripe's retries: until a 2xx; every other answer meanwhile must be a 5xx."""
    deadline = time.monotonic() + timeout
    while True:
        response, _ = deliver(server, event)
        if 200 <= response.status < 300:
            return response
        assert response.status >= 500, (response.status, response.text)
        assert time.monotonic() < deadline, f"not accepted within {timeout} s\n{server.tail()}"
        time.sleep(0.5)


def until_served(server, path, timeout=20, in_a_row=10):
    """Asks for `path` until it is served `in_a_row` times running (both workers, their pools
    connected again), failing after `timeout` s."""
    deadline = time.monotonic() + timeout
    served = 0
    while served < in_a_row:
        served = served + 1 if reader(server).get(path).status == 200 else 0
        assert time.monotonic() < deadline, (
            f"{path} still failing after {timeout} s\n{server.tail()}"
        )
        if not served:
            time.sleep(0.25)


# PostgreSQL -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory, var_dir):
    """A throwaway cluster (the app's own role `newsroom`), Redis and gunicorn with 2 workers,
    all stopped and removed at the end, whatever happened."""
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL outages run in the PostgreSQL phase (DATABASE_URL)")
    directory = tmp_path_factory.mktemp("outage")
    cluster = PostgresCluster()
    processes = []
    try:
        cluster.start()
        cluster.execute("CREATE ROLE newsroom LOGIN")
        cluster.execute("CREATE DATABASE newsroom OWNER newsroom")
        cache = redis_server(directory)
        processes.append(cache)
        server = start_site(
            var_dir,
            directory,
            cluster.url(user="newsroom", database="newsroom"),
            workers=2,
            REDIS_URL=cache.url,
        )
        processes.append(server)
        yield type("Site", (), {"cluster": cluster, "server": server, "processes": processes})
    finally:
        for process in reversed(processes):
            process.stop()
        cluster.remove()


@pytest.fixture(autouse=True)
def database_up_again(request):
    """Whatever a test did, the next one starts with the cluster running and the role
    allowed in."""
    yield
    if "site" in request.fixturenames:
        site = request.getfixturevalue("site")
        if not site.cluster.server.running():
            site.cluster.start()
        site.cluster.execute("ALTER ROLE newsroom LOGIN")


def applied(cluster, event):
    """(rows of the event, its attempts, whether processed, gifts recorded for it)."""
    session = event["data"]["object"]["id"]
    rows = cluster.execute(
        "SELECT attempts, processed_at IS NOT NULL FROM members_stripeevent WHERE stripe_id = %s",
        event["id"],
        database="newsroom",
    )
    gifts = cluster.execute(
        "SELECT count(*) FROM members_donation WHERE stripe_checkout_session_id = %s",
        session,
        database="newsroom",
    )[0][0]
    return rows, gifts


def assert_applied_once(site, event):
    assert applied(site.cluster, event) == ([(1, True)], 1)
    assert redeliver_until_accepted(site.server, event).text == "Already processed."
    assert applied(site.cluster, event) == ([(1, True)], 1)


def test_while_postgresql_is_stopped_the_webhook_answers_5xx_fast_then_the_retry_applies_once(
    site,
):
    """Check 14: PostgreSQL stopped → a signed webhook gets a 5xx within 5 s (never a 2xx);
    after the cluster is back, Stripe's redelivery is accepted and applied exactly once."""
    event = a_gift()
    site.cluster.stop()
    for _ in range(4):  # both workers, idle connections of the pool and none left
        response, seconds = deliver(site.server, event)
        assert response.status >= 500, (response.status, response.text)
        assert seconds < WEBHOOK_BOUND, seconds
    site.cluster.start()
    redeliver_until_accepted(site.server, event)
    assert_applied_once(site, event)


def test_with_the_apps_role_refused_the_webhook_answers_5xx_then_the_retry_applies_once(site):
    """Check 14: the app's role loses its log-in and its sessions are ended → 5xx within 5 s;
    with the role restored, the redelivery is applied exactly once."""
    event = a_gift()
    site.cluster.execute("ALTER ROLE newsroom NOLOGIN")
    site.cluster.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'newsroom'"
    )
    for _ in range(4):
        response, seconds = deliver(site.server, event)
        assert response.status >= 500, (response.status, response.text)
        assert seconds < WEBHOOK_BOUND, seconds
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        psycopg.connect(site.cluster.url(user="newsroom", database="newsroom")).close()
    assert applied(site.cluster, event) == ([], 0)
    site.cluster.execute("ALTER ROLE newsroom LOGIN")
    redeliver_until_accepted(site.server, event)
    assert_applied_once(site, event)


def test_postgresql_down_for_30_s_under_load_cached_pages_serve_others_fail_fast_then_recover(
    site,
):
    """Check 67: PostgreSQL stopped for 30 s while four readers and Stripe keep asking →
    the cached front page keeps answering 200, an uncached page the branded 503 (Retry-After,
    never stored) in under 1 s, the webhook a 5xx; once the cluster is back the errors stop
    without restarting gunicorn."""
    server = site.server
    workers = sorted(children(server.process.pid))
    assert len(workers) == 2
    cached, uncached = "/", "/ru/"
    # The tests before stopped the cluster or refused the role: until each worker's pool has
    # connected again, its first requests may still get the 503 (/healthz asks the database;
    # the reader pages would be kept by the page cache).
    until_served(server, "/healthz")
    assert reader(server).get(cached).status == 200  # now in the page cache (Redis)

    results = []
    stop = threading.Event()

    def keep_reading(path):
        while not stop.is_set():
            started = time.monotonic()
            response = reader(server).get(path)
            results.append((path, response, time.monotonic() - started))

    def keep_delivering():
        while not stop.is_set():
            response, seconds = deliver(server, a_gift())
            results.append((URL, response, seconds))
            time.sleep(1)

    site.cluster.stop()
    threads = [
        threading.Thread(target=keep_reading, args=(path,))
        for path in (cached, cached, uncached, uncached)
    ] + [threading.Thread(target=keep_delivering)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(30)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    site.cluster.start()

    by_path = {path: [r for r in results if r[0] == path] for path in (cached, uncached, URL)}
    counts = {path: len(answers) for path, answers in by_path.items()}
    print("answers while PostgreSQL was down:", counts)
    slowest = max((seconds for _, _, seconds in by_path[uncached]), default=0)
    assert slowest < PAGE_BOUND, (slowest, counts)
    assert max((seconds for _, _, seconds in by_path[URL]), default=0) < WEBHOOK_BOUND
    assert all(count >= 5 for count in counts.values()), counts
    assert {response.status for _, response, _ in by_path[cached]} == {200}
    assert {response.status for _, response, _ in by_path[uncached]} == {503}
    unavailable = by_path[uncached][-1][1]
    assert "Мы скоро вернёмся" in unavailable.text  # the branded page, in /ru/'s language
    assert unavailable["Retry-After"] == "30"
    assert "no-store" in unavailable["Cache-Control"]
    assert all(response.status >= 500 for _, response, _ in by_path[URL]), [
        response.status for _, response, _ in by_path[URL]
    ]

    # Recovery: the same processes, no restart.
    until_served(server, "/healthz")
    assert reader(server).get(uncached).status == 200
    redeliver_until_accepted(server, a_gift(), timeout=5)
    assert sorted(children(server.process.pid)) == workers


# SQLite -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory, var_dir):
    """gunicorn (one worker, without Redis) on a SQLite file, stopped at the end."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite lock runs in the SQLite phase")
    directory = tmp_path_factory.mktemp("outage-sqlite")
    database = directory / "newsroom.sqlite3"
    server = start_site(var_dir, directory, f"sqlite:///{database}", workers=1)
    try:
        yield type("Site", (), {"server": server, "database": database})
    finally:
        server.stop()


def test_while_another_connection_locks_the_sqlite_file_the_webhook_answers_5xx_then_once(
    sqlite_site,
):
    """Check 14: another connection holds `BEGIN EXCLUSIVE` on the SQLite file past the web
    process's lock timeout (3 s) → the webhook answers a 5xx within 5 s ("database is
    locked" in the log); after the lock is released the redelivery is applied exactly once."""
    server = sqlite_site.server
    event = a_gift()
    holder = sqlite3.connect(sqlite_site.database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        response, seconds = deliver(server, event)
        assert response.status >= 500, (response.status, response.text)
        assert seconds < WEBHOOK_BOUND, seconds
        assert "database is locked" in server.log.read_text()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    redeliver_until_accepted(server, event, timeout=10)
    response, _ = deliver(server, event)
    assert response.status == 200 and response.text == "Already processed."

    with sqlite3.connect(sqlite_site.database) as reading:
        rows = reading.execute(
            "SELECT attempts, processed_at IS NOT NULL FROM members_stripeevent "
            "WHERE stripe_id = ?",
            (event["id"],),
        ).fetchall()
        gifts = reading.execute(
            "SELECT count(*) FROM members_donation WHERE stripe_checkout_session_id = ?",
            (event["data"]["object"]["id"],),
        ).fetchone()[0]
    assert (rows, gifts) == ([(1, 1)], 1)
