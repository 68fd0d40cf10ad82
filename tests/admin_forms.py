"""Filling in admin forms as a browser would: what the page offers, plus what the person types."""

from html.parser import HTMLParser

from newsroom.models import Article

ARTICLES = "/admin/newsroom/article/"

_SKIPPED_INPUTS = {"submit", "button", "file", "reset", "image"}


class _FormParser(HTMLParser):
    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields = {}
        self._select = None
        self._textarea = None

    def _add(self, name, value):
        if name and "__prefix__" not in name:
            self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            return
        if not self.inside or "disabled" in attrs:
            return
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in _SKIPPED_INPUTS:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self._add(attrs.get("name"), attrs.get("value", "on"))
                return
            self._add(attrs.get("name"), attrs.get("value") or "")
        elif tag == "select":
            self._select = {
                "name": attrs.get("name"),
                "multiple": "multiple" in attrs,
                "chosen": [],
                "first": None,
            }
        elif tag == "option" and self._select is not None:
            if self._select["first"] is None:
                self._select["first"] = attrs.get("value", "")
            if "selected" in attrs:
                self._select["chosen"].append(attrs.get("value", ""))
        elif tag == "textarea":
            self._textarea = {"name": attrs.get("name"), "text": []}

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = self._select["chosen"]
            # A single select with nothing selected submits its first option, like a browser.
            if not chosen and self._select["first"] is not None and not self._select["multiple"]:
                chosen = [self._select["first"]]
            for value in chosen:
                self._add(self._select["name"], value)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._textarea["text"])
            # Browsers drop the newline that follows <textarea>.
            self._add(self._textarea["name"], text.removeprefix("\n"))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["text"].append(data)


def form_data(response, form_id="article_form", **changes):
    """The fields a browser would submit from the page's form, with `changes` applied.

    Values are lists (as Django's test client accepts them); a change of None removes a field.
    """
    html = response.content.decode()
    parser = _FormParser(form_id)
    parser.feed(html)
    data = dict(parser.fields)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value if isinstance(value, list) else [value]
    return data


def change_url(article):
    return f"{ARTICLES}{article.pk}/change/"


def post_change(client, article, **changes):
    """Open an article's change page and save it with `changes`, as its user would."""
    page = client.get(change_url(article))
    assert page.status_code == 200, page.status_code
    return client.post(change_url(article), form_data(page, _save="Save", **changes))


def new_article_data(section, **fields):
    """What the add form posts for a minimal new story (no bylines, no corrections)."""
    data = {
        "headline": "A new story",
        "slug": "a-new-story",
        "standfirst": "",
        "body": "<p>Text.</p>",
        "hero_image": "",
        "hero_caption": "",
        "hero_alt": "",
        "language": "en",
        "translation_of": "",
        "section": section.pk,
        "status": Article.Status.DRAFT,
        "published_at_0": "",
        "published_at_1": "",
        "visibility": Article.Visibility.PUBLIC,
        "public_from_0": "",
        "public_from_1": "",
        "seo_title": "",
        "seo_description": "",
        "_save": "Save",
    }
    for prefix in ("bylines", "corrections"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(fields)
    return data


def run_action(client, action, articles, **extra):
    """POST an admin action on the changelist, as its "Go" button does."""
    return client.post(
        ARTICLES,
        {"action": action, "_selected_action": [a.pk for a in articles], **extra},
    )
