"""Check 31: the log-in limits hold across gunicorn's workers, and the admin has no log-in of its
own around them.

gunicorn with two workers and the production settings, behind a pretend TLS proxy that names
each reader's address (DJANGO_TRUSTED_PROXY_COUNT=1), with the default cache where allauth
counts failures in Redis or in the database (the production default without REDIS_URL), and, as
the negative, in each worker's memory. The limit is allauth's default (newsroom/settings.py
keeps it): 5 failed log-ins per account in 5 minutes. Every attempt is a reader's: the log-in
page, then its form with the page's CSRF token, each on a connection of its own, four at a time
so that both workers serve them (gunicorn's access log names the worker of each request).
"""

import re
import types
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.core.cache.backends.redis import RedisCache

from tests.conftest import PASSWORD
from tests.deploy.production import (
    SharedDatabase,
    browser,
    environment,
    post_form,
    server_password,
)
from tests.deploy.servers import app_server, redis_server
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

LOGIN = "/accounts/login/"
LIMIT = 5  # allauth's "login_failed": 5 per account (key) in 300 s
WINDOW = 300
ATTEMPTS = 20
TOO_MANY = "Too many failed login attempts"
WRONG = "The email address and/or password you specified are not correct"
CACHES = ("redis", "database", "memory")


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory, var_dir):
    """Redis and three app servers of two workers each, one per place for the default cache;
    all stopped at the end, whatever happened."""
    directory = tmp_path_factory.mktemp("throttle")
    processes = []
    try:
        with django_db_blocker.unblock():
            database = SharedDatabase(directory)
        cache_server = redis_server(directory)
        processes.append(cache_server)
        env = environment(var_dir, database.url, DJANGO_TRUSTED_PROXY_COUNT="1")
        servers = {}
        for name, extra in {
            "redis": {"REDIS_URL": cache_server.url},
            "database": {},
            "memory": {"DJANGO_SETTINGS_MODULE": "tests.deploy.settings_per_process_cache"},
        }.items():
            server = app_server(
                name, directory, env | extra, workers=2, access_log=directory / f"{name}.log"
            )
            server.access_log = directory / f"{name}.log"
            servers[name] = server
            processes.append(server)
        for server in servers.values():
            server.wait_for(f"{server.url}/healthz")
        yield types.SimpleNamespace(
            shared=database,
            store=redis.Redis.from_url(cache_server.url),
            redis_url=cache_server.url,
            **servers,
        )
    finally:
        for process in reversed(processes):
            process.stop()


@pytest.fixture(autouse=True)
def empty_caches(site):
    site.store.flushall()
    site.shared.clear_caches()
    for name in CACHES:
        getattr(site, name).access_log.write_text("")  # gunicorn appends: from the start again
    yield
    for name in CACHES:
        assert getattr(site, name).running(), getattr(site, name).tail()


@pytest.fixture
def account(site):
    """A reader's account, in the servers' database."""
    user = server_password(UserFactory(email="target@example.com"))
    site.shared.publish()
    return user


def attempt(server, email, password, address, reader=None):
    """A log-in from `address` through the site's form, as shown on the log-in page (opened by
    `reader` unless it is given). Returns the answer and whether the reader is signed in."""
    if reader is None:
        reader = browser(server)
    page = reader.get(LOGIN)
    assert page.status == 200, page.status
    data = post_form(page) | {"login": [email], "password": [password]}
    response = reader.post(LOGIN, data=data, headers={"X-Forwarded-For": address})
    return response, "sessionid" in reader.cookies


def outcome(response):
    if response.status == 429 or TOO_MANY in response.text:
        return "refused"
    assert response.status == 200 and WRONG in response.text, (response.status, response.text)
    return "processed"


def failures(server, email, count, first=1):
    """`count` wrong passwords for `email`, each from an address of its own (203.0.113.`first`
    on), by four readers at once; each opens the log-in page and sends its form again and again
    (the CSRF token stays valid), on a new connection each time."""

    def reader(number):
        client = browser(server)
        form = post_form(client.get(LOGIN))
        answers = []
        for n in range(first + number, first + count, 4):
            data = form | {"login": [email], "password": ["a wrong guess"]}
            response = client.post(LOGIN, data=data, headers={"X-Forwarded-For": f"203.0.113.{n}"})
            answers.append((n, outcome(response)))
        return answers

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = sorted(answer for answers in pool.map(reader, range(4)) for answer in answers)
    return [result for _, result in answers]


