"""Others' input on the account forms (tests/corpus/strings), each with the one outcome expected
of it: an account whose address and password are exactly what was typed (less the white space
Django strips around an address), or a form error on the field, from a rule named here, and
nothing stored. Never a 500.
"""

import re
import unicodedata

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.validators import validate_email
from django.test import Client

from members.adapter import has_unprintable_characters
from members.models import User
from tests import corpus

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
SIGNUP = "/accounts/signup/"
LOGIN = "/accounts/login/"

INVALID = "Enter a valid email address."
REQUIRED = "This field is required."
NUL = "Null characters are not allowed."


def is_special(value):
    """Control, format and separator characters (CR, LF, NUL, U+2028, zero widths, bidi
    overrides…) or characters beyond the Basic Multilingual Plane (emoji)."""
    return any(
        (unicodedata.category(char)[0] in "CZ" and char != " ") or ord(char) > 0xFFFF
        for char in value
    )


def sample_of_naughty_strings():
    """For the flows where each string costs several requests (log-in, joining): every string
    with control, separator or astral characters, and every seventh of the others (scripts, SQL,
    right-to-left text, long strings…), about a hundred in all."""
    strings = corpus.naughty_strings()
    special = [value for value in strings if is_special(value)]
    others = [value for value in strings if not is_special(value)]
    return special + others[::7]


# Header injection attempts the corpus spells with symbols; these carry real CR/LF.
HEADER_INJECTIONS = [
    "victim@example.com\r\nBcc: everyone@example.org",
    "victim@example.com\nSubject: free money",
    "victim@example.com\rBcc: everyone@example.org",
    "victim@example.com%0d%0aBcc:everyone@example.org",
    "victim@example.com\u2028Bcc: everyone@example.org",
    "\r\nvictim@example.com\r\n",
]
# The one attempt that is an address: CR/LF around it are white space, which Django strips.
HEADER_INJECTIONS_ACCEPTED = {"\r\nvictim@example.com\r\n": "victim@example.com"}


def sign_up(email, password=PASSWORD):
    # A fresh client each time: a completed sign-up leaves a pending log-in in its session.
    return Client().post(SIGNUP, {"email": email, "password1": password, "password2": password})


def errors_of(response):
    """{field: [messages]} of the sign-up form the response shows again."""
    assert response.status_code == 200, response.status_code
    return {field: list(messages) for field, messages in response.context["form"].errors.items()}


def assert_refused_cleanly(response, value, field, messages):
    """The form is shown again with exactly `messages` on `field`, and nothing is stored."""
    assert errors_of(response) == {field: messages}, value
    page = response.content.decode()
    assert 'class="errorlist' in page, value
    # Whatever was typed comes back escaped, never as markup.
    if "<" in value:
        assert value not in page, value
    assert not User.objects.exists(), value
    assert not EmailAddress.objects.exists(), value
    assert not mail.outbox, value


def assert_account(response, stored_address, password=PASSWORD):
    """An account was made, for `stored_address` exactly, and its verification mail went there."""
    assert response.status_code == 302, (stored_address, errors_of(response))
    user = User.objects.get()
    assert user.email == stored_address
    validate_email(user.email)
    assert not has_unprintable_characters(user.email)
    assert EmailAddress.objects.get(user=user).email == stored_address
    assert user.check_password(password)
    assert [message.to for message in mail.outbox] == [[stored_address]]
    return user


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


def address_messages(address):
    """What the e-mail field says about an address it refuses."""
    if not address.strip():
        return [REQUIRED]
    return [INVALID, NUL] if "\x00" in address else [INVALID]


# The is_email set --------------------------------------------------------------------------------

ISEMAIL = {case["id"]: case for case in corpus.isemail_cases()}
ISEMAIL_ERRORS = [case for case in ISEMAIL.values() if case["category"] == "ISEMAIL_ERR"]
ISEMAIL_VALID = [case for case in ISEMAIL.values() if case["category"] != "ISEMAIL_ERR"]

