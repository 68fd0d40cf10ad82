"""The revisions of a story: how they are recorded (StoryHistory), and what changed between two
of them, for the admin's history page."""

import difflib
import re
from datetime import datetime
from html.parser import HTMLParser

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import mark_safe
from simple_history.models import HistoricalRecords
from simple_history.template_utils import HistoricalRecordContextHelper


class StoryHistory(HistoricalRecords):
    """simple_history's HistoricalRecords, which also records a revision of each story whose
    tracked many-to-many links (regions, tags) change from the other side: `tag.articles.add(…)`,
    `.remove(…)`, `.set(…)` and `.clear()`. simple_history's own handler would take the tag for
    the story and fail (django-simple-history#1048)."""

    def m2m_changed(self, instance, action, attr, pk_set, reverse, **kwargs):
        if not reverse:
            return super().m2m_changed(instance, action, attr, pk_set, reverse, **kwargs)
        field = self.cls._meta.get_field(attr)
        if action == "pre_clear":
            # After the clear, nothing says which stories it took the tag from.
            links = field.remote_field.through.objects.filter(
                **{field.m2m_reverse_field_name(): instance.pk}
            )
            cleared = instance.__dict__.setdefault("_stories_before_clear", {})
            cleared[attr] = list(links.values_list(field.m2m_field_name(), flat=True))
            return
        if action in ("post_add", "post_remove"):
            story_ids = pk_set
        elif action == "post_clear":
            story_ids = instance.__dict__.get("_stories_before_clear", {}).pop(attr, ())
        else:
            return
        for story in self.cls._default_manager.filter(pk__in=story_ids).order_by("pk"):
            super().m2m_changed(story, action, attr, None, False, **kwargs)


#: Fields shown as a word-by-word diff rather than "old → new".
TEXT_FIELDS = {"body": True, "standfirst": False}  # name: is it HTML?
#: Unchanged words kept on each side of a change; longer unchanged runs are elided.
CONTEXT_WORDS = 12

_BLOCKS = {"p", "h2", "h3", "li", "blockquote", "figure", "figcaption", "ul", "ol", "br"}
_TOKENS = re.compile(r"\n|[^\s]+")


class _Text(HTMLParser):
    """A body's text as a reader would scan it: one line per block, figures as markers."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "figure":
            image_id = dict(attrs).get("data-image-id") or "?"
            self.parts.append(f" [figure: image #{image_id}] ")

    def handle_endtag(self, tag):
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def _words(text, is_html):
    if is_html:
        parser = _Text()
        parser.feed(text or "")
        parser.close()
        text = "".join(parser.parts)
    # One newline token per paragraph break, however many the markup made.
    return _TOKENS.findall(re.sub(r"\s*\n\s*", "\n", (text or "").strip()))


def _render(words):
    return "".join("<br>" if word == "\n" else escape(word) + " " for word in words)


def text_diff(old, new, *, is_html=False):
    """`old` → `new` as safe HTML: removed words in `<del>`, added words in `<ins>`.

    Everything from the texts is escaped, so a revision's content can never become markup here.
    """
    a, b = _words(old, is_html), _words(new, is_html)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    opcodes = matcher.get_opcodes()
    parts = []
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            same = a[i1:i2]
            head = same[:CONTEXT_WORDS] if index > 0 else []
            tail = same[-CONTEXT_WORDS:] if index < len(opcodes) - 1 else []
            if len(same) > len(head) + len(tail):
                parts.append(_render(head) + "… " + _render(tail))
            else:
                parts.append(_render(same))
            continue
        if i2 > i1:
            parts.append(f"<del>{_render(a[i1:i2]).strip()}</del> ")
        if j2 > j1:
            parts.append(f"<ins>{_render(b[j1:j2]).strip()}</ins> ")
    return mark_safe("".join(parts).strip())  # noqa: S308 — every piece of text is escaped


class ArticleHistoryHelper(HistoricalRecordContextHelper):
    """simple_history's change list, with word diffs for the body and the standfirst, and
    times in the newsroom's time zone."""

    def prepare_delta_change_value(self, change, value):
        if isinstance(value, datetime):
            return date_format(timezone.localtime(value), "j M Y, H:i:s")
        return super().prepare_delta_change_value(change, value)

    def context_for_delta_changes(self, delta):
        items = super().context_for_delta_changes(delta)
        for item, change in zip(items, delta.changes):
            if change.field in TEXT_FIELDS:
                item["diff"] = text_diff(change.old, change.new, is_html=TEXT_FIELDS[change.field])
        return items
