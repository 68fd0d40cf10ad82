"""Rich text: what the editors may write, and the one sanitiser for each rich-text field.

The extensions enabled in the editor (`BODY_EXTENSIONS`, `BIO_EXTENSIONS`) are also what the
sanitiser allows: django-prose-editor derives nh3's allow-list from them, and the fields use the
cleaners built here. Stored HTML is cleaned when the model is saved, not only in a form, so
nothing that reaches the database through any path (admin, shell, import) can carry script into
a page; the body is cleaned once more when it is rendered for readers, and a body that changed
past `Article.save()` is rendered (so cleaned) again by its page (newsroom.body).

An inline figure is stored as a reference to a library image and its caption, nothing else:
`<figure data-image-id="42"><figcaption>Caption</figcaption></figure>` (ARCHITECTURE.md §4).
Readers get it expanded into a `<picture>` with the image's credit (newsroom.body).
"""

import functools
import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3
from django.urls import reverse_lazy
from django_prose_editor.config import allowlist_from_extensions, expand_extensions

from .figure_extension import FIGURE_EXTENSION

# nh3's default schemes include bitcoin, magnet, sms and more: a newsroom links to web pages and
# email addresses only.
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer"

# A plain link: no target (no new windows, no reverse tabnabbing) and a rel set by the cleaner.
LINK = {"enableTarget": False}

BODY_EXTENSIONS = {
    # Reporters want the browser's spelling checker, which django-prose-editor turns off.
    "NoSpellCheck": False,
    "Bold": True,
    "Italic": True,
    "Link": LINK,
    "Heading": {"levels": [2, 3]},
    "BulletList": True,
    "OrderedList": True,
    "ListItem": True,
    "Blockquote": True,
    "HardBreak": True,
    "History": True,
    FIGURE_EXTENSION: {"libraryUrl": reverse_lazy("admin:newsroom_image_library")},
}
BIO_EXTENSIONS = {"NoSpellCheck": False, "Bold": True, "Italic": True, "Link": LINK}
# Static pages (about, terms, privacy…): headings, lists and links, no pictures.
PAGE_EXTENSIONS = {key: value for key, value in BODY_EXTENSIONS.items() if key != FIGURE_EXTENSION}

# An image id as the database can hold it: digits only, and short enough for a bigint.
MAX_ID_DIGITS = 18


def _valid_image_id(value):
    return value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS and int(value) > 0


def _attribute_filter(tag, attribute, value):
    if tag == "figure" and attribute == "data-image-id":
        value = value.strip()
        return str(int(value)) if _valid_image_id(value) else None
    return value


@functools.cache
def _cleaner(name):
    # Built on first use: the allow-list reads settings.DJANGO_PROSE_EDITOR_EXTENSIONS.
    extensions = {"body": BODY_EXTENSIONS, "bio": BIO_EXTENSIONS, "page": PAGE_EXTENSIONS}[name]
    config = allowlist_from_extensions(expand_extensions(extensions))
    # nh3 sets the links' rel itself, which it refuses to do while `rel` is an allowed attribute.
    config["attributes"] = {
        tag: set(names) - {"rel"} for tag, names in config["attributes"].items()
    }
    config.update(
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=_attribute_filter,
    )
    return nh3.Cleaner(**config)


def _actually_empty(value):
    # The editor always keeps one empty paragraph; an empty field must be "" to be falsy.
    value = value.strip()
    return "" if value in {"<p></p>", "<p><br></p>"} else value


@dataclass(frozen=True)
class StoredFigure:
    """A figure as the body stores it: which library image, and this placement's caption."""

    image_id: int
    caption: str

    def __str__(self):
        caption = f"<figcaption>{html.escape(self.caption, quote=False)}</figcaption>"
        return f'<figure data-image-id="{self.image_id}">{caption if self.caption else ""}</figure>'


