import json

from django import template
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import _json_script_escapes, conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, pgettext, to_locale

from members.access import is_member, reader
from newsroom import cards
from newsroom.body import FIGURE, figure_context
from newsroom.models import CallToAction, Section
from newsroom.object_cache import footer_pages, fragment, nav_sections
from newsroom.renditions import image_key, picture, remembered
from newsroom.richtext import clean_bio

register = template.Library()
# "ru" → "ru", "pt-br" → "pt_BR": OpenGraph's og:locale.
register.filter("to_locale", to_locale)

CALL_TO_ACTION = "newsroom/includes/call_to_action.html"
PICTURE = "newsroom/includes/picture.html"
NAVIGATION = "newsroom/includes/site_navigation.html"
SITE_HEADER = "newsroom/includes/site_header.html"
FOOTER = "newsroom/includes/site_footer.html"

# What share of the viewport the cards' pictures take, so browsers pick the right rendition
# before layout: full width on phones, half or a third of the page on wider screens.
CARD_SIZES = "(min-width: 60em) 18rem, (min-width: 40em) 50vw, 100vw"
LEAD_SIZES = "(min-width: 60em) 36rem, 100vw"


@register.simple_tag
def figure(image, caption="", eager=False, alt=""):
    """A captioned image: `<figure>`, `<picture>` and "Caption. Image: Credit.".

    `alt` overrides the library's alternative text for this placement. Body figures are
    rendered when the story is saved (newsroom.body); this is the hero's, rendered once per
    image, rendition set, caption and language in each process (newsroom.renditions.remembered).
    """
    key = image_key(image)
    alt = alt or image.alt
    if key:
        key = ("figure", get_language(), caption, bool(eager), alt, image.credit, *key)
    return remembered(
        key,
        lambda: mark_safe(get_template(FIGURE).render(figure_context(image, caption, eager, alt))),
    )


@register.simple_tag
def card_picture(image, lead=False):
    """A listing card's 3:2 picture. Its alt is empty: the headline beside it says what it is.

    The markup is the same wherever the image is a card: rendered once per image, file and set
    of renditions in each process (newsroom.renditions.remembered).
    """
    key = image_key(image)
    return remembered(key and ("card", lead, *key), lambda: _card_picture(image, lead))


def _card_picture(image, lead):
    context = {
        "picture": picture(image, "card", preferred=640),
        "eager": lead,
        "sizes": LEAD_SIZES if lead else CARD_SIZES,
        "alt": "",
    }
    return mark_safe(get_template(PICTURE).render(context))


@register.simple_tag
def byline(authors):
    """ "By A", "By A and B", "By A, B and C" from the list `authors`, each name a link to the
    author's page; nothing for an empty list. A tag, not an included template: every card of a
    listing has one."""
    if not authors:
        return ""
    names = [
        format_html(
            '<a class="byline__name" href="{}">{}</a>',
            reverse("newsroom:author_detail", kwargs={"slug": author.slug}),
            author.name,
        )
        for author in authors
    ]
    if len(names) > 1:
        names = [", ".join(names[:-1]), names[-1]]
    return format_html(
        '<span class="byline">{} {}</span>',
        pgettext("byline", "By"),
        mark_safe(f" {conditional_escape(pgettext('byline', 'and'))} ".join(names)),
    )


@register.simple_tag
def json_ld(data):
    """A JSON-LD block of `data` (schema.org). A data block is not script: browsers never run
    it, and the public pages' CSP (`script-src 'self'`) needs no nonce for it. Escaped as
    Django's `json_script` escapes, so no text in it can close the element; `json_script`
    itself only writes `type="application/json"`."""
    text = json.dumps(data, cls=DjangoJSONEncoder).translate(_json_script_escapes)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(text))


@register.simple_tag(takes_context=True)
def article_body(context, article, inline_block=None):
    """An article's body as readers get it (`Article.reader_body()`, rendered when the story
    was saved), with the fundraiser block `inline_block` (if any) after its paragraph
    (`position`), counted on top-level paragraphs only; a story with no paragraph after that
    one gets none."""
    rendered = article.reader_body()
    cut = rendered.after_paragraph(inline_block.position) if inline_block else None
    if cut is None:
        return mark_safe(rendered.html)
    block = call_to_action(context, inline_block)
    return mark_safe(rendered.html[:cut] + block + rendered.html[cut:])


@register.simple_tag(takes_context=True)
def call_to_action(context, block):
    """A fundraiser block (newsroom.calls_to_action chose it), or nothing for None.

    The same markup for every reader it is chosen for: rendered once per version of the site
    in each process (newsroom.object_cache.fragment), and again when its goal figures or the
    days left change (they change no version)."""
    if not block:
        return ""
    progress = block.progress
    days_left = progress.days_left() if progress else None

    def render():
        return mark_safe(
            get_template(CALL_TO_ACTION).render(
                {
                    "block": block,
                    "body": mark_safe(clean_bio(block.copy_body or "")),
                    "progress": progress,
                    "days_left": days_left,
                    "external": block.target == CallToAction.Target.EXTERNAL,
                }
            )
        )

    goal = (progress.current, progress.target) if progress else None
    name = ("call-to-action", get_language(), block.pk, goal, days_left)
    return fragment(context.get("request"), name, render)


# The same for every reader, rendered once per version of the site in each process
# (newsroom.object_cache.fragment). Each renders its template from a plain dict of what it
# shows, with no request: no context processor runs, so nothing of the reader can get in.


@register.simple_tag(takes_context=True)
def site_header(context, part):
    """A part of the site's header (newsroom/includes/site_header.html): its `links` ("Become
    a member", or "Your membership" for a signed-in member; donating; the account), the
    `masthead` or the `search` box.

    Anonymous requests are answered without touching the session, so their pages stay the same
    for every anonymous reader.
    """
    request = context.get("request")
    member = False
    if part == "links" and request is not None:
        member = is_member(reader(request))

    def render():
        return mark_safe(
            get_template(f"{SITE_HEADER}#{part}").render(
                {
                    "newsroom_name": settings.NEWSROOM_NAME,
                    "newsroom_tagline": settings.NEWSROOM_TAGLINE,
                    "member": member,
                }
            )
        )

    return fragment(request, ("site-header", part, get_language(), member), render)


@register.simple_tag(takes_context=True)
def site_navigation(context):
    """The sections' navigation, the current section's link marked (a section's page)."""
    request = context.get("request")
    section = context.get("section")
    current = section.pk if isinstance(section, Section) else None

    def render():
        return mark_safe(
            get_template(NAVIGATION).render(
                {"nav_sections": nav_sections(request), "current": current}
            )
        )

    return fragment(request, ("navigation", get_language(), current), render)


@register.simple_tag(takes_context=True)
def site_footer(context):
    """The footer: the newsroom's name, its static pages, the year."""
    request = context.get("request")
    year = timezone.localdate().year

    def render():
        return mark_safe(
            get_template(FOOTER).render(
                {
                    "newsroom_name": settings.NEWSROOM_NAME,
                    "footer_pages": footer_pages(request),
                    "year": year,
                }
            )
        )

    return fragment(request, ("footer", get_language(), year), render)


@register.simple_tag(takes_context=True)
def card(context, article, lead=False):
    """A listing's card for `article` (a story from `for_listing()` or a listing page's
    `cards.Listed`): newsroom.cards.card."""
    return cards.card(context.get("request"), article, lead)
