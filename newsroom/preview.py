"""Signed, expiring preview links: a draft shown to someone with no account.

A source or a lawyer reviewing a story gets `/preview/<token>/`; the token is the article's id
signed with the secret key and a timestamp, so it cannot be forged or pointed at another story,
and it stops working after NEWSROOM_PREVIEW_MAX_AGE seconds (7 days by default). Rotating
DJANGO_SECRET_KEY (without keeping the old key in the fallbacks) revokes every link.
"""

from datetime import timedelta

from django.conf import settings
from django.core.signing import BadSignature, TimestampSigner
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_safe

from .models import Article
from .views import ArticleParts

SALT = "newsroom.preview"


def max_age():
    """How long a preview link works, in seconds."""
    return settings.NEWSROOM_PREVIEW_MAX_AGE


def preview_token(article):
    return TimestampSigner(salt=SALT).sign(str(article.pk))


def preview_path(article):
    return reverse("article_preview", args=[preview_token(article)])


def preview_expires_at(now=None):
    """When a link made now stops working."""
    return (now or timezone.now()) + timedelta(seconds=max_age())


def article_for_token(token):
    """The article a token names, or None if the token is forged, damaged or expired."""
    try:
        pk = TimestampSigner(salt=SALT).unsign(token, max_age=max_age())
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not pk.isdigit():
        return None
    return Article.objects.select_related("section", "hero_image").filter(pk=int(pk)).first()


@require_safe
def article_preview(request, token):
    """The article page as it will look, for whoever holds the link; never indexed or cached.

    It shows the whole body whatever the visibility: the reviewer needs to read it all. It does
    not read `request.user`: the link is the permission.
    """
    article = article_for_token(token)
    if article is None:
        raise Http404("This preview link is not valid or has expired.")
    # The story's own language, whatever the reviewer's browser prefers.
    with translation.override(article.language):
        response = render(
            request,
            "newsroom/article_preview.html",
            {
                "article": article,
                "can_read_full": True,
                # Without links to other editions, stories filed alike or related ones.
                "parts": ArticleParts(
                    request,
                    article,
                    keep=False,
                    authors=[b.author for b in article.bylines.select_related("author")],
                    corrections=list(article.corrections.all()),
                    editions=[],
                    filed_under=[],
                    related=[],
                ),
            },
        )
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    # The token is the key to the draft: never send it to another site in a Referer.
    response["Referrer-Policy"] = "no-referrer"
    return response
