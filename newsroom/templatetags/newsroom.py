import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import get_template
from django.urls import reverse
from django.utils.html import _json_script_escapes, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, to_locale

from members.access import is_member, reader
from newsroom.models import CallToAction, Image
from newsroom.renditions import picture
from newsroom.richtext import (
    StoredFigure,
    clean_bio,
    clean_body,
    split_after_paragraph,
    split_figures,
)

register = template.Library()
# "ru" → "ru", "pt-br" → "pt_BR": OpenGraph's og:locale.
register.filter("to_locale", to_locale)

FIGURE = "newsroom/includes/figure.html"
CALL_TO_ACTION = "newsroom/includes/call_to_action.html"

# What share of the viewport the pictures take, so browsers pick the right rendition before
# layout: full width on phones, the article column or a third of the page on wide screens.
ARTICLE_SIZES = "(min-width: 60em) 54rem, 100vw"
CARD_SIZES = "(min-width: 60em) 18rem, (min-width: 40em) 50vw, 100vw"
LEAD_SIZES = "(min-width: 60em) 36rem, 100vw"


@register.inclusion_tag(FIGURE)
def figure(image, caption="", eager=False, alt=""):
    """A captioned image: `<figure>`, `<picture>` and "Caption. Image: Credit.".

    `alt` overrides the library's alternative text for this placement.
    """
    return {
        "image": image,
        "picture": picture(image, "w", preferred=960),
        "caption": caption,
        "eager": eager,
        "sizes": ARTICLE_SIZES,
        "alt": alt or image.alt,
    }


@register.inclusion_tag("newsroom/includes/picture.html")
def card_picture(image, lead=False):
    """A listing card's 3:2 picture. Its alt is empty: the headline beside it says what it is."""
    return {
        "picture": picture(image, "card", preferred=640),
        "eager": lead,
        "sizes": LEAD_SIZES if lead else CARD_SIZES,
        "alt": "",
    }


@register.simple_tag
def json_ld(data):
    """A JSON-LD block of `data` (schema.org). A data block is not script: browsers never run
    it, and the public pages' CSP (`script-src 'self'`) needs no nonce for it. Escaped as
    Django's `json_script` escapes, so no text in it can close the element; `json_script`
    itself only writes `type="application/json"`."""
    text = json.dumps(data, cls=DjangoJSONEncoder).translate(_json_script_escapes)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(text))


@register.filter
def render_body(body, inline_block=None):
    """An article body for readers, each stored figure expanded as the hero is, and the
    fundraiser block `inline_block` (if any) after its paragraph (`position`), counted on
    top-level paragraphs only; a story with no paragraph after that one gets none."""
    return body_html(body, _page_figure, inline_block=inline_block)


def _page_figure(image, caption):
    return get_template(FIGURE).render(figure(image, caption))


def body_html(body, render_figure, *, images=None, inline_block=None):
    """An article body's HTML, each stored figure replaced by `render_figure(image, caption)`
    and the fundraiser block `inline_block` (if any) after its paragraph.

    The library images of all figures are loaded in one query, however many there are, unless
    the caller passes them already loaded (`images`, {id: Image}: a feed loads them for all its
    stories at once); a figure whose image has been deleted disappears. The body was sanitised
    on save, and is again here in case something wrote it past `Article.save()` (a queryset
    update, say).
    """
    body = clean_body(body)
    split = split_after_paragraph(body, inline_block.position) if inline_block else None
    if split is None:
        parts = split_figures(body)
    else:
        parts = [*split_figures(split[0]), inline_block, *split_figures(split[1])]
    if images is None:
        ids = {part.image_id for part in parts if isinstance(part, StoredFigure)}
        images = Image.objects.in_bulk(ids) if ids else {}
    html = []
    for part in parts:
        if isinstance(part, StoredFigure):
            if image := images.get(part.image_id):
                html.append(render_figure(image, part.caption))
        elif isinstance(part, CallToAction):
            html.append(get_template(CALL_TO_ACTION).render(call_to_action(part)))
        else:
            html.append(part)
    return mark_safe("".join(html))


@register.inclusion_tag(CALL_TO_ACTION)
def call_to_action(block):
    """A fundraiser block (newsroom.calls_to_action chose it), or nothing for None."""
    if not block:
        return {"block": None}
    return {
        "block": block,
        "body": mark_safe(clean_bio(block.copy_body or "")),
        "progress": block.progress,
        "days_left": block.progress.days_left() if block.progress else None,
        "external": block.target == CallToAction.Target.EXTERNAL,
    }


@register.simple_tag(takes_context=True)
def membership_link(context):
    """The header's link: "Become a member", or "Your membership" for a signed-in member.

    Anonymous requests are answered without touching the session, so their pages stay the same
    for every anonymous reader.
    """
    user = reader(context["request"]) if "request" in context else None
    if user is not None and is_member(user):
        return format_html(
            '<a class="header-links__join" href="{}">{}</a>',
            reverse("members:account"),
            gettext("Your membership"),
        )
    return format_html(
        '<a class="header-links__join" href="{}">{}</a>',
        reverse("members:plans"),
        gettext("Become a member"),
    )
