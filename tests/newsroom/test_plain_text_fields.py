"""Plain-text fields take anything people paste, and pages show it as text.

Every line of the "big list of naughty strings" goes through the admin article form in the
headline, the standfirst, the hero caption and the SEO title and description, with one expected
outcome per field: stored as typed (surrounding white space trimmed, as every Django text field
does) and rendered escaped, unless the field's rules refuse it with an error on that field and
nothing is stored. These fields have two rules that can: the length limit (max_length) and, for
the headline, that a value is required. No line holds a NUL, which Django's
ProhibitNullCharactersValidator would refuse. Never a server error.

To stay fast, a field's value packs several lines (joined by a space, within the field's length)
and each request to the admin fills all five fields; a pack the form refuses is tried again line
by line. The lines longer than a field allows go one per field and request.
"""

from collections import deque

import pytest
from django.utils.html import escape

from newsroom.models import Article
from tests import corpus
from tests.admin_forms import ARTICLES, new_article_data
from tests.factories import ImageFactory, SectionFactory

pytestmark = pytest.mark.django_db

# Lines of white space only are stored empty, or refused in the headline: see the last test.
LINES = [line for line in corpus.naughty_strings() if line.strip()]
BLANK_LINES = [line for line in corpus.naughty_strings() if not line.strip()]
FIELDS = ["headline", "standfirst", "hero_caption", "seo_title", "seo_description"]
# Where the article page shows each field (the SEO fields are not on the page yet).
RENDERED = {"headline", "standfirst", "hero_caption"}
# The standfirst has no maximum length; its packs are kept to a paragraph.
STANDFIRST_PACK = 1000


def max_length(field):
    return Article._meta.get_field(field).max_length or STANDFIRST_PACK


def packs(limit):
    """The lines that fit `limit`, packed first-fit by decreasing length into few values."""
    bins = []
    for line in sorted((line for line in LINES if len(line.strip()) <= limit), key=len)[::-1]:
        for lines in bins:
            if len(" ".join([*lines, line]).strip()) <= limit:
                lines.append(line)
                break
        else:
            bins.append([line])
    return bins


def too_long(field):
    return [line for line in LINES if len(line.strip()) > max_length(field)]


def test_every_naughty_line_is_stored_as_typed_and_shown_escaped_or_refused(client, editor):
    client.force_login(editor)
    section, image = SectionFactory(), ImageFactory()
    queues = {field: deque(packs(max_length(field))) for field in FIELDS}
    saved = []  # (article, data posted)
    refused = []  # (field, line, error)
    count = 0

    while any(queues.values()):
        values = {field: queue.popleft() for field, queue in queues.items() if queue}
        count += 1
        slug = f"blns-{count}"
        data = new_article_data(
            section, **{"slug": slug, "headline": f"Headline {count}", "hero_image": image.pk}
        )
        data.update({field: " ".join(lines) for field, lines in values.items()})

        response = client.post(f"{ARTICLES}add/", data)

        assert response.status_code in (200, 302), (values, response.status_code)
        if response.status_code == 302:
            saved.append((Article.objects.get(slug=slug), data))
            continue
        errors = response.context["adminform"].form.errors
        assert errors and set(errors) <= set(values), (errors, values)
        assert "Please correct the error" in response.content.decode()
        for field, lines in values.items():
            if field not in errors:
                queues[field].appendleft(lines)  # not its fault: again with others
            elif len(lines) > 1:
                queues[field].extendleft([line] for line in reversed(lines))
            else:
                refused.append((field, lines[0], errors[field][0]))

    for article, data in saved:
        for field in FIELDS:
            assert getattr(article, field) == data[field].strip(), (field, data[field])
    # Within its length no line is refused: no rule of these fields applies to it.
    assert refused == []
    assert Article.objects.count() == len(saved) == count

    for article, data in saved:
        if not any(data[field].strip() for field in RENDERED - {"headline"}) and data[
            "headline"
        ].startswith("Headline "):
            continue  # only SEO fields in this one: nothing of theirs on the page
        response = client.get(article.get_absolute_url())
        assert response.status_code == 200, data
        html = response.content.decode()
        for field in RENDERED:
            value = data[field].strip()
            if value:
                assert escape(value) in html, (field, value)
                if "<" in value:
                    assert value not in html, (field, value)


def test_lines_longer_than_a_field_allows_are_refused_with_the_length(client, editor):
    client.force_login(editor)
    section = SectionFactory()
    queues = {field: deque(too_long(field)) for field in FIELDS}
    assert sum(map(len, queues.values())) >= 50

    while any(queues.values()):
        lines = {field: queue.popleft() for field, queue in queues.items() if queue}
        data = new_article_data(section, slug="too-long", **lines)

        response = client.post(f"{ARTICLES}add/", data)

        assert response.status_code == 200, lines
        errors = response.context["adminform"].form.errors
        assert set(errors) == set(lines), (errors, lines)
        for field, line in lines.items():
            assert len(errors[field]) == 1, (field, line)
            assert f"at most {max_length(field)} characters" in errors[field][0], (field, line)
        assert not Article.objects.exists()


def test_a_refused_paste_renders_the_form_again_and_saves_nothing(client, editor):
    client.force_login(editor)
    longest = max(LINES, key=len)
    data = new_article_data(SectionFactory(), seo_title=longest, seo_description=longest)

    response = client.post(f"{ARTICLES}add/", data)

    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"seo_title", "seo_description"}
    assert escape(longest.strip()) in response.content.decode()
    assert not Article.objects.exists()


def test_a_line_of_white_space_only_is_stored_empty_and_is_no_headline(client, editor):
    client.force_login(editor)
    section = SectionFactory()
    assert BLANK_LINES == [" "]
    optional = [field for field in FIELDS if field != "headline"]

    for number, line in enumerate(BLANK_LINES):
        without_headline = new_article_data(section, headline=line, slug=f"blank-{number}")
        refused = client.post(f"{ARTICLES}add/", without_headline)
        assert refused.status_code == 200
        assert refused.context["adminform"].form.errors == {"headline": ["This field is required."]}
        assert not Article.objects.exists()

        with_headline = new_article_data(
            section, slug=f"blank-{number}", **dict.fromkeys(optional, line)
        )
        assert client.post(f"{ARTICLES}add/", with_headline).status_code == 302
        article = Article.objects.get()
        assert [getattr(article, field) for field in optional] == [""] * len(optional)
        article.delete()