# Addresses the set calls valid (ISEMAIL_VALID, DNSWARN, RFC5321, CFWS, DEPREC, RFC5322) that the
# sign-up refuses, and the rule that refuses each: Django's EmailValidator, which takes a
# dot-atom or one quoted string before the @ and a host name or IP literal after it, and the
# project's rule against control and separator characters (members/adapter.py).
ISEMAIL_VALID_REFUSED = {
    5: "EmailValidator: no dot in the domain (test@io)",
    13: "EmailValidator: a one-letter top-level domain",
    23: "EmailValidator: a numeric top-level domain",
    24: "EmailValidator: an IPv4 address outside [brackets] reads as a numeric top-level domain",
    28: "EmailValidator: a 64-character domain label (the limit is 63)",
    37: "EmailValidator: a one-letter top-level domain (…u.v)",
    54: 'EmailValidator: a quoted string followed by more local part ("test"."test")',
    55: "project rule: the (escaped) space in the quoted local part is a separator",
    56: 'EmailValidator: a quoted string followed by more local part ("test".test)',
    58: "a NUL: Django's ProhibitNullCharactersValidator (and EmailValidator)",
    59: "EmailValidator: unescaped spaces in the quoted local part",
    60: "EmailValidator: unescaped spaces in the quoted local part",
    63: "EmailValidator: the literal is not an IPv4 address (three parts)",
    64: "EmailValidator: the literal is not an IPv4 address (five parts)",
    65: "EmailValidator: the literal is not an IPv4 address (256)",
    **{
        number: "EmailValidator: reads an IPv6 literal only without RFC 5321's 'IPv6:' tag"
        for number in [*range(67, 85), 159]
    },
    85: "EmailValidator: white space next to the @",
    86: "EmailValidator: white space next to the @",
    87: "EmailValidator: white space around a dot in the local part",
    **{
        number: "EmailValidator: a (comment) in the address"
        for number in [90, 92, 93, 95, 96, 97, 98, 126, 140, 165]
    },
    **{
        number: "EmailValidator: a domain literal that is not an IP address"
        for number in [112, 115, 116, 117, 120, 121]
    },
    124: "project rule: a DEL control character in the quoted local part",
    125: "project rule: a DEL control character in the quoted local part",
    134: "EmailValidator: an escaped line feed in the quoted local part",
    138: "project rule: a BEL control character in the quoted local part",
    139: "project rule: a BEL control character in the quoted local part",
    161: "EmailValidator: a / in the domain",
    166: "EmailValidator: no dot in the domain (test@org)",
}

# Valid in the set's terms and longer than the 254-character email column: refused by the
# project's length rule (members/adapter.py), since the column would cut them.
ISEMAIL_TOO_LONG_FOR_THE_COLUMN = [39, 40, 41]

# Errors in the set's terms only because of CR, LF or spaces around test@iana.org. With real
# control characters they are white space, which Django's EmailField strips: the account is for
# test@iana.org.
ISEMAIL_ERRORS_IN_SURROUNDING_WHITE_SPACE_ONLY = [
    99, 127, 128, 132, 141, 142, 143, 145, 146, 147, 150, 151, 152, 154, 155, 156,
]  # fmt: skip


def test_the_isemail_expectations_name_existing_cases():
    assert len(ISEMAIL_ERRORS) == 66 and len(ISEMAIL_VALID) == 98
    valid = {case["id"] for case in ISEMAIL_VALID}
    assert set(ISEMAIL_VALID_REFUSED) <= valid
    assert set(ISEMAIL_TOO_LONG_FOR_THE_COLUMN) <= valid
    assert all(len(ISEMAIL[number]["address"]) > 254 for number in ISEMAIL_TOO_LONG_FOR_THE_COLUMN)
    errors = {case["id"] for case in ISEMAIL_ERRORS}
    assert set(ISEMAIL_ERRORS_IN_SURROUNDING_WHITE_SPACE_ONLY) <= errors


def isemail_errors():
    """The addresses the set calls errors, as it writes them."""
    return [case["address"] for case in ISEMAIL_ERRORS]


def valid_case(case):
    return pytest.param(case, id=f"{case['id']}-{case['diagnosis']}")


