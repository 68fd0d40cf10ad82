from django import template
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from newsroom.models import Image
from newsroom.renditions import picture
from newsroom.richtext import StoredFigure, clean_body, split_figures

register = template.Library()

# What share of the viewport the pictures take, so browsers pick the right rendition before
# layout: full width on phones, the article column or a third of the page on wide screens.
ARTICLE_SIZES = "(min-width: 60em) 54rem, 100vw"
CARD_SIZES = "(min-width: 60em) 18rem, (min-width: 40em) 50vw, 100vw"
LEAD_SIZES = "(min-width: 60em) 36rem, 100vw"


@register.inclusion_tag("newsroom/includes/figure.html")
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


@register.filter
def render_body(body):
    """An article body for readers, each stored figure expanded as the hero is.

    The library images of all figures are loaded in one query, however many there are; a figure
    whose image has been deleted disappears. The body was sanitised on save, and is again here
    in case something wrote it past `Article.save()` (a queryset update, say).
    """
    parts = split_figures(clean_body(body))
    ids = {part.image_id for part in parts if isinstance(part, StoredFigure)}
    if not ids:
        return mark_safe("".join(parts))
    images = Image.objects.in_bulk(ids)
    template = get_template("newsroom/includes/figure.html")
    html = []
    for part in parts:
        if not isinstance(part, StoredFigure):
            html.append(part)
        elif image := images.get(part.image_id):
            html.append(template.render(figure(image, part.caption)))
    return mark_safe("".join(html))