class _FigureSplitter(HTMLParser):
    """Copies sanitised HTML through as it is, taking out each figure as a `StoredFigure`.

    Works on nh3's output, which is well-formed; a figure keeps only its image id and the text of
    its first caption, and a figure without a valid id, with everything in it, is dropped.
    """

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.parts = []
        self._text = []  # raw text since the last part
        self._figure_depth = 0
        self._figure_id = None
        self._caption = None  # raw caption pieces while inside the first figcaption
        self._caption_depth = 0
        self._caption_done = False

    def _emit(self, raw):
        if self._figure_depth:
            if self._caption_depth and not self._caption_done:
                self._caption.append(raw)
        else:
            self._text.append(raw)

    def handle_starttag(self, tag, attrs):
        if tag == "figure":
            if not self._figure_depth:
                value = dict(attrs).get("data-image-id") or ""
                self._figure_id = int(value) if _valid_image_id(value) else None
                self._caption, self._caption_done = [], False
            self._figure_depth += 1
        elif tag == "figcaption":
            # The figure's own caption, not one of a figure nested in it.
            if self._caption_depth or (self._figure_depth == 1 and not self._caption_done):
                self._caption_depth += 1
            # A caption outside a figure loses its tags and keeps its text.
        elif not self._figure_depth:
            self._text.append(self.get_starttag_text())

    def handle_startendtag(self, tag, attrs):
        if not self._figure_depth and tag not in {"figure", "figcaption"}:
            self._text.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        if tag == "figure" and self._figure_depth:
            self._figure_depth -= 1
            if not self._figure_depth:
                self._close_figure()
        elif tag == "figcaption":
            if self._figure_depth and self._caption_depth:
                self._caption_depth -= 1
                if not self._caption_depth:
                    self._caption_done = True
        elif not self._figure_depth:
            self._text.append(f"</{tag}>")

    def _close_figure(self):
        if self._figure_id is not None:
            caption = " ".join(html.unescape("".join(self._caption)).split())
            self._flush()
            self.parts.append(StoredFigure(self._figure_id, caption))
        self._caption_depth, self._figure_id = 0, None

    def _flush(self):
        if self._text:
            self.parts.append("".join(self._text))
            self._text = []

    def handle_data(self, data):
        self._emit(data)

    def handle_entityref(self, name):
        self._emit(f"&{name};")

    def handle_charref(self, name):
        self._emit(f"&#{name};")

    def close(self):
        super().close()
        if self._figure_depth:  # unclosed: nh3's output never has one, but stay total
            self._figure_depth = 0
            self._close_figure()
        self._flush()


def split_figures(sanitised_html):
    """The parts of sanitised HTML: runs of markup (str) and the figures (`StoredFigure`)."""
    if "<fig" not in sanitised_html:
        return [sanitised_html] if sanitised_html else []
    splitter = _FigureSplitter()
    splitter.feed(sanitised_html)
    splitter.close()
    return splitter.parts


#: A body without this holds no figure, whatever else it holds (tag names know no case).
FIGURE_TAG = re.compile("<figure", re.IGNORECASE)


def figure_image_ids(body):
    """The ids of the library images that a body's figures show, in order of appearance."""
    if not FIGURE_TAG.search(body or ""):
        return []
    ids = (
        part.image_id for part in split_figures(clean_body(body)) if isinstance(part, StoredFigure)
    )
    return list(dict.fromkeys(ids))


def clean_body(value):
    """An article body with only what the body editor can produce; cleaning twice changes nothing."""
    cleaned = _cleaner("body").clean(value or "")
    if "<fig" in cleaned:
        # Figures are rebuilt to their stored form, then sanitised once more so that the result
        # is nh3's own serialisation (a second cleaning must find nothing to change).
        cleaned = _cleaner("body").clean("".join(map(str, split_figures(cleaned))))
    return _actually_empty(cleaned)


def clean_bio(value):
    """An author's biography: bold, italic and links."""
    return _actually_empty(_cleaner("bio").clean(value or ""))


def clean_page(value):
    """A static page's text: what the page editor can produce."""
    return _actually_empty(_cleaner("page").clean(value or ""))


# Elements without an end tag, which open no level.
VOID_ELEMENTS = {"br", "img", "hr", "source", "wbr"}

# A tag of sanitised HTML (nh3's serialisation: lowercase names, quoted attribute values, which
# may hold a ">"); text there never holds a "<", which is always escaped.
_TAG = re.compile(r"""<(/?)([a-z][a-z0-9]*)(?:[^>"']|"[^"]*"|'[^']*')*>""")


def paragraph_ends(sanitised_html):
    """The offsets in sanitised HTML just after each top-level paragraph (not one inside a
    list, a quote or a figure): where a block placed "after paragraph n" goes."""
    depth, ends = 0, []
    for tag in _TAG.finditer(sanitised_html):
        closing, name = tag.group(1), tag.group(2)
        if closing:
            depth -= 1
            if depth == 0 and name == "p":
                ends.append(tag.end())
        elif name not in VOID_ELEMENTS:
            depth += 1
    return ends
