"""Check 34: sensitive account actions ask for the password again unless it was confirmed in
the last 300 seconds (ACCOUNT_REAUTHENTICATION_TIMEOUT), and change nothing until it is.

Confirmation happens at `/accounts/reauthenticate/`; logging in does not count as one (allauth's
rule, stricter than the check's "last login"). Time is moved by shifting the clock that allauth's
re-authentication reads, never by sleeping.
"""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from members.models import Customer, User
from tests.conftest import PASSWORD, shift_clock

pytestmark = pytest.mark.django_db

REAUTHENTICATE = "/accounts/reauthenticate/"
NEW_PASSWORD = "an entirely new passphrase, long enough"


@pytest.fixture
def clock(monkeypatch):
    """Shift the clock allauth compares re-authentication times with by `clock.offset` s."""
    from allauth.account.internal.flows import reauthentication

    return shift_clock(monkeypatch, reauthentication)


def confirmed(client, user, clock, seconds_ago):
    """`user` signed in and confirmed their password `seconds_ago` seconds ago."""
    client.force_login(user)
    assert client.post(REAUTHENTICATE, {"password": PASSWORD}).status_code == 302
    clock.offset = seconds_ago


def asked_again(response):
    return response.status_code == 302 and response["Location"].startswith(REAUTHENTICATE)


@pytest.fixture
def customer(reader, stripe_api):
    stripe_customer = stripe_api.client().v1.customers.create(params={"email": reader.email})
    return Customer.objects.create(user=reader, stripe_customer_id=stripe_customer.id)


def download(client, reader):
    return client.get("/membership/account/data/")


def download_happened(response, reader):
    return response.status_code == 200 and reader.email.encode() in response.content


def open_portal(client, reader):
    return client.post("/membership/account/portal/")


def change_password(client, reader):
    return client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )


def password_changed(response, reader):
    reader.refresh_from_db()
    return reader.check_password(NEW_PASSWORD)


def add_address(client, reader):
    return client.post("/accounts/email/", {"action_add": "", "email": "second@example.com"})


def address_added(response, reader):
    return EmailAddress.objects.filter(user=reader, email="second@example.com").exists()


def delete_account(client, reader):
    return client.post("/membership/account/delete/", {"confirm": "yes"})


def account_deleted(response, reader):
    return not User.objects.filter(pk=reader.pk).exists()


def deactivate_app(client, reader):
    return client.post("/accounts/2fa/totp/deactivate/")


def app_deactivated(response, reader):
    return not Authenticator.objects.filter(user=reader, type=Authenticator.Type.TOTP).exists()


def view_recovery_codes(client, reader):
    return client.get("/accounts/2fa/recovery-codes/")


def codes_shown(response, reader):
    codes = RecoveryCodes(Authenticator.objects.get(type=Authenticator.Type.RECOVERY_CODES))
    return response.status_code == 200 and codes.get_unused_codes()[0] in response.content.decode()


# What each action needs beforehand: an authenticator app (an account with one cannot add
# addresses, so the others are tried without).
ACTIONS = {
    "download my data": (download, download_happened, False),
    "add an address": (add_address, address_added, False),
    "delete the account": (delete_account, account_deleted, False),
    "turn off the authenticator app": (deactivate_app, app_deactivated, True),
    "view recovery codes": (view_recovery_codes, codes_shown, True),
}


def prepare(reader, action):
    act, happened, needs_app = ACTIONS[action]
    if needs_app:
        TOTP.activate(reader, generate_totp_secret())
        RecoveryCodes.activate(reader)
    return act, happened


@pytest.mark.parametrize("action", ACTIONS)
def test_after_301_seconds_the_action_asks_for_the_password_and_changes_nothing(
    client, reader, clock, action
):
    act, happened = prepare(reader, action)
    confirmed(client, reader, clock, seconds_ago=301)
    response = act(client, reader)
    assert asked_again(response), response
    assert not happened(response, reader)


@pytest.mark.parametrize("action", ACTIONS)
def test_within_299_seconds_the_action_goes_ahead(client, reader, clock, action):
    act, happened = prepare(reader, action)
    confirmed(client, reader, clock, seconds_ago=299)
    response = act(client, reader)
    assert not asked_again(response), response
    assert happened(response, reader)


def test_changing_the_password_asks_for_the_current_one_in_its_own_form(client, reader, clock):
    confirmed(client, reader, clock, seconds_ago=3600)
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "a guess", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200 and "oldpassword" in response.context["form"].errors
    assert not password_changed(response, reader)
    change_password(client, reader)
    assert password_changed(response, reader)


def test_a_fresh_log_in_is_not_a_confirmation(client, reader):
    client.force_login(reader)
    assert asked_again(client.get("/membership/account/data/"))


def test_the_portal_opens_only_after_the_password_is_confirmed(
    client, reader, customer, stripe_api, clock
):
    confirmed(client, reader, clock, seconds_ago=301)
    assert asked_again(open_portal(client, reader))
    assert not stripe_api.objects("billing_portal.session")

    response = client.post(REAUTHENTICATE, {"password": PASSWORD})
    clock.offset = 299
    response = open_portal(client, reader)
    (portal,) = stripe_api.objects("billing_portal.session")
    assert response["Location"] == portal["url"]
    assert portal["customer"] == customer.stripe_customer_id


def test_the_data_download_is_never_stored_by_a_cache(client, reader, clock):
    confirmed(client, reader, clock, seconds_ago=1)
    response = client.get("/membership/account/data/")
    assert response.status_code == 200
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives
