"""Check 32: whether an address has an account is not told by the site's answers.

For each pair the status, the templates, the headers and the page are identical once the CSRF
token and the CSP nonce (which differ on every response) and the address the visitor typed
(which the page repeats to them) are masked; only the owner of an address gets a mail about it.
"""

import re

import pytest
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

KNOWN = "reader@example.com"
UNKNOWN = "nobody.here@example.com"
# Values that differ on every response whatever the address: tokens, nonces, cookie values.
MASKS = [
    (re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"'), b'name="csrfmiddlewaretoken"'),
    (re.compile(rb'nonce="[^"]+"'), b'nonce=""'),
    (re.compile(r"'nonce-[^']+'"), "'nonce-'"),
]


def masked(response, typed):
    body = response.content.replace(typed.encode(), b"typed@address")
    for pattern, replacement in MASKS[:2]:
        body = pattern.sub(replacement, body)
    headers = {}
    for name, value in response.headers.items():
        # The length follows the typed address; the masked bodies are compared instead.
        if name.lower() not in ("set-cookie", "expires", "date", "content-length"):
            headers[name] = MASKS[2][0].sub(MASKS[2][1], value)
    return {
        "status": response.status_code,
        # The page's templates, not those of the mails sent while answering.
        "templates": [
            template.name for template in response.templates if "/email/" not in template.name
        ],
        "headers": headers,
        "cookies": sorted(response.cookies),
        "body": body,
    }


def answers(path, data):
    """The answer to posting `data` to `path` from a new browser, and the page it leads to."""
    typed = data.get("email") or data["login"]
    client = Client()
    client.get(path)
    response = client.post(path, data)
    shown = [masked(response, typed)]
    if response.status_code == 302:
        shown.append(masked(client.get(response["Location"]), typed))
    return shown


def test_password_reset_answers_the_same_for_a_known_and_an_unknown_address(reader, mailoutbox):
    path = "/accounts/password/reset/"
    known = answers(path, {"email": KNOWN})
    unknown = answers(path, {"email": UNKNOWN})
    assert known == unknown
    assert known[0]["status"] == 302
    reset_mails = [mail for mail in mailoutbox if "/accounts/password/reset/key/" in mail.body]
    assert [mail.to for mail in reset_mails] == [[KNOWN]]
    # Whatever goes to the unknown address tells its owner only that there is no account.
    assert all("/accounts/password/reset/key/" not in mail.body for mail in mailoutbox[1:])
    assert all(mail.to in ([KNOWN], [UNKNOWN]) for mail in mailoutbox)


def test_log_in_answers_the_same_for_an_unknown_address_and_a_wrong_password(reader):
    path = "/accounts/login/"
    unknown = answers(path, {"login": UNKNOWN, "password": PASSWORD})
    wrong = answers(path, {"login": KNOWN, "password": PASSWORD + "-wrong"})
    assert unknown == wrong
    assert unknown[0]["status"] == 200


def test_sign_up_answers_the_same_for_a_taken_and_a_free_address(reader, mailoutbox):
    path = "/accounts/signup/"
    new_password = "a long, new, and unusual passphrase"
    taken = answers(path, {"email": KNOWN, "password1": new_password, "password2": new_password})
    free = answers(path, {"email": UNKNOWN, "password1": new_password, "password2": new_password})
    assert taken == free
    assert taken[0]["status"] == 302
    # The owner of the taken address is told that someone tried; the new one gets its
    # confirmation link; nobody else gets anything.
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted([KNOWN, UNKNOWN])
    [to_owner] = [mail for mail in mailoutbox if mail.to == [KNOWN]]
    assert "/accounts/confirm-email/" not in to_owner.body
