import pytest
from django.db import IntegrityError

from members.models import User

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
    response = client.post(
        "/accounts/login/", {"login": "reader@example.com", "password": "wrong"}
    )
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
