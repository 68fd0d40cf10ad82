"""Others' bad input on the account forms (tests/corpus/strings): form errors, never a 500."""

import re
import unicodedata

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.test import Client

from members.adapter import has_unprintable_characters
from members.models import User
from tests import corpus

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
SIGNUP = "/accounts/signup/"
LOGIN = "/accounts/login/"


def is_special(value):
    """Control, format and separator characters (CR, LF, NUL, U+2028, zero widths, bidi
    overrides…) or characters beyond the Basic Multilingual Plane (emoji)."""
    return any(
        (unicodedata.category(char)[0] in "CZ" and char != " ") or ord(char) > 0xFFFF
        for char in value
    )


def sample_of_naughty_strings():
    """Each request renders a whole page, so the corpus is sampled to keep the run short: every
    string with control, separator or astral characters, and every seventh of the others
    (scripts, SQL, right-to-left text, long strings…), about a hundred in all."""
    strings = corpus.naughty_strings()
    special = [value for value in strings if is_special(value)]
    others = [value for value in strings if not is_special(value)]
    return special + others[::7]


def isemail_errors():
    addresses = [
        case["address"] for case in corpus.isemail_cases() if case["category"] == "ISEMAIL_ERR"
    ]
    assert len(addresses) == 66
    return addresses


# Header injection attempts the corpus spells with symbols; these carry real CR/LF.
HEADER_INJECTIONS = [
    "victim@example.com\r\nBcc: everyone@example.org",
    "victim@example.com\nSubject: free money",
    "victim@example.com\rBcc: everyone@example.org",
    "victim@example.com%0d%0aBcc:everyone@example.org",
    "victim@example.com\u2028Bcc: everyone@example.org",
    "\r\nvictim@example.com\r\n",
]


def sign_up(email, password=PASSWORD):
    # A fresh client each time: a completed sign-up leaves a pending log-in in its session.
    return Client().post(SIGNUP, {"email": email, "password1": password, "password2": password})


def assert_refused_cleanly(response, value):
    assert response.status_code == 200, (value, response.status_code)
    assert response.context["form"].errors, value
    page = response.content.decode()
    assert 'class="errorlist' in page, value
    # Whatever was typed comes back escaped, never as markup.
    if "<" in value:
        assert value not in page, value


def assert_valid_stored_address(user, typed):
    """An account was made: its address is what was typed, minus surrounding white space."""
    expected = typed.strip()
    assert user.email.lower() == expected.lower(), (typed, user.email)
    validate_email(user.email)
    assert not has_unprintable_characters(user.email), typed
    assert EmailAddress.objects.get(user=user).email.lower() == expected.lower()


def assert_no_line_breaks_in_mail_headers():
    for message in mail.outbox:
        for recipient in message.to:
            assert "\r" not in recipient and "\n" not in recipient, recipient
        rendered = message.message()
        for header in ("To", "Subject", "From"):
            # Long headers are folded (line break + white space) by the mail library; anything
            # else would be a header of the attacker's making.
            value = re.sub(r"\r?\n[ \t]", " ", str(rendered[header]))
            assert "\r" not in value and "\n" not in value, (header, value)


def test_naughty_strings_as_the_email_are_an_error_or_an_account(mailoutbox):
    accepted = 0
    for value in sample_of_naughty_strings():
        existing = set(User.objects.values_list("pk", flat=True))
        response = sign_up(value)
        if response.status_code == 302:
            user = User.objects.exclude(pk__in=existing).get()
            assert_valid_stored_address(user, value)
            accepted += 1
        else:
            assert_refused_cleanly(response, value)
            assert set(User.objects.values_list("pk", flat=True)) == existing, value
    # A handful of the strings are addresses; none of the others made an account.
    assert accepted < 10
    assert len(mailoutbox) == accepted
    assert_no_line_breaks_in_mail_headers()


def test_naughty_strings_as_the_password_are_an_error_or_work(mailoutbox):
    for number, value in enumerate(sample_of_naughty_strings()):
        email = f"reader{number}@example.com"
        response = sign_up(email, password=value)
        if response.status_code == 302:
            user = User.objects.get(email=email)
            assert user.check_password(value), value
        else:
            assert_refused_cleanly(response, value)
            assert not User.objects.filter(email=email).exists(), value
    assert_no_line_breaks_in_mail_headers()


@pytest.mark.parametrize("spelling", ["as written", "with control characters"])
def test_invalid_addresses_from_the_isemail_set_are_refused(spelling, mailoutbox):
    addresses = isemail_errors()
    if spelling == "with control characters":
        addresses = [corpus.with_control_characters(address) for address in addresses]
    for address in addresses:
        response = sign_up(address)
        if response.status_code == 302:
            # Only surrounding white space (a CR or LF after the address) may be forgiven.
            assert address != address.strip(), address
            assert_valid_stored_address(User.objects.get(email__iexact=address.strip()), address)
            User.objects.filter(email__iexact=address.strip()).delete()
        else:
            assert_refused_cleanly(response, address)
            try:
                validate_email(address.strip())
            except ValidationError:
                pass
            # No stored address holds a NUL (PostgreSQL could not even be asked about one).
            if "\x00" not in address:
                assert not User.objects.filter(email__iexact=address.strip()).exists(), address
    assert not User.objects.exists()
    assert_no_line_breaks_in_mail_headers()


@pytest.mark.parametrize("address", HEADER_INJECTIONS)
def test_line_breaks_never_reach_a_mail_header(address, mailoutbox):
    response = sign_up(address)
    if response.status_code == 302:
        # Only the surrounding CR/LF case: stripped to a plain address.
        assert User.objects.get().email == "victim@example.com"
        assert [message.to for message in mailoutbox] == [["victim@example.com"]]
    else:
        assert_refused_cleanly(response, address)
        assert not mailoutbox
    assert_no_line_breaks_in_mail_headers()


def test_the_login_form_answers_naughty_strings_with_an_error(reader):
    client = Client()
    strings = sample_of_naughty_strings()
    for login, password in zip(strings, reversed(strings), strict=True):
        response = client.post(LOGIN, {"login": login, "password": password})
        assert response.status_code == 200, (login, password, response.status_code)
        assert response.context["form"].errors, (login, password)
    # And as the password of a real account.
    for password in strings:
        response = client.post(LOGIN, {"login": reader.email, "password": password})
        assert response.status_code == 200, (password, response.status_code)
    assert "_auth_user_id" not in client.session
