"""The shipped nginx configuration run locally, for the load benchmark and for the deploy tests
(tests/deploy/nginx.py): the site rendered for a local run, and an nginx of their own (its own
configuration, pid, logs and temporary files in a temporary directory, on loopback ports; never
the system's service).

`render_site()` turns `deploy/nginx/newsroom.conf` (written for news.example over HTTPS) into
a plain-HTTP site on 127.0.0.1 in front of a local gunicorn or live server. It works by
replacing the file's tokens and fails with `ConfigError` when one it needs is missing, so a
change to the shipped file that this module does not understand stops the run (or fails the
test) instead of measuring or testing something else.
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

NGINX = "/usr/sbin/nginx"
# Debian's load_module lines for the packaged dynamic modules (lua, ndk, …).
DEBIAN_MODULES = "/etc/nginx/modules-enabled/*.conf"
MIME_TYPES = "/etc/nginx/mime.types"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
# What a purge secret may be made of inside nginx's double quotes.
SECRET_CHARACTERS = re.compile(r"[A-Za-z0-9_.~+/=-]+")
# Directives that only exist with the lua module (libnginx-mod-http-lua).
LUA_DIRECTIVE = re.compile(r"^\s*(?:\w+_by_lua\w*|lua_\w+)\b", re.MULTILINE)


class ConfigError(Exception):
    """The shipped configuration lacks something the benchmark must replace."""


def _without_comments(text):
    return re.sub(r"(?m)(^|\s)#.*$", r"\1", text)


def _top_level_blocks(text):
    """(start, end, head) of each top-level `name … { … }` block, braces counted outside
    comments and quoted strings (lua blocks nest braces of their own)."""
    blocks, depth, start, quote, i = [], 0, None, None, 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char == "#":
            i = text.find("\n", i)
            if i == -1:
                break
            continue
        elif char in "\"'":
            quote = char
        elif char == "{":
            if depth == 0:
                start = text.rfind(";", 0, i) + 1
                start = max(start, text.rfind("}", 0, i) + 1)
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise ConfigError("unbalanced braces in the nginx configuration")
            if depth == 0:
                head = _without_comments(text[start : text.index("{", start)]).strip()
                blocks.append((start, i + 1, head))
        i += 1
    if depth:
        raise ConfigError("unbalanced braces in the nginx configuration")
    return blocks


def _replace(text, pattern, replacement, token, *, required=True, flags=re.MULTILINE):
    new, count = re.subn(pattern, replacement, text, flags=flags)
    if required and not count:
        raise ConfigError(
            f"deploy/nginx/newsroom.conf has no {token}: the benchmark's renderer "
            "(bench/nginx.py) must learn its new shape."
        )
    return new


def render_site(
    text,
    *,
    port,
    upstream,
    checkout,
    var_dir,
    cache_dir,
    log_dir,
    other_port,
    purge_secret=None,
    forwarded_proto="https",
):
    """The shipped site configuration, for plain HTTP on 127.0.0.1:`port` in front of
    `upstream` (host:port), with its paths moved into temporary directories.

    - the port-80 server (the redirect to HTTPS) goes; `listen 443 ssl` becomes `listen
      127.0.0.1:<port>`; `listen [::]:443`, `http2`/`http3` and every `ssl_*` directive go;
    - `X-Forwarded-Proto $scheme` becomes `forwarded_proto`, by default `https`: nginx plays
      the TLS proxy, as the load generator does when it talks to gunicorn directly (None keeps
      `$scheme`, plain `http` here, for an app that does not expect HTTPS);
    - news.example → 127.0.0.1; 127.0.0.1:8000 → `upstream`; /srv/newsroom/var → `var_dir`,
      the rest of /srv/newsroom → `checkout`; /var/cache/nginx/newsroom → `cache_dir`;
      /var/log/nginx → `log_dir`;
    - any other server's fixed port (`listen 127.0.0.1:8081;`) → a port `other_port()` gives;
    - with `purge_secret` (letters, digits and - _ . ~ + / =: nothing that could end or
      interpolate nginx's quoted string), the purge endpoint's secret becomes it.
    """
    redirects = [
        (start, end)
        for start, end, head in _top_level_blocks(text)
        if head == "server"
        and re.search(r"^\s*listen\s+80\b", text[start:end], re.MULTILINE)
        and not re.search(r"^\s*listen\s+[^;]*443", text[start:end], re.MULTILINE)
    ]
    if len(redirects) != 1:
        raise ConfigError(
            f"deploy/nginx/newsroom.conf has {len(redirects)} port-80 servers, expected the one "
            "that redirects to HTTPS: the benchmark's renderer (bench/nginx.py) must learn its "
            "new shape."
        )
    start, end = redirects[0]
    text = (
        text[:start]
        + "\n# (the port-80 redirect to HTTPS: removed for the benchmark)\n"
        + text[end:]
    )

    # Other servers on fixed ports (an internal purge endpoint, say) get free ports of their own.
    text = re.sub(
        r"^(\s*)listen\s+(?:127\.0\.0\.1:|localhost:)?(\d+)\s*;",
        lambda m: m[0] if m[2] in ("80", "443") else f"{m[1]}listen 127.0.0.1:{other_port()};",
        text,
        flags=re.MULTILINE,
    )
    text = _replace(
        text,
        r"^(\s*)listen\s+443\s+ssl\b[^;]*;",
        rf"\1listen 127.0.0.1:{port};",
        "`listen 443 ssl`",
    )
    text = _replace(text, r"^\s*listen\s+\[::\]:443\b[^;]*;\n?", "", "", required=False)
    text = _replace(text, r"^\s*listen\s+[^;]*\bquic\b[^;]*;\n?", "", "", required=False)
    text = _replace(text, r"^\s*http[23]\s+on\s*;\n?", "", "", required=False)
    _replace(text, r"^\s*ssl_certificate\s", "", "`ssl_certificate`")
    text = _replace(text, r"^\s*ssl_\w+\s[^;]*;\n?", "", "`ssl_*` directives")
    if forwarded_proto is not None:
        if forwarded_proto not in ("http", "https"):
            raise ValueError("X-Forwarded-Proto is http or https")
        text = _replace(
            text,
            r"(proxy_set_header\s+X-Forwarded-Proto\s+)\$scheme\s*;",
            rf"\1{forwarded_proto};",
            "`proxy_set_header X-Forwarded-Proto $scheme`",
        )
    if purge_secret is not None:
        if not SECRET_CHARACTERS.fullmatch(purge_secret):
            raise ValueError("the purge secret must be letters, digits and - _ . ~ + / =")
        text = _replace(
            text,
            r'(set\s+\$newsroom_purge_secret\s+)"[^"]*"\s*;',
            rf'\1"{purge_secret}";',
            "`set $newsroom_purge_secret`",
        )
    text = _replace(text, r"\bnews\.example\b", "127.0.0.1", "news.example")
    text = _replace(text, r"\b127\.0\.0\.1:8000\b", upstream, "127.0.0.1:8000 (gunicorn)")
    if "/srv/newsroom" not in text:
        raise ConfigError("deploy/nginx/newsroom.conf has no /srv/newsroom (the checkout)")
    text = re.sub(r"/srv/newsroom/var(?=[/;\s])", str(var_dir), text)
    text = text.replace("/srv/newsroom", str(checkout))
    text = _replace(
        text, re.escape("/var/cache/nginx/newsroom"), str(cache_dir), "/var/cache/nginx/newsroom"
    )
    text = _replace(text, re.escape("/var/log/nginx"), str(log_dir), "/var/log/nginx")

    # Whole tokens only: the ports and temporary directories put in above may hold ":443"
    # (127.0.0.1:44371) or "ssl" as part of a longer word.
    live = _without_comments(text)
    for leftover, pattern in LEFTOVERS.items():
        if re.search(pattern, live):
            raise ConfigError(
                f"the rendered configuration still says {leftover!r}: the benchmark's renderer "
                "(bench/nginx.py) must learn the new shape of deploy/nginx/newsroom.conf."
            )
    return text


# What render_site() replaces, as it would show if a new shape of the file kept it.
LEFTOVERS = {
    "news.example": r"\bnews\.example\b",
    ":443": r":443(?!\d)",
    "ssl": r"\bssl(?:_\w+)?\b",
    "/var/cache/nginx": r"(?<![\w/.-])/var/cache/nginx\b",
    "/var/log/nginx": r"(?<![\w/.-])/var/log/nginx\b",
    ":8000": r":8000(?!\d)",
}


def needs_lua(site):
    return bool(LUA_DIRECTIVE.search(_without_comments(site)))


def main_config(*, directory, site_file, workers, lua, static_root=None, static_port=None):
    """The nginx.conf of an nginx of our own: the http settings of Debian's
    /etc/nginx/nginx.conf, the rendered site included from `site_file` (if any), and with
    `static_port` a static server on it serving `static_root` (the benchmark's ceiling)."""
    directory = Path(directory)
    lines = []
    if lua:
        lines.append(f"include {DEBIAN_MODULES};")
    if os.geteuid() == 0:
        # Workers would otherwise run as nobody, who cannot read the private temporary directory.
        lines.append("user root;")
    temp = "\n".join(f"    {name}_temp_path {directory / 'temp' / name};" for name in TEMP_PATHS)
    lines.append(f"""worker_processes {workers};
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;

events {{
    worker_connections 4096;
}}

http {{
    # As Debian's /etc/nginx/nginx.conf.
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include {MIME_TYPES};
    default_type application/octet-stream;
    gzip on;
    access_log off;
{temp}
""")
    if static_port:
        lines.append(f"""    # The ceiling: a saved copy of the article page, as a static file, served as fast as
    # nginx serves a file: no access log, and its descriptor kept open between requests (as
    # the shipped site keeps those of its cache files). To a browser that accepts gzip, the
    # copy's .gz beside it, as it is.
    server {{
        listen 127.0.0.1:{static_port};
        root {static_root};
        open_file_cache max=1000 inactive=1m;
        gzip_static on;
    }}
""")
    if site_file:
        lines.append(f"    include {site_file};")
    lines.append("}")
    return "\n".join(lines) + "\n"


class Nginx:
    """An nginx master process of our own, configured by `config_text` (written to
    `directory`/nginx.conf)."""

    def __init__(self, directory, config_text, binary=NGINX):
        self.binary = binary
        self.directory = Path(directory)
        for name in TEMP_PATHS:
            (self.directory / "temp" / name).mkdir(parents=True, exist_ok=True)
        self.config = self.directory / "nginx.conf"
        self.config.write_text(config_text)
        self.error_log = self.directory / "error.log"
        self.process = None

    def _command(self, *extra):
        return [self.binary, "-c", str(self.config), "-e", str(self.error_log), *extra]

    def test(self):
        """`nginx -t` on the configuration; raises ConfigError with nginx's words if refused."""
        result = subprocess.run(self._command("-t"), capture_output=True, text=True)
        if result.returncode:
            raise ConfigError(f"nginx -t refused {self.config}:\n{result.stderr.strip()}")
        return result.stderr.strip()

    def start(self):
        self.process = subprocess.Popen(
            self._command("-g", "daemon off;"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        time.sleep(0.3)
        if self.process.poll() is not None:
            raise RuntimeError(f"nginx did not start: {self.process.stderr.read().decode()}")

    def flush_logs(self, log_file):
        """Write out the access log lines the workers hold in their buffers (`access_log …
        buffer=`): nginx reopens its log files on SIGUSR1, flushing them; wait until
        `log_file` stops growing."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGUSR1)
        log_file, size, deadline = Path(log_file), -1, time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.2)
            new = log_file.stat().st_size if log_file.exists() else 0
            if new == size:
                return
            size = new

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        # Quit gracefully, then make sure.
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
