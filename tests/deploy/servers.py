"""Processes the deployment tests start and always stop: app servers, a task worker, Redis."""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

#: Set by .ci/run: the servers these tests start (nginx, redis-server) must be installed.
REQUIRED = "NEWSROOM_REQUIRE_SERVERS"


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
