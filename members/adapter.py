"""django-allauth hooks: only what the defaults get wrong for this site."""

import logging
import unicodedata

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.internal.ratelimit import truncate_ip
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from newsroom.checks import email_is_configured

logger = logging.getLogger(__name__)


def has_unprintable_characters(text):
    """True if text holds control, format, private-use, unassigned or separator characters, or
    symbols beyond ASCII (ASCII ones such as + and = are legal in a local part).

    Django's EmailField accepts any character above U+00A0 in the domain (it checks the IDNA
    2003 encoding), so "news@example.org␊" or "news@☃.org" would pass; no mail provider hands out
    such addresses, and they end up in mail headers. Letters of any script (IDN domains,
    internationalised local parts), digits, marks and punctuation remain allowed.
    """
    for char in text:
        category = unicodedata.category(char)[0]
        if category in "CZ" or (category == "S" and not char.isascii()):
            return True
    return False


def mail_unavailable(request):
    """The page that says an account flow cannot go on because no email can be sent; nothing
    was stored. The operator reads why in the log and in `manage.py check`."""
    logger.error("An account flow needs email, which is not configured: set EMAIL_URL.")
    return render(request, "members/mail_unavailable.html", status=503)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # A sign-up needs its verification email: without mail, refuse before any row exists.
        if not email_is_configured():
            raise ImmediateHttpResponse(mail_unavailable(request))
        return super().is_open_for_signup(request)

    def send_mail(self, template_prefix, email, context):
        # Password resets and address changes stop here with the same page rather than a 500.
        request = getattr(allauth_context, "request", None)
        if not email_is_configured() and request is not None:
            raise ImmediateHttpResponse(mail_unavailable(request))
        return super().send_mail(template_prefix, email, context)

    def clean_email(self, email):
        # The form has already stripped surrounding white space and run Django's validator.
        if has_unprintable_characters(email):
            raise ValidationError(_("Enter a valid email address."), code="invalid")
        # allauth's field is longer than the column: the database would cut a longer address
        # (and the next attempt would collide with the cut one).
        MaxLengthValidator(get_user_model()._meta.get_field("email").max_length)(email)
        return super().clean_email(email)

    def save_user(self, request, user, form, commit=True):
        # Membership emails are sent later by tasks, outside any request: remember the language
        # the reader signed up in (the /ru/ edition or the English one).
        language = translation.get_language()
        user.language = language if language in dict(settings.LANGUAGES) else ""
        return super().save_user(request, user, form, commit)

    def get_client_ip(self, request):
        """Not the reader's address: a keyed hash of it that changes every day (UTC), which is
        all that allauth's per-address rate limits (and ours, `consume()`) keep in the cache.
        The site stores no reader's IP address, and a day's keys cannot be linked to the next
        day's. IPv6 addresses are grouped by network first, as allauth would group them."""
        address = truncate_ip(super().get_client_ip(request))
        day = timezone.now().date().isoformat()
        return salted_hmac(
            "members.client-address", f"{day} {address}", algorithm="sha256"
        ).hexdigest()[:32]
