"""Two-factor log-in (allauth.mfa): open to everyone, required of staff before the admin opens."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import override_settings

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ACTIVATE = "/accounts/2fa/totp/activate/"


def current_code(secret):
    """The code an authenticator app shows now (allauth's own TOTP arithmetic, 30 s steps)."""
    # The server accepts only the current step: do not hand over a code about to expire.
    if 30 - time.time() % 30 < 1:
        time.sleep(1.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def log_in(client, user, next_url=None):
    data = {"login": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def activate_totp(client):
    """Go through allauth's activation page as a person would: confirm the password, scan, type."""
    response = client.get(ACTIVATE, follow=True)
    if response.redirect_chain and "/reauthenticate/" in response.redirect_chain[-1][0]:
        response = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert response.request["PATH_INFO"] == ACTIVATE
    secret = response.context["form"].secret
    response = client.post(ACTIVATE, {"code": current_code(secret)})
    assert response.status_code == 302, response.content.decode()
    return secret


@pytest.fixture
def staff_must_use_mfa(settings):
    settings.STAFF_REQUIRE_MFA = True


def test_staff_without_an_authenticator_app_is_sent_to_activate_one(
    client, editor, staff_must_use_mfa
):
    client.force_login(editor)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == ACTIVATE
    # Every admin page, not just the index.
    assert client.get("/admin/newsroom/article/")["Location"] == ACTIVATE

    page = client.get(response["Location"], follow=True).content.decode()
    assert "Staff accounts must use two-factor log-in" in page


def test_after_activating_the_admin_opens(client, editor, staff_must_use_mfa):
    log_in(client, editor)
    response = client.get("/admin/", follow=True)
    assert "Staff accounts must use two-factor log-in" in response.content.decode()

    activate_totp(client)

    assert Authenticator.objects.filter(user=editor, type=Authenticator.Type.TOTP).exists()
    # The recovery codes page leads staff on to the admin.
    page = client.get("/accounts/2fa/recovery-codes/").content.decode()
    assert 'href="/admin/"' in page
    assert client.get("/admin/").status_code == 200


def test_superusers_need_an_authenticator_app_too(client, superuser, staff_must_use_mfa):
    client.force_login(superuser)
    assert client.get("/admin/")["Location"] == ACTIVATE
    TOTP.activate(superuser, generate_totp_secret())
    assert client.get("/admin/").status_code == 200


def test_staff_can_still_log_out_of_the_admin(client, editor, staff_must_use_mfa):
    client.force_login(editor)
    response = client.post("/admin/logout/")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logging_in_with_an_authenticator_app_asks_for_its_code(client, editor, staff_must_use_mfa):
    secret = generate_totp_secret()
    TOTP.activate(editor, secret)

    response = log_in(client, editor, next_url="/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    # The password alone logs nobody in.
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/")["Location"].startswith("/admin/login/")

    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    if current_code(secret) != "000000":
        assert response.status_code == 200
        assert "Incorrect code" in response.content.decode()
        assert "_auth_user_id" not in client.session

    response = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_two_factor_step_is_in_the_sites_layout(client, reader):
    TOTP.activate(reader, generate_totp_secret())
    response = log_in(client, reader)
    page = client.get(response["Location"]).content.decode()
    assert "Two-Factor Authentication" in page
    assert "site-header" in page and "site-footer" in page


def test_without_the_requirement_the_admin_opens_without_an_app(client, editor, settings):
    settings.STAFF_REQUIRE_MFA = False
    client.force_login(editor)
    assert client.get("/admin/").status_code == 200


def test_readers_can_activate_an_authenticator_app(client, reader):
    log_in(client, reader)
    overview = client.get("/accounts/2fa/").content.decode()
    assert ACTIVATE in overview

    activate_totp(client)

    assert Authenticator.objects.filter(user=reader, type=Authenticator.Type.TOTP).exists()
    codes = Authenticator.objects.get(user=reader, type=Authenticator.Type.RECOVERY_CODES)
    page = client.get("/accounts/2fa/recovery-codes/").content.decode()
    assert codes.wrap().get_unused_codes()[0] in page
    # Readers get no way into the admin.
    assert 'href="/admin/"' not in page


def test_the_qr_code_is_inline_svg_that_the_policy_allows(client, reader):
    log_in(client, reader)
    response = client.get(ACTIVATE, follow=True)
    response = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    page = response.content.decode()
    assert "<svg" in page and 'class="totp-qr"' in page
    # No data: image, which the public policy (img-src 'self') would block, and no inline script.
    assert "data:image" not in page
    assert "<script>" not in page
    policy = response["Content-Security-Policy"]
    assert "img-src 'self'" in policy
    assert "<?xml" not in page
    # The authenticator app lists the account under the newsroom's name.
    assert (
        "The Highland Courier" in response.context["totp_url"]
        or "The%20Highland%20Courier" in (response.context["totp_url"])
    )


@override_settings(STAFF_REQUIRE_MFA=True)
def test_a_wrong_code_does_not_activate_the_app(client, editor):
    log_in(client, editor)
    response = client.get(ACTIVATE, follow=True)
    client.post(response.redirect_chain[-1][0], {"password": PASSWORD})
    secret = client.get(ACTIVATE).context["form"].secret
    wrong = "000000" if current_code(secret) != "000000" else "111111"
    response = client.post(ACTIVATE, {"code": wrong})
    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert not Authenticator.objects.filter(user=editor).exists()
    assert client.get("/admin/")["Location"] == ACTIVATE


# Security check 35 -----------------------------------------------------------------------------


def test_five_wrong_codes_stop_the_two_factor_step_even_for_the_right_one(
    client, editor, rate_limits_on
):
    secret = generate_totp_secret()
    TOTP.activate(editor, secret)
    assert log_in(client, editor)["Location"] == "/accounts/2fa/authenticate/"
    right = current_code(secret)
    wrong = next(f"{n:06d}" for n in range(1, 10) if f"{n:06d}" != right)
    for _attempt in range(5):
        response = client.post("/accounts/2fa/authenticate/", {"code": wrong})
        assert "Incorrect code" in response.content.decode()

    response = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})

    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 429)
    assert "Too many" in response.content.decode()


def test_a_recovery_code_logs_in_once(client, editor):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    TOTP.activate(editor, generate_totp_secret())
    [code, *_] = RecoveryCodes.activate(editor).get_unused_codes()

    assert log_in(client, editor)["Location"] == "/accounts/2fa/authenticate/"
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert "_auth_user_id" in client.session
    client.post("/accounts/logout/")

    assert log_in(client, editor)["Location"] == "/accounts/2fa/authenticate/"
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert "Incorrect code" in response.content.decode()
    assert "_auth_user_id" not in client.session