def workers_that_served(server, path):
    lines = server.access_log.read_text().splitlines()
    return {line.split()[0] for line in lines if re.search(rf" POST {path} \d+$", line)}


@pytest.mark.parametrize("cache", ["redis", "database"])
def test_twenty_failed_log_ins_through_two_workers_lock_the_account(site, account, cache):
    """Check 31: a cache every worker shares counts every worker's failures."""
    server = getattr(site, cache)

    outcomes = failures(server, account.email, ATTEMPTS)

    assert len(workers_that_served(server, LOGIN)) == 2
    assert outcomes.count("processed") == LIMIT, outcomes
    # The right password, from yet another address, is refused while the window lasts.
    response, signed_in = attempt(server, account.email, PASSWORD, "198.51.100.7")
    assert not signed_in
    assert outcome(response) == "refused"


def test_after_the_window_the_right_password_logs_in(site, account):
    """Check 31: the lock lasts the window, and no longer."""
    assert failures(site.redis, account.email, LIMIT) == ["processed"] * LIMIT
    response, signed_in = attempt(site.redis, account.email, PASSWORD, "198.51.100.7")
    assert (outcome(response), signed_in) == ("refused", False)

    # The window passes: the failures allauth recorded become older than the window.
    cache = RedisCache(site.redis_url, {"KEY_PREFIX": "newsroom"})  # as the servers name keys
    keys = [
        raw.decode().removeprefix("newsroom:1:")
        for raw in site.store.keys("newsroom:1:allauth:rl:*login_failed*")
    ]
    assert keys
    for key in keys:
        cache.set(key, [moment - WINDOW - 1 for moment in cache.get(key)], WINDOW)

    response, signed_in = attempt(site.redis, account.email, PASSWORD, "198.51.100.8")
    assert (response.status, signed_in) == (302, True)


def test_a_cache_in_each_workers_memory_lets_the_limit_leak(site, account):
    """Check 31's documented negative: with the default cache in each process's memory, each of the
    two workers counts its own five failures."""
    outcomes = failures(site.memory, account.email, ATTEMPTS)

    assert len(workers_that_served(site.memory, LOGIN)) == 2
    assert LIMIT < outcomes.count("processed") <= 2 * LIMIT, outcomes


def test_the_admin_has_no_log_in_around_the_limits(site, editor):
    """Check 31: the admin's log-in sends readers to the site's, and signs nobody in itself."""
    server_password(editor)
    site.shared.publish()
    server = site.redis
    reader = browser(server)

    redirect = reader.get("/admin/login/?next=/admin/")
    assert redirect.status == 302
    assert redirect["Location"].startswith(f"{LOGIN}?next=")

    # Credentials posted straight to the admin's log-in, with a valid CSRF token, sign nobody in.
    def straight_to_the_admin():
        page = reader.get(LOGIN)
        token = post_form(page)["csrfmiddlewaretoken"]
        response = reader.post(
            "/admin/login/",
            data={
                "csrfmiddlewaretoken": token,
                "username": editor.email,
                "password": PASSWORD,
                "next": "/admin/",
            },
        )
        assert response.status == 302 and response["Location"].startswith(LOGIN)
        assert "sessionid" not in reader.cookies
        assert reader.get("/admin/").status == 302

    straight_to_the_admin()
    # The same password through the site's log-in opens the admin.
    staff = browser(server)
    assert attempt(server, editor.email, PASSWORD, "198.51.100.21", reader=staff)[1]
    assert staff.get("/admin/").status == 200

    # Locked out of the site's log-in, the admin's is no way around it.
    assert failures(server, editor.email, LIMIT, first=30) == ["processed"] * LIMIT
    response, signed_in_again = attempt(server, editor.email, PASSWORD, "198.51.100.22")
    assert (outcome(response), signed_in_again) == ("refused", False)
    straight_to_the_admin()
