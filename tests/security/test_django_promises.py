"""What Django and allauth promise, checked on this site's settings (checks 22 to 29 and 33 of
the security battery)."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher, PBKDF2PasswordHasher, get_hasher
from django.test import Client

from members.models import Donation, User
from newsroom import settings as production
from tests.conftest import PASSWORD
from tests.factories import ArticleFactory, UserFactory
from tests.members.stripe_events import (  # noqa: F401
    donation_session,
    make_event,
    post,
    stripe_settings,
)

pytestmark = pytest.mark.django_db


def test_no_security_check_is_silenced():
    """Check 22: `check --deploy` passes without hiding anything (the run itself is
    tests/test_deploy_settings.py)."""
    silenced = getattr(production, "SILENCED_SYSTEM_CHECKS", [])
    assert not [name for name in silenced if name.startswith("security.")]


# Check 24: headers ---------------------------------------------------------------------------------


def header_pages(member):
    return {
        "/": None,
        ArticleFactory().get_absolute_url(): None,
        "/membership/account/": member,
        "/admin/login/": None,
    }


def test_every_kind_of_page_carries_the_security_headers(member):
    """Check 24: HSTS of a year, no framing, nosniff, a referrer policy, COOP same-origin and a
    policy without inline or eval scripts, on a secure request to the home page, a story, the
    account page and the admin's log-in."""
    for path, user in header_pages(member).items():
        client = Client()
        if user:
            client.force_login(user)
        response = client.get(path, secure=True)
        assert response.status_code in (200, 302), path
        max_age = response["Strict-Transport-Security"].split("max-age=")[1].split(";")[0]
        assert int(max_age) >= 31_536_000, path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin", path
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", path
        policy = dict(
            (part.strip().split(" ", 1) + [""])[:2]
            for part in response["Content-Security-Policy"].split(";")
        )
        assert policy["object-src"] == "'none'", path
        assert policy["base-uri"] == "'self'", path
        assert policy["frame-ancestors"] == "'none'", path
        assert "'unsafe-inline'" not in policy["script-src"], path
        assert "'unsafe-eval'" not in policy["script-src"], path


def test_plain_http_is_sent_to_https(settings):
    """Check 24: production redirects `http://` permanently (the test settings turn it off for
    the test client, so it is turned back on here)."""
    assert production.SECURE_SSL_REDIRECT is True
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/", secure=False)
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/"


# Check 26: CSRF --------------------------------------------------------------------------------------


def post_targets(article):
    """Every POST form of a signed-in reader or an editor, with the data a browser would send."""
    return [
        ("reader", "/accounts/email/", {"email": "new@example.com", "action_add": ""}),
        (
            "reader",
            "/accounts/password/change/",
            {
                "oldpassword": PASSWORD,
                "password1": "a new long pass",
                "password2": "a new long pass",
            },
        ),
        ("reader", "/accounts/logout/", {}),
        ("reader", "/membership/account/portal/", {}),
        ("reader", "/membership/account/delete/", {"confirm": "yes"}),
        ("reader", "/donate/", {"amount": "10", "currency": "eur", "frequency": "once"}),
        ("reader", "/membership/join/", {"price": "1"}),
        ("editor", f"/admin/newsroom/article/{article.pk}/change/", {"headline": "Changed"}),
        (
            "editor",
            "/admin/newsroom/article/",
            {"action": "delete_selected", "_selected_action": [article.pk], "post": "yes"},
        ),
    ]


def test_every_form_refuses_a_post_without_its_token(reader, editor):
    """Check 26: with `enforce_csrf_checks=True`, a POST without a token → 403 and nothing
    changes: email and password changes, log-out, billing portal, account deletion, donation,
    joining, the admin's change form and its bulk actions. (There are no newsletter
    preferences and no cancel form: members cancel on Stripe's portal.)"""
    article = ArticleFactory(headline="Unchanged")
    users = {"reader": reader, "editor": editor}
    password_before = User.objects.get(pk=reader.pk).password
    for who, path, data in post_targets(article):
        client = Client(enforce_csrf_checks=True)
        client.force_login(users[who])
        response = client.post(path, data)
        assert response.status_code == 403, path
        # Still signed in: not even the log-out went through.
        assert client.get("/membership/account/").status_code == 200, path
    reader.refresh_from_db()
    assert reader.password == password_before
    assert reader.emailaddress_set.count() == 1
    article.refresh_from_db()
    assert article.headline == "Unchanged"


