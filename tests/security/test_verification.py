"""Check 33: an address is confirmed by its link once, within three days
(ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS), and an unconfirmed account cannot log in.

Of the check's two ways ("cannot log in, or cannot reach checkout, until the email is verified")
the product takes the first: the join flow goes on to Checkout before the address is confirmed (a
reader pays while they are here), and the new account is tied to the payment by its id. Until the
link is followed nobody is logged in to that account, so what was paid for opens to nobody: not the
browser that signed up, not anyone who knows the address.
"""

import re

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from members.models import User
from newsroom.models import Article
from tests.conftest import PASSWORD, shift_clock
from tests.factories import ArticleFactory, MembershipFactory
from tests.members.test_joining import join, sign_up, stripe_price

pytestmark = pytest.mark.django_db

ADDRESS = "new.reader@example.com"
DAY = 86400


@pytest.fixture
def clock(monkeypatch):
    """Shift the clock Django's signed values (allauth's confirmation keys) are checked by."""
    from django.core import signing

    return shift_clock(monkeypatch, signing)


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


def test_a_membership_paid_before_confirming_opens_only_after_the_link(
    client, stripe_api, mailoutbox
):
    price = stripe_price(stripe_api)
    story = ArticleFactory(
        body="<p>The ministry's own figures.</p>", visibility=Article.Visibility.MEMBERS
    )
    join(client, price)
    assert sign_up(client, email=ADDRESS)["Location"].startswith(stripe_api.url)
    # Stripe's webhook has made the new account a member (as after a paid Checkout).
    MembershipFactory(user=User.objects.get(email=ADDRESS), price=price)

    # The browser that signed up and paid is not logged in: no story, account, data or portal.
    assert "ministry's own figures" not in client.get(story.get_absolute_url()).content.decode()
    for path in ("/membership/account/", "/membership/account/data/"):
        assert client.get(path)["Location"].startswith("/accounts/login/"), path
    assert client.post("/membership/account/portal/")["Location"].startswith("/accounts/login/")
    assert not stripe_api.objects("billing_portal.session")
    # Nor is anyone who knows the address and the password.
    other = Client()
    other.post("/accounts/login/", {"login": ADDRESS, "password": PASSWORD})
    assert "_auth_user_id" not in other.session

    # Following the mailed link in the browser that signed up logs the member in.
    link = re.search(
        r"https?://testserver(/accounts/confirm-email/\S+/)", mailoutbox[0].body
    ).group(1)
    client.post(link)
    assert confirmed()
    assert "ministry's own figures" in client.get(story.get_absolute_url()).content.decode()
