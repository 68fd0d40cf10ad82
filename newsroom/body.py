"""An article's body as readers get it, rendered when the story is saved, not per request.

A stored body holds its figures as references (`<figure data-image-id="42">` and a caption,
newsroom.richtext); readers get each one expanded into a `<picture>` with the image's renditions,
alternative text and credit. That work (sanitising, finding the figures, loading their images,
rendering their markup) is done once: `Article.save()` stores the result in `rendered_body`,
the offsets just after each top-level paragraph in `rendered_breaks` (where a fundraiser block
"after paragraph n" goes, chosen per page by newsroom.calls_to_action) and a fingerprint of what
it was rendered from in `rendered_from`.

The fingerprint keeps readers safe from a body written past `save()` (a queryset `update()`, a
`bulk_create()`, a fix in SQL): it hashes the stored body, the story's language, `VERSION` and
how media addresses are built, and a page uses the stored rendering only when the fingerprint
matches the row it has just read. Otherwise the body is rendered afresh for that request,
sanitised again and with one query for its figures' images, and nothing is written (a GET
changes no row). So is it when media addresses expire (S3 with signed URLs): a stored address
would stop working within the hour.

A picture that a body shows may change after the story was saved (new renditions, new alt text
or credit, deleted): the stories that show it are rendered again by a task (newsroom.tasks).
`manage.py render_bodies` renders every story again, e.g. after `VERSION` changes.
"""

import hashlib
from dataclasses import dataclass

from django.template.loader import get_template
from django.utils import translation

from .renditions import picture, stable_media_address
from .richtext import (
    StoredFigure,
    clean_body,
    figure_image_ids,
    paragraph_ends,
    split_figures,
)

#: Bump whenever the markup a body renders to changes (the figure's template, the picture's
#: sizes…): every stored rendering then stops matching, pages render bodies afresh until
#: `manage.py render_bodies` has stored the new ones.
VERSION = 1

FIGURE = "newsroom/includes/figure.html"
# What share of the viewport an article's pictures take, so browsers pick the right rendition
# before layout: full width on phones, the article column on wide screens.
ARTICLE_SIZES = "(min-width: 60em) 54rem, 100vw"

# How many stories `render_many()` renders with one query for their figures' images.
BATCH_SIZE = 500


def figure_context(image, caption="", eager=False, alt=""):
    """What newsroom/includes/figure.html needs to show `image` with this placement's
    `caption`; `alt` overrides the library's alternative text."""
    return {
        "image": image,
        "picture": picture(image, "w", preferred=960),
        "caption": caption,
        "eager": eager,
        "sizes": ARTICLE_SIZES,
        "alt": alt or image.alt,
    }


def page_figure(image, caption):
    """A body figure as the article page shows it, like the hero but loaded lazily."""
    return get_template(FIGURE).render(figure_context(image, caption))


@dataclass(frozen=True)
class Rendered:
    """A body as readers get it: its HTML, where its top-level paragraphs end, and the
    fingerprint of what it was rendered from."""

    html: str
    breaks: tuple
    fingerprint: str

    def after_paragraph(self, n):
        """Where a block after paragraph `n` goes, or None when the story has no paragraph
        after that one (a block after the last paragraph would not be inside the story)."""
        if n < 1 or len(self.breaks) < n + 1:
            return None
        return self.breaks[n - 1]


def fingerprint(body, language):
    """What a rendering of `body` in `language` depends on, hashed; "" when a rendering must
    not be kept (media addresses expire)."""
    media = stable_media_address()
    if media is None:
        return ""
    source = "\0".join((str(VERSION), language or "", media, body or ""))
    return hashlib.blake2b(source.encode(), digest_size=16).hexdigest()


def render(body, language, images, render_figure=page_figure):
    """`body` sanitised, each figure replaced by `render_figure(image, caption)` in the
    story's `language`, or dropped when its image is not in `images` ({id: Image}: deleted)."""
    clean = clean_body(body)
    html, breaks, length, start = [], [], 0, 0
    ends = paragraph_ends(clean)
    with translation.override(language):
        # Rendered paragraph by paragraph (a top-level paragraph never holds a figure), so
        # that the rendered offsets of the paragraph ends come for free.
        for end in [*ends, len(clean)]:
            for part in split_figures(clean[start:end]):
                if isinstance(part, StoredFigure):
                    if image := images.get(part.image_id):
                        part = render_figure(image, part.caption)
                    else:
                        continue
                html.append(part)
                length += len(part)
            breaks.append(length)
            start = end
    return Rendered("".join(html), tuple(breaks[:-1]), fingerprint(body, language))


def render_many(rows, load_images, render_figure=page_figure):
    """(pk, `Rendered`) for each (pk, body, language) of `rows`, an iterable of any length:
    `load_images(ids)` ({id: Image}) is asked once per `BATCH_SIZE` stories."""
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_SIZE:
            yield from _render_batch(batch, load_images, render_figure)
            batch = []
    yield from _render_batch(batch, load_images, render_figure)


def _render_batch(rows, load_images, render_figure):
    ids = {i for _pk, body, _language in rows for i in figure_image_ids(body)}
    images = load_images(ids) if ids else {}
    for pk, body, language in rows:
        yield pk, render(body, language, images, render_figure)
