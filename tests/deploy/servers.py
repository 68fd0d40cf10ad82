"""Processes the deployment tests start and always stop: app servers, a task worker, Redis."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

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
