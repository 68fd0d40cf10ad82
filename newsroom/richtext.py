"""Sanitising of stored rich text (article bodies).

Bodies are cleaned when the model is saved, not only in a form, so nothing that reaches the
database through any path (admin, shell, import) can carry script into a page.
"""

import nh3

ALLOWED_TAGS = {
    "p", "h2", "h3", "strong", "em", "b", "i", "a", "ul", "ol", "li", "blockquote", "br",
    "figure", "figcaption",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "figure": {"data-image-id"},
}
# nh3's default schemes include bitcoin, magnet, sms and more: a newsroom links to web pages
# and email addresses only.
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def clean_html(html):
    """Return `html` with only the body's allowed elements, attributes and link schemes."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
