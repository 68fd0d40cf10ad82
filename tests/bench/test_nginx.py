"""The load benchmark's rendering of the shipped nginx configuration (bench/nginx.py)."""

import re
import shutil
from pathlib import Path

import pytest

from bench import nginx

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "deploy/nginx/newsroom.conf").read_text()


def render(text=SHIPPED, tmp_path=Path("/tmp/bench"), **options):
    return nginx.render_site(
        text,
        port=18080,
        upstream="127.0.0.1:18000",
        checkout=ROOT,
        var_dir=tmp_path / "var",
        cache_dir=tmp_path / "cache",
        log_dir=tmp_path / "log",
        other_port=lambda: 18082,
        **options,
    )


def live(text):
    return re.sub(r"(?m)(^|\s)#.*$", r"\1", text)


def test_the_shipped_configuration_becomes_plain_http_in_front_of_the_benchmarks_gunicorn():
    site = live(render())
    assert re.search(r"^\s*listen 127\.0\.0\.1:18080;", site, re.MULTILINE)
    assert "server 127.0.0.1:18000" in site
    assert "proxy_set_header X-Forwarded-Proto https;" in site
    for gone in (
        "news.example",
        "443",
        "ssl",
        "http2",
        "/var/log/nginx",
        "/var/cache/nginx",
        "/srv/newsroom",
        "return 301",
    ):
        assert gone not in site, gone
    assert "/tmp/bench/cache" in site and "/tmp/bench/log" in site
    # The site and the purge endpoint are left: the port-80 redirect is gone.
    assert len(re.findall(r"^server\s*\{", site, re.MULTILINE)) == 2
    assert not re.search(r"^\s*listen\s+80\b", site, re.MULTILINE)


@pytest.mark.parametrize(
    "token, pattern",
    [
        ("listen 443 ssl", r"listen 443 ssl[^;]*;"),
        ("127.0.0.1:8000", r"127\.0\.0\.1:8000"),
        ("/var/cache/nginx/newsroom", r"/var/cache/nginx/newsroom"),
        ("X-Forwarded-Proto $scheme", r"X-Forwarded-Proto \$scheme"),
        ("ssl_certificate", r"ssl_certificate\s"),
    ],
)
def test_a_token_missing_from_the_shipped_file_stops_the_benchmark(token, pattern):
    assert re.search(pattern, SHIPPED), f"the shipped file no longer has {token}"
    changed = re.sub(pattern, "something_else ", SHIPPED)
    with pytest.raises(nginx.ConfigError):
        render(changed)


def test_the_port_80_redirect_must_be_there_to_be_removed():
    without = re.sub(r"(?s)server\s*\{\s*listen 80;.*?return 301[^}]*\}", "", SHIPPED)
    assert without != SHIPPED
    with pytest.raises(nginx.ConfigError, match="port-80"):
        render(without)


def test_lua_directives_load_debians_modules():
    assert not nginx.needs_lua("# access_by_lua_block in a comment\n")
    site = "location / {\n    access_by_lua_block { ngx.var.x = 1 }\n}\n"
    assert nginx.needs_lua(site)
    config = nginx.main_config(
        directory="/tmp/b",
        site_file="/tmp/b/site.conf",
        static_root="/tmp/b/www",
        static_port=1,
        workers=1,
        lua=True,
    )
    assert config.startswith(f"include {nginx.DEBIAN_MODULES};")


def test_the_static_ceiling_keeps_its_file_open_and_the_tests_have_none():
    """The ceiling is nginx serving a file as fast as it can (its descriptor cached, as the
    shipped site caches those of its cache files; to browsers, the file's .gz as it is); the
    deploy tests' nginx has no ceiling."""
    options = dict(directory="/tmp/b", site_file="/tmp/b/site.conf", workers=1, lua=False)
    ceiling = nginx.main_config(static_root="/tmp/b/www", static_port=18081, **options)
    assert re.search(
        r"listen 127\.0\.0\.1:18081;\s*root /tmp/b/www;\s*open_file_cache max=\d+[^;]*;"
        r"\s*gzip_static on;",
        ceiling,
    )
    without = nginx.main_config(**options)
    assert "listen" not in without and "include /tmp/b/site.conf;" in without


def test_the_scheme_the_app_is_told_can_stay_as_shipped():
    """The deploy tests' app is not set up for HTTPS: it is told the scheme nginx sees."""
    site = live(render(forwarded_proto=None))
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    with pytest.raises(ValueError):
        render(forwarded_proto="https; add_header X 1")


def test_the_purge_secret_may_hold_the_characters_of_a_generated_one():
    site = live(render(purge_secret="edge-purge_secret.0123+/="))
    assert 'set $newsroom_purge_secret "edge-purge_secret.0123+/=";' in site
    for unsafe in ('a"b', "a$b", "a\\b", "a b", "a;b", ""):
        with pytest.raises(ValueError):
            render(purge_secret=unsafe)


@pytest.mark.skipif(not Path(nginx.NGINX).exists(), reason="nginx is not installed")
def test_nginx_accepts_the_rendered_configuration(tmp_path):
    site = render(tmp_path=tmp_path)
    (tmp_path / "log").mkdir()
    (tmp_path / "site.conf").write_text(site)
    lua = nginx.needs_lua(site)
    if lua and not list(Path("/etc/nginx/modules-enabled").glob("*lua*")):
        pytest.skip("the configuration needs libnginx-mod-http-lua, which is not installed")
    server = nginx.Nginx(
        tmp_path,
        nginx.main_config(
            directory=tmp_path,
            site_file=tmp_path / "site.conf",
            static_root=tmp_path,
            static_port=18081,
            workers=1,
            lua=lua,
        ),
    )
    assert "successful" in server.test()
    shutil.rmtree(tmp_path / "temp")


def test_other_fixed_ports_and_the_var_directory_move_too():
    extra = (
        "server {\n    listen 127.0.0.1:8081;\n    location /static/ { root /srv/newsroom/var; }\n"
        "    location = /purge { return 204; }\n}\n"
    )
    site = live(render(SHIPPED + extra))
    assert "listen 127.0.0.1:18082;" in site
    assert ":8081" not in site
    assert "root /tmp/bench/var;" in site


def test_the_purge_endpoint_takes_the_benchmarks_secret():
    """Check 66: the app's purges reach the benchmark's edge only with the secret it is given."""
    secret = "a" * 40
    site = live(render(purge_secret=secret))
    assert f'set $newsroom_purge_secret "{secret}";' in site
    assert "CHANGE-ME" not in site
    assert "CHANGE-ME" in live(render())  # unless asked, the shipped placeholder stays
    with pytest.raises(ValueError):
        render(purge_secret='x"; deny all; "')


def test_ports_and_directories_that_hold_a_replaced_token_are_not_mistaken_for_it(tmp_path):
    # A free port can be 44371 (":443…") or 8000x, a temporary directory can hold "ssl".
    site = nginx.render_site(
        SHIPPED,
        port=44300,
        upstream="127.0.0.1:44371",
        checkout=ROOT,
        var_dir=tmp_path / "tmpssl8000" / "var",
        cache_dir=tmp_path / "cache:4430",
        log_dir=tmp_path / "log",
        other_port=lambda: 18000,
    )
    assert "server 127.0.0.1:44371" in site
    assert re.search(r"^\s*listen 127\.0\.0\.1:44300;", site, re.MULTILINE)
