"""The production settings with the default cache in each process's memory, which the log-in
limits must not rely on: the negative of check 31 (tests/deploy/test_login_throttling.py)."""

from newsroom.settings import *  # noqa: F403
from newsroom.settings import CACHES

CACHES = {**CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
