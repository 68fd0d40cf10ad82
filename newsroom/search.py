"""Searching the published archive.

On PostgreSQL each article keeps two stored text-search vectors, built in its language's
text-search configuration: `search_document` (headline, weight A; standfirst, B) and
`search_body` (the body's text, C), each with a GIN index. They are separate so that the body
is matched, ranked and quoted only for readers who may read it in full: a gated story is found
by its headline and standfirst alone, and its snippet comes from its standfirst.

Elsewhere (SQLite, for development) words are matched with `icontains` and snippets are cut in
Python; the results page is the same.

This module imports no model: the model's save and the migrations use it.
"""

import html
import re

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    Func,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Concat
from django.utils.html import escape, strip_tags
from django.utils.safestring import mark_safe

#: Longer queries are cut here: nobody types more, and a query is parsed for every result.
QUERY_MAX_LENGTH = 200

#: Words the fallback search matches (each must be found).
FALLBACK_MAX_WORDS = 10

# PostgreSQL's text-search configurations by language code; any other language is searched
# with `simple`, which folds case but does not stem.
TEXT_SEARCH_CONFIGS = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}

# Where a snippet's highlighted words start and stop: characters from Unicode's private use
# area, which no text means, replaced by <mark> only after the snippet is escaped.
MARK_START = "\ue000"
MARK_STOP = "\ue001"
_MARKED = re.compile(f"{MARK_START}([^{MARK_START}{MARK_STOP}]*){MARK_STOP}")

# A tag of a sanitised body, quoted attribute values included (they may hold a ">").
_TAG_PATTERN = r"""<(?:[^>"']|"[^"]*"|'[^']*')*>"""

# The fallback's snippet: characters of context around the first match.
_FALLBACK_CONTEXT = 120


def text_search_config(language):
    """The PostgreSQL text-search configuration for a language code."""
    return TEXT_SEARCH_CONFIGS.get(language.split("-")[0], "simple")


def is_full_text(connection_alias="default"):
    return connections[connection_alias].vendor == "postgresql"


def plain_text(body):
    """A stored body's text as a reader reads it: no tags, entities decoded."""
    return html.unescape(strip_tags(body or ""))


def _vectors(language, headline, standfirst, body_text):
    config = text_search_config(language)
    return {
        "search_document": (
            SearchVector(headline, config=config, weight="A")
            + SearchVector(standfirst, config=config, weight="B")
        ),
        "search_body": SearchVector(body_text, config=config, weight="C"),
    }


def search_vectors(*, language, headline, standfirst, body):
    """The values of an article's two search columns (for an `update()`)."""
    return _vectors(language, Value(headline), Value(standfirst), Value(plain_text(body)))


# A tag of a stored body, for stripping in SQL.
_TAG = r"""<(?:[^>"']|"[^"]*"|'[^']*')*>"""


def stored_search_vectors(language):
    """The values of the two search columns computed from the stored columns, for an `update()`
    of many stories of one language at once (stories written past `Article.save()`)."""
    body_text = Func(
        F("body"),
        Value(_TAG),
        Value(" "),
        Value("g"),
        function="regexp_replace",
        output_field=TextField(),
    )
    return _vectors(language, "headline", "standfirst", body_text)


def clean_query(text):
    """What the reader typed, as it is searched for: trimmed, without the NUL characters that
    PostgreSQL's text cannot hold, cut to `QUERY_MAX_LENGTH`."""
    return text.replace("\x00", "").strip()[:QUERY_MAX_LENGTH].strip()


