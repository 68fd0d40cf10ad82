# The two commands: `make run` serves the demo newsroom, `make test` runs every test.
# Both set up everything they need on a fresh machine (see bin/setup).

PORT ?= 8000
PYTHON := .venv/bin/python

.PHONY: run test setup bench bench-caching bench-export

run: setup .env
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py demo --if-empty
	$(PYTHON) manage.py build_renditions
	$(PYTHON) manage.py demo_login
	@# The task worker (image renditions after uploads) runs beside the server and stops with it.
	$(PYTHON) manage.py db_worker --interval 2 & trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	$(PYTHON) manage.py runserver 127.0.0.1:$(PORT)

# On every core (pytest-xdist), each test file on one worker; PYTEST_ARGS="-n 0" runs them in
# this process (for pdb or -s).
test: setup
	$(PYTHON) -m pytest -n auto --dist loadfile $(PYTEST_ARGS)

setup:
	@bin/setup

# Benchmarks (not tests): they print figures, see bench/README.md and docs/performance.md.
# `make bench` is the site under load (PostgreSQL, gunicorn, nginx, wrk): BENCH_ARTICLES (20000),
# BENCH_SECONDS (10), BENCH_WORKERS (2), BENCH_CONNECTIONS (16,32), e.g.
# make bench BENCH_ARTICLES=2000; more options through BENCH_ARGS, e.g. BENCH_ARGS=--keep.
# `make bench-caching` is the page cache under load (the origin's render counter and hit ratio,
# an editor publishing while wrk hammers the home page, 200 members with sessions at once), with
# the same settings (BENCH_SECONDS defaults to 20 and BENCH_CONNECTIONS to 32 there), e.g.
# make bench-caching BENCH_ARTICLES=2000.
# `make bench-export` is the members export, e.g. make bench-export BENCH_ARGS="--rows 1000,10000".
export BENCH_ARTICLES BENCH_SECONDS BENCH_WORKERS BENCH_CONNECTIONS

bench: setup
	$(PYTHON) bench/load.py $(BENCH_ARGS)

bench-caching: setup
	$(PYTHON) bench/caching.py $(BENCH_ARGS)

bench-export: setup
	$(PYTHON) bench/export_members.py $(BENCH_ARGS)

# A local configuration for development: debug on, a generated secret key and demo password.
# Never committed (.gitignore); delete it to start over.
.env:
	@$(PYTHON) -c 'import secrets; open(".env", "x").write("# Written by make run for local development; never commit it.\nDJANGO_DEBUG=1\nDJANGO_TIME_ZONE=Asia/Tbilisi\nDJANGO_SECRET_KEY=" + secrets.token_urlsafe(50) + "\nDEMO_EDITOR_PASSWORD=" + secrets.token_urlsafe(12) + "\n")'
	@echo "Wrote .env (debug on, generated secret key)."
