"""The WSGI entry of the benchmark's gunicorn: the site's own (newsroom.wsgi) with
bench.settings, except that `BENCH_MIDDLEWARE=security` leaves SecurityMiddleware alone once the
apps are loaded, for the third ceiling (allauth refuses to start when its middleware is not in
the settings, so the settings keep the whole list)."""

import os

from django.conf import settings

from newsroom.wsgi import application

if os.environ.get("BENCH_MIDDLEWARE") == "security":
    settings.MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]
    application.load_middleware()