def search(queryset, terms, *, language, readable):
    """The stories of `queryset` that match `terms`, best first.

    `readable` is the condition on articles that the reader may read in full
    (`members.access.readable_in_full`): only those are matched and quoted by their body. Each
    result carries `search_snippet`, text with `MARK_START`/`MARK_STOP` around the matched
    words (`highlighted()` makes it HTML), or None where it is cut in Python (`snippets()`).
    """
    readable_flag = ExpressionWrapper(readable, output_field=BooleanField())
    if not is_full_text(queryset.db):
        return _fallback_search(queryset, terms, readable).annotate(
            search_readable=readable_flag,
            search_snippet=Value(None, output_field=TextField()),
            # What `snippets()` quotes from: the body only where the reader may read it, so a
            # listing that loads no body (`for_listing()`) needs no query per result.
            search_text=Case(
                When(readable, then=F("body")), default=Value(""), output_field=TextField()
            ),
        )
    config = text_search_config(language)
    query = SearchQuery(terms, config=config, search_type="websearch")
    whole = CombinedExpression(
        F("search_document"), "||", F("search_body"), output_field=SearchVectorField()
    )
    vector = Case(When(readable, then=whole), default=F("search_document"))
    body_text = Func(
        F("body"),
        Value(_TAG_PATTERN),
        Value(" "),
        Value("g"),
        function="regexp_replace",
        output_field=TextField(),
    )
    quoted = Case(
        When(
            readable, then=Concat(F("standfirst"), Value("\n"), body_text, output_field=TextField())
        ),
        default=F("standfirst"),
        output_field=TextField(),
    )
    return (
        # Two conditions on the two indexed columns, so that each can use its GIN index.
        queryset.filter(Q(search_document=query) | (readable & Q(search_body=query)))
        .annotate(
            search_rank=SearchRank(vector, query),
            search_readable=readable_flag,
            search_snippet=SearchHeadline(
                quoted,
                query,
                config=config,
                start_sel=MARK_START,
                stop_sel=MARK_STOP,
                max_words=35,
                min_words=15,
                max_fragments=2,
                fragment_delimiter=" … ",
            ),
        )
        .order_by("-search_rank", "-published_at", "-id")
    )


def _fallback_words(terms):
    # Like websearch_to_tsquery, punctuation on its own is no word to look for.
    words = (word.strip("\"'") for word in terms.split())
    return [word for word in words if any(c.isalnum() for c in word)][:FALLBACK_MAX_WORDS]


def _fallback_search(queryset, terms, readable):
    words = _fallback_words(terms)
    if not words:
        return queryset.none()
    for word in words:
        queryset = queryset.filter(
            Q(headline__icontains=word)
            | Q(standfirst__icontains=word)
            | (readable & Q(body__icontains=word))
        )
    return queryset.order_by("-published_at", "-id")


def snippets(articles, terms):
    """Fill in the fallback's snippets (`search_snippet` None) for a page of results: a
    passage around the first word found, from the standfirst, and from the body only where the
    reader may read it."""
    words = _fallback_words(terms)
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    for article in articles:
        if article.search_snippet is not None or not words:
            continue
        text = article.standfirst
        if article.search_readable:
            text = f"{text}\n{plain_text(article.search_text)}"
        text = " ".join(text.split())
        found = pattern.search(text)
        start = max(0, found.start() - _FALLBACK_CONTEXT) if found else 0
        passage = text[start : start + 2 * _FALLBACK_CONTEXT]
        if start:
            passage = "…" + passage.split(" ", 1)[-1]
        if start + 2 * _FALLBACK_CONTEXT < len(text):
            passage = passage.rsplit(" ", 1)[0] + "…"
        article.search_snippet = pattern.sub(
            lambda match: f"{MARK_START}{match.group()}{MARK_STOP}", passage
        )
    return articles


def highlighted(snippet):
    """A snippet as safe HTML: the text escaped, then its marked words in <mark>.

    The snippet may come from a stored body, whose tags were removed but whose entities were
    not: they are decoded first, so that they are escaped once, like any other text.
    """
    text = escape(html.unescape(snippet or ""))
    text = _MARKED.sub(r"<mark>\1</mark>", text)
    return mark_safe(text.replace(MARK_START, "").replace(MARK_STOP, ""))
