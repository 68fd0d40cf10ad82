import re

import pytest
from django.db import IntegrityError

from members.models import User
from newsroom.mail import UNCONFIGURED
from tests.conftest import PASSWORD
from tests.html import visible_text

pytestmark = pytest.mark.django_db


def test_users_log_in_by_email_and_have_no_username():
    user = User.objects.create_user("Nino@Example.com", "a long passphrase")
    assert user.email == "Nino@example.com"
    assert not hasattr(user, "username") or user.username is None
    assert User.USERNAME_FIELD == "email"


def test_email_addresses_are_unique_whatever_their_case():
    User.objects.create_user("nino@example.com", "a long passphrase")
    with pytest.raises(IntegrityError):
        User.objects.create_user("NINO@example.com", "a long passphrase")


def test_reader_logs_in_with_email_on_the_sites_login_page(client, reader):
    response = client.post(
        "/accounts/login/",
        {"login": "reader@example.com", "password": "correct horse battery"},
    )
    assert response.status_code == 302
    assert client.get("/").wsgi_request.user == reader


def test_wrong_password_is_refused_with_a_message(client, reader):
    response = client.post("/accounts/login/", {"login": "reader@example.com", "password": "wrong"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_admin_is_closed_to_readers_and_open_to_editors(client, reader, editor):
    client.force_login(reader)
    assert client.get("/admin/").status_code in (302, 403)
    client.force_login(editor)
    response = client.get("/admin/")
    assert response.status_code == 200
    # The admin has its own policy: its widgets need inline styles, its scripts a nonce.
    assert "'unsafe-inline'" in response["Content-Security-Policy"]


def test_editor_logs_into_the_admin_through_the_login_page(client, editor):
    response = client.post(
        "/accounts/login/",
        {"login": "editor@example.com", "password": "correct horse battery", "next": "/admin/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_repeated_failed_logins_are_stopped_with_a_clear_page(client, reader, rate_limits_on):
    statuses, pages = [], []
    for _attempt in range(40):
        response = client.post(
            "/accounts/login/", {"login": "reader@example.com", "password": "guess"}
        )
        statuses.append(response.status_code)
        pages.append(response.content.decode())
        if response.status_code == 429:
            break
    assert set(statuses) <= {200, 429}
    # First the address is locked (a form error), then the connection is refused outright.
    assert any("Too many failed login attempts" in page for page in pages)
    assert statuses[-1] == 429
    assert "Too many attempts" in pages[-1]
    assert "site-header" in pages[-1]
    # Even the right password waits until the limit has passed.
    response = client.post(
        "/accounts/login/", {"login": "reader@example.com", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_rate_limits_are_on_outside_the_tests():
    from newsroom import settings as production

    # allauth's defaults (not False), plus the project's own limits on creating checkouts and
    # on the fundraiser blocks' view beacon.
    assert set(production.ACCOUNT_RATE_LIMITS) == {
        "checkout",
        "checkout_user",
        "call_to_action_beacon",
    }
    assert production.CACHES["default"]  # allauth counts in the default cache


def test_account_mail_carries_the_newsroom_name(client, reader, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": "reader@example.com"})
    assert response.status_code == 302
    assert mailoutbox[0].subject.startswith("[The Highland Courier] ")
    assert mailoutbox[0].to == ["reader@example.com"]


def test_password_reset_and_change_pages_are_in_the_sites_layout(client, reader):
    page = client.get("/accounts/password/reset/").content.decode()
    assert "site-header" in page and "Password Reset" in page
    client.force_login(reader)
    page = client.get("/accounts/password/change/").content.decode()
    assert "site-header" in page and "account-nav" in page
    assert "Two-factor log-in" in page


def test_password_reset_link_sets_a_new_password(client, reader, mailoutbox):
    client.post("/accounts/password/reset/", {"email": "reader@example.com"})
    link = re.search(r"https?://testserver(/accounts/password/reset/key/\S+/)", mailoutbox[0].body)
    response = client.get(link.group(1), follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link.group(1)
    new = "a different long passphrase"
    response = client.post(form_url, {"password1": new, "password2": new})
    assert response.status_code == 302
    reader.refresh_from_db()
    assert reader.check_password(new)


def test_confirming_the_address_after_sign_up_logs_the_reader_in(client, mailoutbox):
    response = client.post(
        "/accounts/signup/",
        {"email": "new.reader@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    # Verification is mandatory: not logged in yet.
    assert "_auth_user_id" not in client.session
    assert mailoutbox[0].subject.startswith("[The Highland Courier] ")
    link = re.search(r"https?://testserver(/accounts/confirm-email/\S+/)", mailoutbox[0].body)
    response = client.post(link.group(1))
    assert response.status_code == 302
    assert client.get("/").wsgi_request.user.email == "new.reader@example.com"


@pytest.mark.parametrize("signup_url", ["/accounts/signup/", "/ru/accounts/signup/"])
def test_an_address_longer_than_the_email_column_is_refused_every_time(client, signup_url):
    """Security sweep, finding 2: a 255-character address was stored cut to 254 characters, and
    the second attempt collided with it (a 500)."""

    def address_of(length):
        # A 64-character local part and a domain of labels no longer than 63 characters.
        return "a" * 64 + "@" + "b" * 62 + "." + "c" * 62 + "." + "d" * (length - 199) + ".example"

    address = address_of(255)
    assert len(address) == 255
    form = {"email": address, "password1": PASSWORD + "!", "password2": PASSWORD + "!"}

    for _attempt in range(2):
        response = client.post(signup_url, form)
        assert response.status_code == 200
        assert response.context["form"].errors["email"]
    assert not User.objects.exists()

    at_the_limit = address_of(254)
    assert client.post("/accounts/signup/", {**form, "email": at_the_limit}).status_code == 302
    assert User.objects.get().email == at_the_limit


def test_without_email_sign_up_and_password_reset_say_so_and_store_nothing(
    client, settings, reader, mailoutbox
):
    """Security sweep, finding 3: with production settings and no EMAIL_URL, a sign-up was a
    500 after the account had been created, so the reader could not even try again."""
    settings.MAILERS = {"default": {"BACKEND": UNCONFIGURED}}
    form = {"email": "new.reader@example.com", "password1": PASSWORD, "password2": PASSWORD}

    for url in ("/accounts/signup/", "/ru/accounts/signup/"):
        response = client.post(url, form)
        assert response.status_code == 503
        assert not User.objects.filter(email=form["email"]).exists()
    assert "Мы не можем отправить письмо" in visible_text(response)
    response = client.get("/accounts/signup/")
    assert response.status_code == 503
    assert "We cannot send email right now" in visible_text(response)

    response = client.post("/accounts/password/reset/", {"email": reader.email})
    assert response.status_code == 503
    assert "We cannot send email right now" in visible_text(response)

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert client.post("/accounts/signup/", form).status_code == 302
    assert User.objects.filter(email=form["email"]).exists()
