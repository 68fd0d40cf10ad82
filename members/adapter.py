"""django-allauth hooks: only what the defaults get wrong for this site."""

import unicodedata

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import translation
from django.utils.translation import gettext_lazy as _


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


class AccountAdapter(DefaultAccountAdapter):
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