def test_a_token_of_another_session_or_a_foreign_origin_is_refused(reader):
    """Check 26: a token taken from another browser → 403; on HTTPS, a POST whose Origin is
    another site → 403 even with a valid token."""
    other = Client(enforce_csrf_checks=True)
    other.get("/accounts/login/")
    foreign_token = other.cookies[settings.CSRF_COOKIE_NAME].value

    client = Client(enforce_csrf_checks=True)
    client.force_login(reader)
    client.get("/membership/account/delete/")
    response = client.post(
        "/membership/account/delete/", {"confirm": "yes", "csrfmiddlewaretoken": foreign_token}
    )
    assert response.status_code == 403

    client.get("/membership/account/delete/", secure=True)
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        "/membership/account/delete/",
        {"confirm": "yes", "csrfmiddlewaretoken": token},
        secure=True,
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert User.objects.filter(pk=reader.pk).exists()


# Check 27: the session ----------------------------------------------------------------------------


def test_production_session_cookie_is_secure_http_only_and_same_site_lax():
    """Check 27 (the flags in production; the test settings serve plain HTTP)."""
    assert production.SESSION_COOKIE_SECURE is True
    assert production.SESSION_COOKIE_HTTPONLY is True
    assert getattr(production, "SESSION_COOKIE_SAMESITE", "Lax") == "Lax"
    assert production.CSRF_COOKIE_SECURE is True


def log_in(client, email="reader@example.com", password=PASSWORD, **extra):
    return client.post("/accounts/login/", {"login": email, "password": password, **extra})


def test_logging_in_sets_a_new_http_only_same_site_session(reader):
    """Check 27: the log-in response sets the session cookie HttpOnly and SameSite=Lax, under
    a new key (no fixation), and a replayed cookie after log-out is anonymous."""
    client = Client()
    before = client.session
    before["planted"] = "by someone else"
    before.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = before.session_key

    response = log_in(client)
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    signed_in_key = cookie.value
    assert signed_in_key != before.session_key

    client.post("/accounts/logout/")
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = signed_in_key
    response = replay.get("/membership/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_changing_the_password_signs_out_the_other_sessions(reader):
    """Check 27: after a password change, another browser of the same reader is anonymous
    (Django's session hash); the browser that changed it stays signed in."""
    here, elsewhere = Client(), Client()
    log_in(here)
    log_in(elsewhere)
    assert elsewhere.get("/membership/account/").status_code == 200
    response = here.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "a new long pass", "password2": "a new long pass"},
    )
    assert response.status_code == 302
    assert here.get("/membership/account/").status_code == 200
    assert elsewhere.get("/membership/account/").status_code == 302


# Check 28: password hashing -----------------------------------------------------------------------


def test_production_hashes_with_django_defaults_of_at_least_a_million_iterations():
    """Check 28: production keeps Django's hashers (PBKDF2 first; the tests use a fast one)."""
    assert not hasattr(production, "PASSWORD_HASHERS")
    from django.conf import global_settings

    first = global_settings.PASSWORD_HASHERS[0]
    assert first == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert PBKDF2PasswordHasher.iterations >= 1_000_000


def test_a_legacy_hash_is_rewritten_at_the_next_log_in(settings, reader):
    """Check 28: a `pbkdf2_sha256$260000$…` hash is upgraded after one successful log-in."""
    from django.conf import global_settings

    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    legacy = PBKDF2PasswordHasher().encode(PASSWORD, "legacysalt", iterations=260_000)
    User.objects.filter(pk=reader.pk).update(password=legacy)

    assert log_in(Client()).status_code == 302
    reader.refresh_from_db()
    algorithm, iterations, *_ = reader.password.split("$")
    assert algorithm == "pbkdf2_sha256"
    assert int(iterations) == get_hasher("pbkdf2_sha256").iterations >= 1_000_000


