#!/usr/bin/env python
"""Caching under load: `make bench-caching` (security checks 65, 66 and 68; docs/performance.md).

The same site as `make bench` (bench/load.py: a seeded PostgreSQL database, Redis, gunicorn with
the production settings, the shipped nginx configuration in front, wrk), with the origin render
counter on (bench/renders.py: every request that gets past the page cache to a view is counted
per address) and the edge purge wired (the app posts to the benchmark's nginx after each
change). Three measurements, each printed with its targets met or not:

- **65, cached pages**: the article and the home page with wrk, uncached then from the page
  cache (starting empty): throughput, p99, non-2xx, socket errors, and the origin's renders
  over each run, whose hit ratio is 1 − renders ÷ requests.
- **66, breaking news**: while wrk hammers the home page (through the edge, then straight at
  gunicorn), an editor logs in through the real log-in form and publishes new stories with the
  admin's "Publish now" action, over HTTP; the time until each appears on the anonymous home
  page, the origin's renders of the home page per publish (no stampede), and the editor's admin
  requests' p95.
- **68, members**: 200 members, each with a session made beforehand and a sentinel name of
  their own, read a members-only story and their account page at concurrency 32 through the
  edge: each story must be the full text, and each account page must name that member and no
  other; p99 and errors; the anonymous teaser's hash before and after.

    .venv/bin/python bench/caching.py                       # 20,000 stories, 20 s per run
    .venv/bin/python bench/caching.py --articles 2000 --seconds 10
"""

import argparse
import hashlib
import http.client
import itertools
import math
import os
import platform
import re
import secrets
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from bench.load import Gunicorn, say, verdict  # noqa: E402
from bench.renders import hit_ratio  # noqa: E402

# The targets of the checks (docs/security.md, 65, 66 and 68).
HIT_RATIO = 0.95
CACHED_OVER_UNCACHED = 5
CACHED_P99_MS = 100
ADMIN_P95_S = 1.0
APPEARS_WITHIN_S = 1.0  # after the admin's answer: "at once", the purge being explicit
MEMBERS_P99_MS = 500
GATE = 'id="gate-heading"'  # the members-only story's teaser (templates/newsroom/article_detail)
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load.add_site_arguments(parser, seconds="20", connections="32", members=0)
    parser.add_argument(
        "--checks", default="65,66,68", help="which checks to run (default 65,66,68)"
    )
    parser.add_argument(
        "--publishes", type=int, default=3, help="stories the editor publishes per run (66)"
    )
    parser.add_argument("--readers", type=int, default=200, help="members reading at once (68)")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="members' concurrent clients (68)"
    )
    args = parser.parse_args()
    load.check_site_arguments(parser, args)
    args.checks = {word.strip() for word in args.checks.split(",") if word.strip()}
    if not args.checks <= {"65", "66", "68"}:
        parser.error("--checks takes 65, 66 and 68, separated by commas")
    if args.publishes < 1 or args.readers < 1 or args.concurrency < 1:
        parser.error("--publishes, --readers and --concurrency must be at least 1")
    args.targets = []  # every target of load.Bench
    return args


def percentile(values, p):
    """The `p`th percentile of `values` (nearest rank), NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def share(ratio):
    """A hit ratio to three decimals: one render in 40,000 requests is not 100%."""
    return "—" if ratio is None else f"{ratio:.3%}"


# 65: cached pages ------------------------------------------------------------------------------


@dataclass
class Counted:
    """wrk's runs of one page in one mode, and the origin's renders of it meanwhile."""

    target: str
    mode: str
    results: list
    renders: int
    requests: int  # wrk's completed requests and the probe

    @property
    def hit_ratio(self):
        return hit_ratio(self.renders, self.requests)


def counted(bench, counter, port, server, target, mode, path):
    """`path` measured by load.Bench (a probe, then wrk at each number of connections), with
    the render counter reset before: no warm-up, so a cold page cache's first render counts."""
    from bench import renders

    bench.settle(server)
    renders.reset(counter)
    results = bench.measure(port, target, mode, path, server=server, warm=False)
    requests = 1 + sum(r.requests for r in results)
    return Counted(target, mode, results, renders.renders(path, counter), requests)


