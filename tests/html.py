"""Reading pages as a person or a browser does, with BeautifulSoup: the text a reader sees, the
elements of a page or of one part of it, what a form submits, an admin changelist's rows and the
pictures a page offers. Tests assert on these, not on substrings of the markup.

Every helper takes a test client's response, the page's bytes or text, or an element that
`parse()` returned.
"""

import re
from dataclasses import dataclass

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PreformattedString, Tag

# Parts of a page a reader never sees. `hidden` elements are left out as well.
_UNSEEN = {"head", "script", "style", "template"}
# Inputs a browser does not send when the form is submitted with its submit button.
_NOT_SENT = {"submit", "button", "reset", "image", "file"}


def parse(page):
    """The page as a BeautifulSoup tree (an element is returned as it is).

    Attribute values are kept as written: `class` and `rel` are strings, not lists. When an
    element repeats an attribute, its first value counts, as in a browser; the later ones are
    listed as (name, value) in the tree's `repeated_attributes`, for checks that must see every
    value.
    """
    if isinstance(page, Tag):
        return page
    markup = getattr(page, "content", page)
    if isinstance(markup, bytes):
        markup = markup.decode()
    repeated = []
    soup = BeautifulSoup(
        markup,
        "html.parser",
        multi_valued_attributes=None,
        on_duplicate_attribute=lambda attrs, name, value: repeated.append((name, value)),
    )
    soup.repeated_attributes = repeated
    return soup


def _texts(root):
    """The text nodes under `root` in document order, without comments, CDATA and doctypes."""
    return [
        node
        for node in root.descendants
        if isinstance(node, NavigableString) and not isinstance(node, PreformattedString)
    ]


def _is_seen(node):
    return not any(parent.name in _UNSEEN or parent.has_attr("hidden") for parent in node.parents)


def _collapse(text):
    return re.sub(r"\s+", " ", text).strip()


def visible_text(page):
    """The text a reader sees, tags removed and runs of white space collapsed to one space:
    nothing from <head>, <script>, <style>, <template> or an element marked `hidden`."""
    return _collapse("".join(node for node in _texts(parse(page)) if _is_seen(node)))


def elements(page, within=None):
    """Every element of the page in document order, or only those inside the elements that the
    CSS selector `within` matches (at least one must match); the matched elements themselves are
    not included."""
    root = parse(page)
    if within is None:
        return root.find_all(True)
    parts = root.select(within)
    assert parts, f"nothing on the page matches {within!r}"
    return [element for part in parts for element in part.find_all(True)]


def form_data(page, form_id=None):
    """What a browser sends from a form as it is shown: {name: [values]}, in the form with id
    `form_id` (or the page's only form).

    Left out, as a browser leaves them out: buttons, file inputs, disabled fields and unchecked
    boxes. A single select with nothing selected sends its first option. Fields of the empty
    forms that admin inlines copy from (`__prefix__` in the name) are left out too.
    """
    soup = parse(page)
    if form_id is None:
        [form] = soup.find_all("form")
    else:
        form = soup.find("form", id=form_id)
        assert form is not None, f"no form with id {form_id!r} on the page"
    data = {}

    def add(name, value):
        if name and "__prefix__" not in name:
            data.setdefault(name, []).append(value)

    for field in form.find_all(["input", "select", "textarea"]):
        if field.has_attr("disabled"):
            continue
        name = field.get("name")
        if field.name == "input":
            kind = field.get("type", "text").lower()
            if kind in _NOT_SENT:
                continue
            if kind in {"checkbox", "radio"}:
                if field.has_attr("checked"):
                    add(name, field.get("value", "on"))
            else:
                add(name, field.get("value", ""))
        elif field.name == "select":
            # An option without a value attribute sends its text.
            options = [
                (option, option.get("value", _collapse(option.get_text())))
                for option in field.find_all("option")
            ]
            chosen = [value for option, value in options if option.has_attr("selected")]
            if not chosen and options and not field.has_attr("multiple"):
                chosen = [options[0][1]]
            for value in chosen:
                add(name, value)
        else:
            # Browsers drop the line break that directly follows <textarea>.
            add(name, field.get_text().removeprefix("\n"))
    return data


def _text_with_alts(element):
    """The element's text with each image read as its alt text."""
    parts = []
    for node in element.descendants:
        if isinstance(node, Tag) and node.name == "img":
            parts.append(node.get("alt", ""))
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            parts.append(node)
    return _collapse("".join(parts))


def changelist_rows(page):
    """The rows of an admin changelist as [{column: text}], each column named by its field (the
    cell's `field-<name>` class); a boolean icon reads as its alt text ("True", "False")."""
    table = parse(page).find("table", id="result_list")
    assert table is not None, "the page has no changelist table"
    rows = []
    for row in table.select("tbody > tr"):
        cells = {}
        for cell in row.find_all(["td", "th"], recursive=False):
            fields = [
                name.removeprefix("field-")
                for name in cell.get("class", "").split()
                if name.startswith("field-")
            ]
            if fields:
                cells[fields[0]] = _text_with_alts(cell)
        rows.append(cells)
    return rows


@dataclass
class Picture:
    """A <picture>: the attributes of each of its <source> elements and of its <img>."""

    sources: list
    img: dict


def pictures(page, within=None):
    """Every <picture> on the page, or only those inside what the CSS selector `within`
    matches (e.g. "figure")."""
    selector = f"{within} picture" if within else "picture"
    return [
        Picture(
            sources=[dict(source.attrs) for source in picture.find_all("source")],
            img=dict(picture.find("img").attrs),
        )
        for picture in parse(page).select(selector)
    ]