@pytest.mark.parametrize("case", [valid_case(case) for case in ISEMAIL_VALID])
def test_addresses_the_isemail_set_calls_valid_make_an_account_unless_a_rule_refuses_them(
    case, mailoutbox
):
    # The set writes control characters as symbols; the address it means has the characters.
    address = corpus.with_control_characters(case["address"])

    response = sign_up(address)

    if case["id"] in ISEMAIL_VALID_REFUSED:
        assert_refused_cleanly(response, address, "email", address_messages(address))
    elif case["id"] in ISEMAIL_TOO_LONG_FOR_THE_COLUMN:
        message = f"Ensure this value has at most 254 characters (it has {len(address)})."
        assert_refused_cleanly(response, address, "email", [message])
    else:
        # Stored exactly as typed without the surrounding white space (allauth lower-cases
        # addresses; the set has no capitals).
        assert_account(response, address.strip())
    assert_no_line_breaks_in_mail_headers()


@pytest.mark.parametrize("spelling", ["as written", "with control characters"])
@pytest.mark.parametrize(
    "case", ISEMAIL_ERRORS, ids=[f"{case['id']}-{case['diagnosis']}" for case in ISEMAIL_ERRORS]
)
def test_addresses_the_isemail_set_calls_errors_are_refused(case, spelling, mailoutbox):
    address = case["address"]
    if spelling == "with control characters":
        address = corpus.with_control_characters(address)

    response = sign_up(address)

    if (
        spelling == "with control characters"
        and case["id"] in ISEMAIL_ERRORS_IN_SURROUNDING_WHITE_SPACE_ONLY
    ):
        assert address.strip() == "test@iana.org" != address
        assert_account(response, "test@iana.org")
    else:
        # As written, the symbols standing for CR and LF are no white space: refused too.
        assert_refused_cleanly(response, address, "email", address_messages(address))
    assert_no_line_breaks_in_mail_headers()


@pytest.mark.parametrize("address", HEADER_INJECTIONS)
def test_line_breaks_never_reach_a_mail_header(address, mailoutbox):
    response = sign_up(address)

    if address in HEADER_INJECTIONS_ACCEPTED:
        assert_account(response, HEADER_INJECTIONS_ACCEPTED[address])
    else:
        assert_refused_cleanly(response, address, "email", [INVALID])
    assert_no_line_breaks_in_mail_headers()


# The Big List of Naughty Strings -----------------------------------------------------------------


def test_no_naughty_string_is_an_address(mailoutbox):
    """None of the list's strings has the shape EmailValidator takes (local@host.tld), so each is
    refused on the e-mail field; the one made of white space only is refused as missing."""
    for value in corpus.naughty_strings():
        response = sign_up(value)
        assert_refused_cleanly(response, value, "email", address_messages(value))


# Naughty strings that Django's password validators (settings.AUTH_PASSWORD_VALIDATORS) refuse
# for more than their length (MinimumLengthValidator refuses every one shorter than 8):
# in Django's list of common passwords, which it compares lower-cased and stripped.
COMMON_PASSWORDS = {
    "null", "NULL", "None", "0", "1", ".", "-", "Infinity", "\u2029test\u2029", "mocha", "classic",
}  # fmt: skip
# Close to a part of the address they are tried with, reader<n>@example.com (its "com").
PASSWORDS_LIKE_THE_ADDRESS = {"COM1", "COM2", "COM3", "COM4", "mocha"}


def password_messages(password):
    """The messages the password field shows for `password`, rule by rule ([] if none)."""
    messages = []
    if password in PASSWORDS_LIKE_THE_ADDRESS:
        messages.append("The password is too similar to the email address.")
    if len(password) < 8:
        messages.append("This password is too short. It must contain at least 8 characters.")
    if password in COMMON_PASSWORDS:
        messages.append("This password is too common.")
    # NumericPasswordValidator: digits of any script, superscripts and subscripts included.
    if password.isdigit():
        messages.append("This password is entirely numeric.")
    return messages


def test_naughty_strings_as_the_password_work_as_typed_unless_a_password_rule_refuses_them(
    mailoutbox,
):
    accepted = 0
    for number, value in enumerate(corpus.naughty_strings()):
        email = f"reader{number}@example.com"
        response = sign_up(email, password=value)
        messages = password_messages(value)
        if messages:
            assert errors_of(response) == {"password1": messages}, value
            assert not User.objects.exists(), value
            assert not mail.outbox, value
        else:
            # Passwords are never stripped: the one typed is the one that logs in.
            assert_account(response, email, password=value)
            User.objects.all().delete()
            mail.outbox.clear()
            accepted += 1
    assert accepted == 383


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
