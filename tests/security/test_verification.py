"""Check 33: an address is confirmed by its link once, within three days
(ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS), and an unconfirmed account cannot log in."""

import re
import time
import types

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ADDRESS = "new.reader@example.com"
DAY = 86400


@pytest.fixture
def clock(monkeypatch):
    """Shift the clock Django's signed values (allauth's confirmation keys) are checked by."""
    from django.core import signing

    shifted = types.SimpleNamespace(offset=0)
    shifted.time = lambda: time.time() + shifted.offset
    monkeypatch.setattr(signing, "time", shifted)
    return shifted


def signed_up(mailoutbox):
    """Sign up in one browser; the confirmation link's path from the mail."""
    response = Client().post(
        "/accounts/signup/", {"email": ADDRESS, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    [mail] = mailoutbox
    return re.search(r"https?://testserver(/accounts/confirm-email/\S+/)", mail.body).group(1)


def confirmed():
    return EmailAddress.objects.get(email=ADDRESS).verified


def test_an_unconfirmed_account_cannot_log_in(mailoutbox):
    signed_up(mailoutbox)
    client = Client()
    response = client.post("/accounts/login/", {"login": ADDRESS, "password": PASSWORD})
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("age, works", [(3 * DAY - 60, True), (3 * DAY + 1, False)])
def test_the_link_works_for_three_days(mailoutbox, clock, age, works):
    link = signed_up(mailoutbox)
    clock.offset = age
    client = Client()
    page = client.get(link)
    client.post(link)
    assert confirmed() is works
    if not works:
        assert "expired or is invalid" in page.content.decode()


def test_the_link_works_once(mailoutbox):
    link = signed_up(mailoutbox)
    assert Client().post(link).status_code == 302
    assert confirmed()
    # Opened again, elsewhere: the page says the link is used up, and posting it logs nobody in.
    again = Client()
    assert "expired or is invalid" in again.get(link).content.decode()
    again.post(link)
    assert "_auth_user_id" not in again.session
