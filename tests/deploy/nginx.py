"""The shipped nginx configuration (deploy/nginx/newsroom.conf), run for real on local ports.

The file is rendered by the benchmark's renderer (bench/nginx.py, `render_site`), which changes
only what ties it to a real machine: HTTPS on 443 becomes plain HTTP on a free port of
127.0.0.1 (no certificate), the port-80 redirect goes, and the paths, the app's address, the
purge listener and the purge secret are the test's own. Everything else (cache key, bypasses,
locations, the Lua purge, the access log) runs as shipped. A token that is no longer in the
file stops the renderer: the file changed and the renderer must follow.
"""

import os
import socket
import time
from pathlib import Path

import pytest

from bench import nginx as local_nginx
from tests.deploy.servers import REQUIRED, free_port, require

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


def render(*, port, purge_port, app, var, cache, logs, secret, purge_also_on_ipv6=False):
    """The shipped configuration for plain HTTP on 127.0.0.1:`port`, in front of `app`
    (host:port), with the purge on 127.0.0.1:`purge_port` (and [::1]:`purge_port`, which the
    shipped `allow` list does not name, when `purge_also_on_ipv6`). The app is told the
    scheme nginx sees (`X-Forwarded-Proto: http`), as it is not set up for HTTPS here."""
    purge_ports = [purge_port]
    text = local_nginx.render_site(
        CONFIG.read_text(),
        port=port,
        upstream=app,
        checkout=ROOT,
        var_dir=var,
        cache_dir=cache,
        log_dir=logs,
        other_port=purge_ports.pop,
        purge_secret=secret,
        forwarded_proto=None,
    )
    assert not purge_ports, "the purge server no longer listens on a fixed port of its own"
    if purge_also_on_ipv6:
        listen = f"listen 127.0.0.1:{purge_port};"
        assert text.count(listen) == 1
        text = text.replace(listen, f"{listen}\n    listen [::1]:{purge_port};")
    return text


class Nginx:
    """nginx in the foreground with the rendered configuration, in `directory`."""

    def __init__(self, directory, app, secret, purge_also_on_ipv6=False):
        binary = nginx_binary()
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
        self.server = local_nginx.Nginx(
            self.directory,
            local_nginx.main_config(directory=self.directory, site_file=site, workers=2, lua=True),
            binary=binary,
        )

    def start(self):
        self.server.test()
        self.server.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.server.process.poll() is not None:
                stderr = self.server.process.stderr.read().decode()
                raise AssertionError(f"nginx stopped: {stderr}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.purge_port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("nginx did not start listening within 15 s")

    def stop(self):
        self.server.stop()

    def access_log(self):
        """The access log, with the lines the workers still buffer written out."""
        path = self.logs / "newsroom.access.log"
        self.server.flush_logs(path)
        return path.read_text() if path.exists() else ""
