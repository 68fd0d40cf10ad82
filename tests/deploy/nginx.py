"""The shipped nginx configuration (deploy/nginx/newsroom.conf), run for real on local ports.

`render()` changes only what ties the file to a real machine: HTTPS on 443 becomes plain HTTP on
a free port of 127.0.0.1 (no certificate), the port-80 redirect goes, and the paths, the app's
address, the purge listener and the purge secret are the test's own. Everything else (cache
key, bypasses, locations, the Lua purge) runs as shipped. A token that is no longer in the file
fails the test: the file changed and this must follow.
"""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy.servers import REQUIRED, children, free_port, require

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "nginx" / "newsroom.conf"
MODULES = Path("/usr/lib/nginx/modules")
LUA_MODULES = ("ndk_http_module.so", "ngx_http_lua_module.so")


def nginx_binary():
    """Debian's nginx with the Lua module, or a skip saying what to install (a failure where
    it is required)."""
    binary = require("nginx", "nginx libnginx-mod-http-lua")
    if not all((MODULES / module).exists() for module in LUA_MODULES):
        reason = "libnginx-mod-http-lua is not installed (apt-get install libnginx-mod-http-lua)"
        if os.environ.get(REQUIRED):
            pytest.fail(f"{reason}, but {REQUIRED} is set (.ci/run installs it).")
        pytest.skip(f"{reason}; .ci/run installs it")
    return binary


def _replace(text, old, new, count=1):
    assert old in text, f"{old!r} is no longer in {CONFIG.name}: update tests/deploy/nginx.py"
    return text.replace(old, new, count)


def render(*, port, purge_port, app, var, cache, logs, secret, purge_also_on_ipv6=False):
    """The shipped configuration for plain HTTP on 127.0.0.1:`port`, in front of `app`
    (host:port), with the purge on 127.0.0.1:`purge_port` (and [::1]:`purge_port`, which the
    shipped `allow` list does not name, when `purge_also_on_ipv6`)."""
    text = CONFIG.read_text()
    text, redirects = re.subn(r"\nserver \{\n    listen 80;\n.*?\n\}\n", "\n", text, flags=re.S)
    assert redirects == 1, "the port-80 redirect server block is no longer where it was"
    text = _replace(text, "listen 443 ssl http2;", f"listen 127.0.0.1:{port};")
    text = _replace(text, "    listen [::]:443 ssl http2;\n", "")
    text, certificates = re.subn(r"    ssl_certificate(_key)? .*;\n", "", text)
    assert certificates == 2
    text = _replace(text, "/srv/newsroom/var", str(var), count=-1)
    text = _replace(text, "/var/cache/nginx/newsroom", str(cache))
    text = _replace(text, "/var/log/nginx", str(logs), count=-1)
    text = _replace(text, "server 127.0.0.1:8000;", f"server {app};")
    purge_listen = f"listen 127.0.0.1:{purge_port};"
    if purge_also_on_ipv6:
        purge_listen += f"\n    listen [::1]:{purge_port};"
    text = _replace(text, "listen 127.0.0.1:8081;", purge_listen)
    return _replace(
        text, 'set $newsroom_purge_secret "CHANGE-ME";', f'set $newsroom_purge_secret "{secret}";'
    )


class Nginx:
    """nginx in the foreground with the rendered configuration, in `directory`."""

    def __init__(self, directory, app, secret, purge_also_on_ipv6=False):
        self.binary = nginx_binary()
        self.directory = Path(directory)
        self.var = self.directory / "var"
        self.logs = self.directory / "logs"
        for path in (self.var / "static", self.var / "media", self.logs, self.directory / "cache"):
            path.mkdir(parents=True, exist_ok=True)
        self.port, self.purge_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.purge_url = f"http://127.0.0.1:{self.purge_port}/purge"
        site = self.directory / "newsroom.conf"
        site.write_text(
            render(
                port=self.port,
                purge_port=self.purge_port,
                app=app,
                var=self.var,
                cache=self.directory / "cache",
                logs=self.logs,
                secret=secret,
                purge_also_on_ipv6=purge_also_on_ipv6,
            )
        )
        temp = self.directory / "temp"
        temp.mkdir(exist_ok=True)
        # As root, workers would run as nobody, who cannot write the test's directories.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        self.conf = self.directory / "nginx.conf"
        self.conf.write_text(
            f"{user}worker_processes 2;\npid {self.directory}/nginx.pid;\n"
            + "".join(f"load_module {MODULES / module};\n" for module in LUA_MODULES)
            + "events { worker_connections 256; }\n"
            + "http {\n"
            + "    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            + "".join(
                f"    {kind}_temp_path {temp}/{kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"    include {site};\n}}\n"
        )
        self.process = None

    def command(self, *args):
        return [
            self.binary,
            "-p",
            str(self.directory),
            "-c",
            str(self.conf),
            "-e",
            str(self.logs / "error.log"),
            *args,
        ]

    def start(self):
        checked = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(self.command("-g", "daemon off;"), stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"nginx stopped: {self.process.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.purge_port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("nginx did not start listening within 15 s")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        workers = children(self.process.pid)
        self.process.terminate()  # the master stops its workers
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            for pid in [self.process.pid, *workers]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.wait()

    def access_log(self):
        path = self.logs / "newsroom.access.log"
        return path.read_text() if path.exists() else ""