def cached_pages_verdicts(runs, connections):
    lines = []
    by = {(run.target, run.mode): run for run in runs}
    for target in ("article", "home"):
        cached, uncached = by.get((target, "cached")), by.get((target, "uncached"))
        if cached is None:
            continue
        ratio = cached.hit_ratio
        lines.append(
            verdict(
                f"65 {target}: origin hit ratio ≥ {HIT_RATIO:.0%} over the cached runs",
                ratio is not None and ratio >= HIT_RATIO,
                f"{share(ratio)} ({cached.renders:,} render(s) for {cached.requests:,} requests)",
            )
        )
        for c in connections:
            hot = next(r for r in cached.results if r.connections == c)
            if uncached is not None:
                cold = next(r for r in uncached.results if r.connections == c)
                times = hot.rps / cold.rps if cold.rps else math.inf
                lines.append(
                    verdict(
                        f"65 {target}: cached ≥ {CACHED_OVER_UNCACHED}× uncached req/s, c{c}",
                        times >= CACHED_OVER_UNCACHED,
                        f"{times:,.1f}× ({hot.rps:,.0f} vs {cold.rps:,.0f} req/s)",
                    )
                )
            lines.append(
                verdict(
                    f"65 {target}: cached p99 < {CACHED_P99_MS} ms, 0 non-2xx, 0 socket "
                    f"errors, c{c}",
                    hot.p99_ms < CACHED_P99_MS and not hot.non_2xx and not hot.errors,
                    f"p99 {load.milliseconds(hot.p99_ms)} ms, {hot.non_2xx} non-2xx, "
                    f"{hot.errors} errors",
                )
            )
    return lines


# 66: breaking news --------------------------------------------------------------------------


def editor_browser(port, via_edge, email, password):
    """The editor's browser, logged in through the site's log-in form on `port`."""
    from tests.deploy.http import Browser

    # nginx passes the host without the port (proxy_set_header Host $host); the CSRF check
    # compares the Origin header with it.
    origin = "https://127.0.0.1" if via_edge else f"https://127.0.0.1:{port}"
    editor = Browser(
        f"http://127.0.0.1:{port}",
        headers={load.PROXY_HEADER[0]: load.PROXY_HEADER[1], "Origin": origin},
        timeout=60,
    )
    page = editor.get("/accounts/login/")
    token = CSRF_FIELD.search(page.text)
    if page.status != 200 or token is None:
        raise SystemExit(f"The log-in page answered {page.status} without a form.")
    answer = editor.post(
        "/accounts/login/",
        data={"csrfmiddlewaretoken": token[1], "login": email, "password": password},
    )
    if answer.status != 302 or "sessionid" not in editor.cookies:
        raise SystemExit(f"The editor could not log in: {answer.status} {answer.text[:300]!r}")
    return editor


@dataclass
class Breaking:
    """One run of check 66: wrk on the home page through `front`, an editor publishing."""

    front: str
    publishes: int
    wrk: dict = None
    admin_seconds: list = field(default_factory=list)
    admin_statuses: list = field(default_factory=list)
    appeared_after_answer: list = field(default_factory=list)  # seconds, None: never
    appeared_after_click: list = field(default_factory=list)
    home_renders: int = 0
    all_renders: int = 0


def breaking_news(args, counter, port, via_edge, email, password, token):
    """Publishes `args.publishes` new stories through the admin while wrk hammers the home page
    on `port` for `args.seconds`, evenly spread over the run."""
    from django.db import connections

    from bench import renders, seed

    front = "edge" if via_edge else "app"
    drafts = seed.breaking_drafts(args.publishes, f"{front}{token}")
    connections.close_all()
    editor = editor_browser(port, via_edge, email, password)
    run = Breaking(front, args.publishes)

    def timed(method, path, data=None):
        start = time.perf_counter()
        answer = editor.post(path, data=data) if method == "POST" else editor.get(path)
        run.admin_seconds.append(time.perf_counter() - start)
        run.admin_statuses.append(answer.status)
        return answer

    if load.request(port, "/")[0] != 200:  # the home page cached before the run
        raise SystemExit(f"The home page ({front}) does not answer 200.")
    renders.reset(counter)
    connections_ = max(args.connections)
    hammer = threading.Thread(
        target=lambda: setattr(run, "wrk", load.wrk(port, "/", connections_, args.seconds))
    )
    started = time.monotonic()
    hammer.start()
    gap = args.seconds / (args.publishes + 1)
    changelist = "/admin/newsroom/article/"
    for n, draft in enumerate(drafts):
        time.sleep(max(0.0, started + gap * (n + 1) - time.monotonic()))
        page = timed("GET", changelist)
        csrf = CSRF_FIELD.search(page.text)
        clicked = time.perf_counter()
        answer = timed(
            "POST",
            changelist,
            data={
                "csrfmiddlewaretoken": csrf[1] if csrf else "",
                "action": "publish_now",
                "select_across": "0",
                "index": "0",
                "_selected_action": str(draft.pk),
            },
        )
        answered = time.perf_counter()
        seen = None
        if answer.status == 302:
            # An anonymous reader reloading the home page until the story is there.
            while time.perf_counter() - answered < 90:
                if draft.headline.encode() in load.request(port, "/")[2]:
                    seen = time.perf_counter()
                    break
                time.sleep(0.02)
        run.appeared_after_answer.append(None if seen is None else seen - answered)
        run.appeared_after_click.append(None if seen is None else seen - clicked)
        timed("GET", f"{changelist}{draft.pk}/change/")
        say(
            f"  {front}: published {draft.headline!r}: answered {answer.status} in "
            f"{(answered - clicked) * 1000:.0f} ms, "
            + (
                f"on the home page {(seen - answered) * 1000:.0f} ms later"
                if seen
                else "never on the home page"
            )
        )
    hammer.join()
    run.home_renders = renders.renders("/", counter)
    run.all_renders = renders.renders(counts=counter)
    return run


