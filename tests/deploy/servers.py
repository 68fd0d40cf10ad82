"""Processes the deployment tests start and always stop: app servers, a task worker, Redis,
a throwaway PostgreSQL cluster."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

#: Set by .ci/run: the servers these tests start (nginx, redis-server) must be installed.
REQUIRED = "NEWSROOM_REQUIRE_SERVERS"
ROOT = Path(__file__).resolve().parents[2]


def require(program, package):
    """The path of `program`, or a skip naming the Debian package (a failure under CI)."""
    path = shutil.which(program) or next(
        (f"{d}/{program}" for d in ("/usr/sbin", "/usr/bin") if os.path.exists(f"{d}/{program}")),
        None,
    )
    if path is None:
        reason = f"{program} is not installed (apt-get install {package})"
        if os.environ.get(REQUIRED):
            pytest.fail(f"{reason}, but {REQUIRED} is set (.ci/run installs it).")
        pytest.skip(f"{reason}; .ci/run installs it")
    return path


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid):
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:
        return []


class Process:
    """A server process with its output in `log`; `stop()` ends it and its children, by id."""

    def __init__(self, name, command, log, env=None, cwd=None, stop_signal=signal.SIGTERM):
        self.name = name
        self.log = Path(log)
        self.stop_signal = stop_signal
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT
            )

    def tail(self, lines=40):
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ({self.log}):\n" + "\n".join(text.splitlines()[-lines:])

    def running(self):
        return self.process.poll() is None

    def wait_for(self, url, timeout=60, headers=None):
        """Until `url` answers 200 (the process failing or the time running out fails)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(f"{self.name} stopped before it answered\n{self.tail()}")
            try:
                request = urllib.request.Request(url, headers=headers or {})
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not answer {url} within {timeout} s\n{self.tail()}")

    def stop(self, timeout=10):
        if not self.running():
            return
        family = children(self.process.pid)
        family += [grandchild for child in family for grandchild in children(child)]
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Killed, a master leaves its workers behind: they go too, by their ids.
            for pid in [self.process.pid, *family]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.wait()


class PostgresCluster:
    """A throwaway PostgreSQL cluster: `initdb` into a temporary folder, `postgres` on a free
    port, trust authentication on 127.0.0.1 only. `stop()` and `start()` make an outage;
    `remove()` stops it and deletes the folder. Never the machine's own server.

    PostgreSQL refuses to run as root (as the tests do under CI): then the programs run as the
    `postgres` system user, in a folder it owns.
    """

    def __init__(self):
        self.bin = self._binaries()
        self.directory = Path(tempfile.mkdtemp(prefix="newsroom-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.server = None
        self.as_user = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
            self.as_user = [
                require("setpriv", "util-linux"),
                *(f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups"),
            ]
        initdb = subprocess.run(
            [
                *self.as_user,
                str(self.bin / "initdb"),
                *("-D", str(self.data), "-U", "postgres", "--auth=trust"),
                *("-E", "UTF8", "--locale=C.UTF-8", "--no-sync"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/",
        )
        if initdb.returncode != 0:
            self.remove()
            raise AssertionError(f"initdb failed:\n{initdb.stdout}{initdb.stderr}")

    @staticmethod
    def _binaries():
        found = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
        )
        if not found:
            require("initdb", "postgresql")  # skips, or fails under CI
        return found[-1].parent

    def url(self, user="postgres", database="postgres"):
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout=30):
        self.server = Process(
            "postgres",
            [
                *self.as_user,
                str(self.bin / "postgres"),
                *("-D", str(self.data), "-p", str(self.port), "-k", str(self.directory)),
                *("-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"),
                *("-c", "full_page_writes=off", "-c", "synchronous_commit=off"),
            ],
            self.directory / "postgres.log",
            cwd="/",
            stop_signal=signal.SIGINT,  # fast shutdown: sessions are ended, as in an outage
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if not self.server.running() or time.monotonic() > deadline:
                    raise AssertionError(f"PostgreSQL did not start\n{self.server.tail()}")
                time.sleep(0.1)

    def stop(self):
        if self.server is not None:
            self.server.stop(timeout=30)

    def execute(self, sql, *params, database="postgres"):
        """Run one statement as the superuser; the rows it returns, if any."""
        with psycopg.connect(self.url(database=database), autocommit=True) as conn:
            cursor = conn.execute(sql, params or None)
            return cursor.fetchall() if cursor.description else None

    def remove(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def redis_server(directory):
    """A throwaway redis-server on a free port, keeping nothing on disk; its address in `url`."""
    port = free_port()
    server = Process(
        "redis",
        [
            require("redis-server", "redis-server"),
            *("--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(directory)),
        ],
        Path(directory) / f"redis-{port}.log",
    )
    server.url = f"redis://127.0.0.1:{port}/0"
    return server


def app_server(name, directory, env, workers=2, access_log=None):
    """gunicorn serving `newsroom.wsgi` with `env` on a free port (its address in `url`); with
    `access_log`, each request is logged there as "<worker pid> <method> <path> <status>"."""
    port = free_port()
    logging = ("--access-logfile", str(access_log), "--access-logformat", "%(p)s %(m)s %(U)s %(s)s")
    server = Process(
        f"app server {name}",
        [
            *(sys.executable, "-m", "gunicorn", "newsroom.wsgi"),
            *("--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--graceful-timeout", "3"),
            *(logging if access_log else ()),
        ],
        Path(directory) / f"app-{name}.log",
        env=env,
        cwd=ROOT,
        # A quick shutdown: the tests are done with it.
        stop_signal=signal.SIGINT,
    )
    server.url = f"http://127.0.0.1:{port}"
    return server
