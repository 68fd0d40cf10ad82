"""Test settings: the production settings module with debug off, plus what tests need."""

import atexit
import os
import shutil
import tempfile

# The production path is what is tested: debug off, a real-looking key. Set before the settings
# module reads them, so a developer's local .env (debug on) does not leak into the tests.
os.environ["DJANGO_DEBUG"] = "0"
os.environ["DJANGO_SECRET_KEY"] = "tests-" + "k3y-" * 16
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
os.environ.setdefault("DJANGO_TIME_ZONE", "Asia/Tbilisi")

from newsroom.settings import *  # noqa: E402, F403
from newsroom.settings import STORAGES  # noqa: E402

# The test client and the live server speak plain HTTP.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# live_server cannot serve the manifest storage's hashed names.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# In a folder of its own, so that a test can see that nothing is written beside it; removed when
# the process ends (each xdist worker and the controller import these settings).
_MEDIA_PARENT = tempfile.mkdtemp(prefix="newsroom-test-media-")
atexit.register(shutil.rmtree, _MEDIA_PARENT, ignore_errors=True)
MEDIA_ROOT = os.path.join(_MEDIA_PARENT, "media")
os.mkdir(MEDIA_ROOT)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Static files come from the source folders (no collectstatic before tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# allauth's rate limits would trip over the many log-ins and sign-ups of a test run; the test of
# the limits themselves turns them back on (tests/members/test_accounts.py).
ACCOUNT_RATE_LIMITS = False
# Staff personas use the admin without an authenticator app; tests/members/test_mfa.py turns the
# production default (on) back on.
STAFF_REQUIRE_MFA = False
# The page cache in memory: a page served from it costs no query at all, which the tests
# assert (production keeps it in Redis or the database: tests/newsroom/test_page_cache.py).
# The default cache too (production: Redis or the database, shared by every process, which
# tests/security/test_login_limits.py checks).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"},
    "counters": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "n"},
    "objects": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "o"},
}