class CountingHasher(MD5PasswordHasher):
    """The tests' fast hasher, counting how often a password is hashed."""

    algorithm = "counting_md5"
    runs = 0

    def encode(self, password, salt):
        CountingHasher.runs += 1
        return super().encode(password, salt)


@pytest.mark.parametrize("case", ["unknown address", "unusable password", "wrong password"])
def test_a_failed_log_in_hashes_the_password_once_whoever_the_address_names(settings, reader, case):
    """Check 28: an unknown address, an account without a usable password and a wrong password
    take the same path: the typed password is hashed exactly once (counted, not timed), so the
    answer's timing tells nobody which addresses have accounts, and a failed log-in costs one
    hash, not one per authentication backend."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    reader.set_password(PASSWORD)
    if case == "unusable password":
        reader.set_unusable_password()
    reader.save()
    email = "nobody@example.com" if case == "unknown address" else reader.email
    CountingHasher.runs = 0

    response = log_in(Client(), email=email, password="not the password")

    assert response.status_code == 200
    assert CountingHasher.runs == 1
    # And a right password is hashed once too.
    if case == "wrong password":
        CountingHasher.runs = 0
        assert log_in(Client(), email=email).status_code == 302
        assert CountingHasher.runs == 1


# Check 29: redirects --------------------------------------------------------------------------------

HOSTILE_NEXT = ["//evil.example", "https://evil.example", "/\\evil.example", "\\\\evil.example"]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_log_in_and_log_out_never_lead_off_the_site(reader, target):
    """Check 29: `next` naming another site → the redirect stays on this one."""
    client = Client()
    response = log_in(client, next=target)
    assert response.status_code == 302
    assert response["Location"].startswith("/") and not response["Location"].startswith("//")
    assert "evil.example" not in response["Location"]
    response = client.post("/accounts/logout/", {"next": target})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_error_pages_show_no_settings_or_traceback(client):
    """Check 29: with debug off, a 404 is the site's page, not Django's debug page."""
    assert settings.DEBUG is False
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    for leak in ("Traceback", "SECRET_KEY", "DATABASES", "URLconf", "Request Method"):
        assert leak not in page


# Check 33: payments are never attached by address ---------------------------------------------------


@pytest.mark.usefixtures("stripe_settings")
def test_a_payment_whose_address_matches_an_unverified_account_is_not_attached_to_it(client):
    """Check 33 (pre-account hijack): Stripe's payer address names an account whose owner never
    confirmed it; the gift stays an anonymous donation with that address, not that account's."""
    squatter = UserFactory(email="giver@example.com")
    assert not squatter.emailaddress_set.filter(verified=True).exists()
    session = donation_session(payment_status="paid")
    assert post(client, make_event("checkout.session.completed", session)).status_code == 200
    donation = Donation.objects.get()
    assert (donation.email, donation.user) == ("giver@example.com", None)


# Check 23: rotating the secret key ------------------------------------------------------------------

OLD_KEY = "the-previous-secret-key-" + "o" * 40
NEW_KEY = "the-current-secret-key-" + "n" * 40


def test_a_session_and_a_reset_link_outlive_a_key_rotation_until_the_old_key_is_dropped(
    reader, settings, mailoutbox
):
    """Check 23: with the new key and the old one in SECRET_KEY_FALLBACKS
    (DJANGO_SECRET_KEY_FALLBACKS), a signed-in session and a password-reset link made under the
    old key still work; once the fallback is removed, both are refused. A session used while
    the fallback was there was moved to the new key (Django does so) and stays signed in."""
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_KEY, []
    used, unused = Client(), Client()
    log_in(used)
    log_in(unused)
    Client().post("/accounts/password/reset/", {"email": reader.email})
    link = re.search(r"https?://testserver(/accounts/password/reset/key/\S+/)", mailoutbox[0].body)

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]
    assert used.get("/membership/account/").status_code == 200
    assert Client().get(link.group(1)).status_code == 302  # on to the new-password form

    settings.SECRET_KEY_FALLBACKS = []
    response = Client().get(link.group(1))
    assert response.status_code == 200 and b"Bad Token" in response.content
    response = unused.get("/membership/account/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert used.get("/membership/account/").status_code == 200
