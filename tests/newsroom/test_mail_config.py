import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from newsroom.mail import mailer_from_url


def test_email_url_names_an_smtp_server_with_starttls():
    assert mailer_from_url("smtp+tls://news%40example.org:p%2Fss@mail.example.org") == {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": "mail.example.org",
            "port": 587,
            "use_tls": True,
            "use_ssl": False,
            "timeout": 20,
            "username": "news@example.org",
            "password": "p/ss",
        },
    }


def test_email_url_with_implicit_tls_and_no_login():
    options = mailer_from_url("smtps://mail.example.org:2465?timeout=5")["OPTIONS"]
    assert options == {
        "host": "mail.example.org",
        "port": 2465,
        "use_tls": False,
        "use_ssl": True,
        "timeout": 5,
    }


@pytest.mark.parametrize("url", ["mailserver", "http://mail.example.org", "smtp://"])
def test_email_url_that_is_not_smtp_is_refused(url):
    with pytest.raises(ValueError, match="EMAIL_URL must look like"):
        mailer_from_url(url)


def test_production_without_email_url_says_so_when_mail_is_sent(settings):
    settings.MAILERS = {"default": {"BACKEND": "newsroom.mail.UnconfiguredEmailBackend"}}
    with pytest.raises(ImproperlyConfigured, match="set EMAIL_URL"):
        mail.send_mail("Subject", "Body", None, ["reader@example.com"])