def breaking_news_lines(run, workers):
    w = run.wrk
    seconds = w["duration_us"] / 1e6
    errors = sum(w[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    shown = [s for s in run.appeared_after_answer if s is not None]
    where = "nginx in front" if run.front == "edge" else "gunicorn directly"
    lines = [
        f"Breaking news through the {run.front} ({where}): "
        f"wrk on / {w['requests'] / seconds:,.0f} req/s, p99 {w['p99_us'] / 1000:.1f} ms, "
        f"{w['status_errors']} non-2xx, {errors} socket errors; {run.publishes} stories "
        f"published; the home page rendered {run.home_renders} times by the origin "
        f"({run.all_renders} renders of any address, admin pages included); on the home page "
        + ", ".join(
            f"{s * 1000:.0f} ms" if s is not None else "never" for s in run.appeared_after_answer
        )
        + " after the admin's answer; admin requests p50 "
        f"{percentile(run.admin_seconds, 50) * 1000:.0f} ms, p95 "
        f"{percentile(run.admin_seconds, 95) * 1000:.0f} ms ({len(run.admin_seconds)} requests)."
    ]
    return lines, [
        verdict(
            f"66 {run.front}: each story on the anonymous home page within "
            f"{APPEARS_WITHIN_S:.0f} s of the admin's answer",
            len(shown) == run.publishes and max(shown) <= APPEARS_WITHIN_S,
            "slowest "
            + (f"{max(shown) * 1000:.0f} ms" if shown else "—")
            + f", {run.publishes - len(shown)} never",
        ),
        verdict(
            f"66 {run.front}: no stampede, ≤ {2 * workers} renders of / per publish "
            f"(2 purges × {workers} workers)",
            run.home_renders <= 2 * workers * run.publishes,
            f"{run.home_renders / run.publishes:.1f} per publish",
        ),
        verdict(
            f"66 {run.front}: editors' admin requests p95 < {ADMIN_P95_S:.0f} s, all answered",
            percentile(run.admin_seconds, 95) < ADMIN_P95_S
            and all(s in (200, 302) for s in run.admin_statuses),
            f"p95 {percentile(run.admin_seconds, 95) * 1000:.0f} ms, statuses "
            f"{sorted(set(run.admin_statuses))}",
        ),
        verdict(
            f"66 {run.front}: 0 non-2xx and 0 socket errors on / during the run",
            not w["status_errors"] and not errors,
            f"{w['status_errors']} non-2xx, {errors} errors",
        ),
    ]


# 68: members ---------------------------------------------------------------------------------


def sentinels_in(body, token):
    """The sentinel names (bench.seed.sentinel) a page shows."""
    return set(re.findall(rf"sentinel-{re.escape(token)}-\d{{3}}".encode(), body))


def member_problems(name, article, account, token):
    """What is wrong with what member `name` got: `article` and `account` are (status,
    headers, body) of the members-only story and of the account page."""
    problems = []
    status, headers, body = article
    if status != 200:
        problems.append(f"{name}: the story answered {status}")
    elif GATE.encode() in body:
        problems.append(f"{name}: the story showed the teaser")
    if "private" not in headers.get("Cache-Control", ""):
        problems.append(f"{name}: the story was not private ({headers.get('Cache-Control')})")
    if others := sentinels_in(body, token):
        problems.append(f"{name}: the story named {sorted(others)[:3]}")
    status, _headers, body = account
    found = sentinels_in(body, token)
    if status != 200:
        problems.append(f"{name}: the account page answered {status}")
    elif found != {name.encode()}:
        problems.append(f"{name}: the account page named {sorted(found)[:3] or 'nobody'}")
    return problems


@dataclass
class Reading:
    members: int
    seconds: float = 0.0
    article_seconds: list = field(default_factory=list)
    account_seconds: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # exceptions: connection errors, timeouts
    problems: list = field(default_factory=list)
    read: set = field(default_factory=set)
    teaser_before: str = ""
    teaser_after: str = ""

    @property
    def requests(self):
        return len(self.article_seconds) + len(self.account_seconds)


def members_read(port, path, members, token, *, seconds, concurrency, cookie_name):
    """`concurrency` clients, each taking the next member in turn (with that member's session
    cookie and the signed-in marker), read the story at `path` and the account page, for
    `seconds` and at least until every member has read once."""
    run = Reading(len(members))
    turns = itertools.cycle(members)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        while True:
            with lock:
                if time.monotonic() > deadline and len(run.read) == len(members):
                    return
                name, session_key = next(turns)
            cookie = {"Cookie": f"{cookie_name}={session_key}; newsroom_signed_in=1"}
            try:
                start = time.perf_counter()
                article = load.request(port, path, headers=cookie, timeout=30)
                middle = time.perf_counter()
                account = load.request(port, "/membership/account/", headers=cookie, timeout=30)
                end = time.perf_counter()
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    run.errors.append(f"{name}: {error!r}")
                continue
            found = member_problems(name, article, account, token)
            with lock:
                run.article_seconds.append(middle - start)
                run.account_seconds.append(end - middle)
                run.problems.extend(found)
                run.read.add(name)

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(client) for _ in range(concurrency)]:
            future.result()
    run.seconds = time.monotonic() - start
    return run


def teaser_hash(port, path):
    status, _headers, body = load.request(port, path)
    if status != 200 or GATE.encode() not in body:
        raise SystemExit(f"The anonymous page of {path} answered {status} without the teaser.")
    return hashlib.sha256(body).hexdigest()


def members_lines(run):
    every = run.article_seconds + run.account_seconds
    p99 = percentile(every, 99) * 1000
    lines = [
        f"Members: {run.members} members with sessions, {run.requests:,} requests in "
        f"{run.seconds:.1f} s ({run.requests / run.seconds:,.1f}/s); the story p50 "
        f"{percentile(run.article_seconds, 50) * 1000:.0f} ms, p99 "
        f"{percentile(run.article_seconds, 99) * 1000:.0f} ms; the account page p50 "
        f"{percentile(run.account_seconds, 50) * 1000:.0f} ms, p99 "
        f"{percentile(run.account_seconds, 99) * 1000:.0f} ms; {len(run.errors)} errors; "
        f"anonymous teaser sha256 (edge, app) {run.teaser_before} before, {run.teaser_after} "
        "after."
    ]
    lines.extend("  " + problem for problem in (run.problems + run.errors)[:10])
    return lines, [
        verdict(
            "68: every member's pages name that member and no other; the full story, private",
            not run.problems and len(run.read) == run.members,
            f"{len(run.problems)} wrong responses, {len(run.read)} of {run.members} members read",
        ),
        verdict(
            f"68: p99 < {MEMBERS_P99_MS} ms, 0 errors",
            p99 < MEMBERS_P99_MS and not run.errors,
            f"p99 {p99:.0f} ms, {len(run.errors)} errors",
        ),
        verdict(
            "68: the anonymous teaser unchanged by the run (sha256 before = after)",
            run.teaser_before == run.teaser_after,
            "same" if run.teaser_before == run.teaser_after else "changed",
        ),
    ]


# The run ---------------------------------------------------------------------------------------


def run(args, workdir, cleanup):
    load.ensure_tools()
    load.ensure_lua_module()
    sampler = load.MemorySampler()
    sampler.start()
    cleanup.add("stop the memory sampler", sampler.stopping.set)
    bench = load.Bench(args, cleanup, sampler)
    site = load.prepare_site(args, workdir, cleanup)
    import django
    from django.conf import settings
    from django.core.cache.backends.redis import RedisCache
    from django.db import connections

    from bench import seed
    from newsroom import page_cache

    targets = seed.choose_targets()
    token = secrets.token_hex(3)
    editor_email, editor_password = f"editor-{token}@bench.example", secrets.token_urlsafe(16)
    seed.editor(editor_email, editor_password)
    members = seed.signed_in_members(args.readers, token) if "68" in args.checks else []
    connections.close_all()

    counts_url = f"redis://127.0.0.1:{site.redis_port}/1"
    counter = RedisCache(counts_url, {})
    purge_port, purge_secret = load.free_port(), secrets.token_hex(20)
    environment = os.environ.copy() | {
        "BENCH_COUNT_RENDERS": counts_url,
        "EDGE_PURGE_URLS": f"http://127.0.0.1:{purge_port}/purge",
        "EDGE_PURGE_SECRET": purge_secret,
        # Staff would set up an authenticator app first; publishing is the same after it.
        "STAFF_REQUIRE_MFA": "0",
    }
    logs = workdir / "logs"
    logs.mkdir()
    cached = Gunicorn(
        "cached", args.workers, environment | {"BENCH_PAGE_CACHE": "on"}, logs, cleanup
    )
    proxy, _static_port, edge_port = load.start_edge(
        workdir, site, cached.port, cleanup, purge_secret=purge_secret, purge_port=purge_port
    )
    out, verdicts = [""], []

    if "65" in args.checks:
        runs = []
        uncached = Gunicorn(
            "uncached", args.workers, environment | {"BENCH_PAGE_CACHE": "off"}, logs, cleanup
        )
        say("65: the article and home uncached, every request rendered…")
        uncached.start()
        for target in ("article", "home"):
            path = targets.paths[target]
            runs.append(counted(bench, counter, uncached.port, uncached, target, "uncached", path))
        uncached.stop()
        say("65: the same from the page cache, which starts empty…")
        cached.start()
        for target in ("article", "home"):
            page_cache.purge()
            path = targets.paths[target]
            runs.append(counted(bench, counter, cached.port, cached, target, "cached", path))
        out.append(load.table(bench, {}))
        out.append("")
        for r in runs:
            out.append(
                f"Origin renders, {r.target} ({r.mode}): {r.renders:,} for {r.requests:,} "
                f"requests, hit ratio {share(r.hit_ratio)}."
            )
        verdicts.extend(cached_pages_verdicts(runs, args.connections))
    if cached.process is None:
        cached.start()

    if "66" in args.checks:
        for port, via_edge in ((edge_port, True), (cached.port, False)):
            say(
                f"66: publishing {args.publishes} stories while wrk hammers the home page "
                f"{'through the edge' if via_edge else 'on gunicorn directly'} for "
                f"{args.seconds} s…"
            )
            bench.settle(cached)
            breaking = breaking_news(
                args, counter, port, via_edge, editor_email, editor_password, token
            )
            lines, checks = breaking_news_lines(breaking, args.workers)
            out.append("")
            out.extend(lines)
            verdicts.extend(checks)

    if "68" in args.checks:
        path = targets.paths["members-only article"]
        say(
            f"68: {args.readers} members reading {path} and their account page at "
            f"concurrency {args.concurrency} through the edge…"
        )
        bench.settle(cached)
        # The anonymous page at the edge and in the app's page cache (gunicorn directly).
        before = teaser_hash(edge_port, path) + " " + teaser_hash(cached.port, path)
        reading = members_read(
            edge_port,
            path,
            members,
            token,
            seconds=args.seconds,
            concurrency=args.concurrency,
            cookie_name=settings.SESSION_COOKIE_NAME,
        )
        after = teaser_hash(edge_port, path) + " " + teaser_hash(cached.port, path)
        reading.teaser_before, reading.teaser_after = before, after
        lines, checks = members_lines(reading)
        out.append("")
        out.extend(lines)
        verdicts.extend(checks)

    cached.stop()
    proxy.stop()
    head = [
        "",
        f"PostgreSQL {site.pg_version}, Python {platform.python_version()}, Django "
        f"{django.get_version()}, "
        f"{load.version_of([sys.executable, '-m', 'gunicorn', '--version'])} ({args.workers} "
        f"sync workers), {load.version_of([load.nginx.NGINX, '-v'])}, "
        f"{load.version_of(['wrk', '-v'])}; commit {load.commit()}. Archive: "
        f"{site.seeding.total:,} stories; {args.seconds} s per run, wrk at "
        f"{', '.join(map(str, args.connections))} connections; every request carries "
        "X-Forwarded-Proto: https.",
    ]
    report = head + out + ["", "Targets (security checks 65, 66, 68), from this run:", *verdicts]
    went_wrong = any("NOT MET" in line for line in verdicts)
    for log in sorted(logs.glob("gunicorn-*.log")) if went_wrong else ():
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        if lines:
            report.append(f"The last lines of {log.name} ({len(lines)} lines):")
            report.extend("  " + line[:300] for line in lines[-15:])
    return "\n".join(report)


def main():
    load.run_and_report(arguments(), run, "Newsroom caching benchmark")


if __name__ == "__main__":
    main()
