"""Check 30: failed log-ins are limited per account and per address, in a cache every app
process shares (allauth's defaults: 5 failures per account in 5 minutes, 10 per minute from one
address). Time is moved by shifting the clock allauth's limits read, never by sleeping."""

import importlib
import time
import types

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PER_PROCESS = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@pytest.fixture
def limits(monkeypatch):
    """allauth's default limits on, as in production, and a clock to move (`limits.offset`)."""
    from allauth.core.internal import ratelimit

    clock = types.SimpleNamespace(offset=0, monotonic=time.monotonic, sleep=time.sleep, time=None)
    clock.time = lambda: time.time() + clock.offset
    monkeypatch.setattr(ratelimit, "time", clock)
    cache.clear()
    with override_settings(ACCOUNT_RATE_LIMITS={}):
        yield clock
    cache.clear()


def log_in(email, password, address):
    client = Client(REMOTE_ADDR=address)
    response = client.post(LOGIN, {"login": email, "password": password})
    return response, "_auth_user_id" in client.session


def test_five_failures_from_five_addresses_lock_the_account_for_five_minutes(reader, limits):
    for number in range(5):
        response, signed_in = log_in(reader.email, "a guess", f"192.0.2.{number + 1}")
        assert (response.status_code, signed_in) == (200, False)

    # The sixth try, from yet another address and with the right password, is refused.
    response, signed_in = log_in(reader.email, PASSWORD, "192.0.2.6")
    assert not signed_in
    assert "Too many failed login attempts" in response.content.decode()

    limits.offset = 301
    response, signed_in = log_in(reader.email, PASSWORD, "192.0.2.7")
    assert (response.status_code, signed_in) == (302, True)


def test_eleven_failures_in_a_minute_from_one_address_are_blocked(reader, limits):
    too_many = "Too many failed login attempts"
    pages = [
        log_in(f"someone{number}@example.com", "a guess", "198.51.100.9")[0].content.decode()
        for number in range(11)
    ]
    assert [too_many in page for page in pages] == [False] * 10 + [True]
    # The address is blocked for any account it tries, even with the right password.
    response, signed_in = log_in(reader.email, PASSWORD, "198.51.100.9")
    assert not signed_in and too_many in response.content.decode()
    # Another address is not, and after the minute this one is not either.
    assert log_in(reader.email, PASSWORD, "198.51.100.10")[1]
    limits.offset = 61
    assert log_in(reader.email, PASSWORD, "198.51.100.9")[1]


@pytest.mark.parametrize("redis_url", ["", "redis://cache.example:6379/0"])
def test_production_counts_in_a_cache_every_process_shares(monkeypatch, redis_url):
    monkeypatch.setenv("REDIS_URL", redis_url)
    from newsroom import settings as production

    try:
        reloaded = importlib.reload(production)
        assert reloaded.CACHES["default"]["BACKEND"] not in PER_PROCESS
        assert reloaded.CACHES["pages"]["BACKEND"] not in PER_PROCESS
    finally:
        monkeypatch.delenv("REDIS_URL")
        importlib.reload(production)
