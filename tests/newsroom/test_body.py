"""The article body: sanitised however it is saved, figures expanded for readers, and the
picture library's JSON endpoints that the editor's figure dialog uses.

Every line of the XSS corpus (tests/corpus/xss) goes through a plain model save and through the
admin's add form; what is stored and what a reader gets is checked with an HTML parser
(tests/html.py), not by matching substrings.
"""

import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from newsroom.models import Article, Image
from newsroom.richtext import clean_bio, clean_body, figure_image_ids
from tests import corpus
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    ImageFactory,
    SectionFactory,
    UserFactory,
    jpeg_bytes,
)
from tests.html import elements, form_data, parse, visible_text

pytestmark = pytest.mark.django_db

# Every payload as it comes, and every event handler on an element the body allows.
XSS_LINES = corpus.xss_payloads() + [
    f'<p {handler}="alert(1)">x</p>' for handler in corpus.event_handler_names()
]

ADD_URL = "/admin/newsroom/article/add/"
LIBRARY_URL = "/admin/newsroom/image-library/images/"

SCRIPT_CAPABLE = {
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
    "style", "link", "meta", "base", "form", "input", "button", "select", "textarea", "option",
    "template", "noscript", "xml", "xmp", "video", "audio", "portal", "isindex", "marquee",
}  # fmt: skip
STORED_TAGS = {
    "p", "h2", "h3", "strong", "em", "a", "ul", "ol", "li", "blockquote", "br", "figure",
    "figcaption",
}  # fmt: skip
# What an expanded figure adds on the page (newsroom/includes/figure.html).
RENDERED_TAGS = STORED_TAGS | {"picture", "source", "img", "span"}
BAD_SCHEMES = ("javascript:", "data:", "vbscript:")


def assert_harmless(html, allowed_tags, within=None):
    """No script-capable element, no on* attribute, no script or data URL, nothing unexpected;
    an attribute given twice is checked in both its values."""
    page = parse(html)
    found = elements(page, within)
    attributes = [(name, value) for element in found for name, value in element.attrs.items()]
    for element in found:
        assert element.name not in SCRIPT_CAPABLE, (element.name, html)
        assert element.name in allowed_tags, (element.name, html)
    for name, value in attributes + page.repeated_attributes:
        assert not name.startswith("on"), (name, html)
        # Browsers ignore ASCII whitespace and control characters inside a URL's scheme.
        squeezed = re.sub(r"[\x00-\x20]+", "", value or "").lower()
        assert not squeezed.startswith(BAD_SCHEMES), (name, value, html)
    return found


def render_body(body):
    """What readers get of a stored body (newsroom.body), as a page renders it."""
    return Article(body=body, language="en").reader_body().html


def page_html(client, article):
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def section(db):
    return SectionFactory(slug="politics", name="Politics")


@pytest.fixture
def article(section):
    """A published article without a hero picture, whose body each test rewrites."""
    return ArticleFactory(section=section, hero_image=None, slug="the-story", body="<p>x</p>")


# --- Sanitising ---------------------------------------------------------------------------------


def test_every_xss_line_is_made_harmless_by_a_plain_model_save(client, article):
    for line in XSS_LINES:
        article.body = line
        article.save()
        article.refresh_from_db()
        stored = article.body

        assert_harmless(stored, STORED_TAGS)
        assert clean_body(stored) == stored, line
        assert_harmless(render_body(stored), RENDERED_TAGS)

    # The page a reader gets, for the last body and for a few more through the whole stack.
    for line in XSS_LINES[::25]:
        Article.objects.filter(pk=article.pk).update(body=clean_body(line))
        assert_harmless(page_html(client, article), RENDERED_TAGS, within="div.article-body")


def test_a_body_written_past_save_is_still_cleaned_when_rendered(client, article):
    # A queryset update skips Article.save(); the page cleans the body again.
    Article.objects.filter(pk=article.pk).update(
        body='<p onclick="alert(1)">Text</p><script>alert(2)</script>'
        '<a href="javascript:alert(3)">link</a><svg onload=alert(4)>'
    )

    html = page_html(client, article)

    assert_harmless(html, RENDERED_TAGS, within="div.article-body")
    assert "alert" not in html


def test_every_xss_line_in_a_figure_caption_or_id_is_made_harmless(article):
    # A draft: a published story refuses figures of images that are not in the library.
    article.status = Article.Status.DRAFT
    for line in XSS_LINES[::3]:
        for body in (
            f'<figure data-image-id="1"><figcaption>{line}</figcaption></figure>',
            f'<figure data-image-id="{line}"><figcaption>x</figcaption></figure>',
        ):
            article.body = body
            article.save()
            assert_harmless(article.body, STORED_TAGS)
            assert clean_body(article.body) == article.body


def test_every_xss_line_is_made_harmless_in_an_author_biography(db):
    author = AuthorFactory()
    for line in XSS_LINES:
        author.bio = line
        author.save()
        author.refresh_from_db()
        assert_harmless(author.bio, {"p", "strong", "em", "a", "br"})
        assert clean_bio(author.bio) == author.bio


def test_every_xss_line_is_made_harmless_through_the_admin_add_form(client, editor, section):
    client.force_login(editor)
    add_page = client.get(ADD_URL)
    assert add_page.status_code == 200
    form = form_data(add_page, "article_form")
    form.pop("csrfmiddlewaretoken")

    for number, line in enumerate(XSS_LINES):
        slug = f"payload-{number}"
        data = form | {
            "headline": f"Payload {number}",
            "slug": slug,
            "section": str(section.pk),
            "body": line,
            "_save": "Save",
        }
        response = client.post(ADD_URL, data)
        assert response.status_code == 302, (
            line,
            response.context and response.context.get("errors"),
        )
        stored = Article.objects.get(slug=slug).body
        assert_harmless(stored, STORED_TAGS)
        assert clean_body(stored) == stored
        assert_harmless(render_body(stored), RENDERED_TAGS)


def test_links_keep_only_web_and_mail_schemes_and_open_safely(article):
    article.body = (
        '<p><a href="https://example.org/a?b=1&amp;c=2" target="_blank" rel="opener">web</a> '
        '<a href="http://example.org/">plain</a> <a href="mailto:desk@example.org">mail</a> '
        '<a href="/2026/01/other-story/">relative</a> '
        '<a href="bitcoin:1BoatSLRHtKNngkdXEeobR76b53LETtpyT">coin</a> <a href="sms:+995">sms</a> '
        '<a href="tel:+995">tel</a> <a href="magnet:?xt=urn:btih:1">magnet</a> '
        '<a href="ftp://example.org/">ftp</a> <a href=" JaVaScRiPt:alert(1)">js</a></p>'
    )
    article.save()

    links = {visible_text(link): link.attrs for link in parse(article.body).find_all("a")}
    assert len(links) == 10
    assert links["web"]["href"] == "https://example.org/a?b=1&c=2"
    assert links["plain"]["href"] == "http://example.org/"
    assert links["mail"]["href"] == "mailto:desk@example.org"
    assert links["relative"]["href"] == "/2026/01/other-story/"
    for text in ["coin", "sms", "tel", "magnet", "ftp", "js"]:
        assert "href" not in links[text], text
    for attrs in links.values():
        assert attrs.get("rel") == "noopener noreferrer"
        assert "target" not in attrs


def test_only_the_body_editors_elements_are_kept(article):
    article.body = (
        "<h1>Title</h1><h2>Sub</h2><h3>Subsub</h3><h4>Deeper</h4><p><b>b</b> <strong>s</strong> "
        '<i>i</i> <em>e</em> <u>u</u><br>line</p><ul><li>one</li></ul><ol start="3"><li>three'
        "</li></ol><blockquote><p>Quote</p></blockquote><table><tr><td>cell</td></tr></table>"
        '<p class="lead" style="color:red" id="x">styled</p><img src="/media/x.jpg">'
    )
    article.save()

    tags = {element.name for element in elements(article.body)}
    assert tags == {"h2", "h3", "p", "strong", "em", "br", "ul", "ol", "li", "blockquote"}
    assert "Title" in article.body and "cell" in article.body  # text stays, markup goes
    assert 'class="' not in article.body and "style=" not in article.body


def test_an_empty_editor_stores_an_empty_body(article):
    article.body = "<p></p>"
    article.save()
    assert article.body == ""


# --- Figures ------------------------------------------------------------------------------------


def test_a_figure_is_stored_as_image_id_and_caption_only(article):
    image = ImageFactory()
    article.body = (
        f'<figure data-image-id="{image.pk}" class="wide" onclick="x()">'
        '<img src="https://evil.example/x.jpg" onerror="alert(1)">'
        "<figcaption>Crowds <em>outside</em> parliament</figcaption></figure>"
    )
    article.save()

    assert article.body == (
        f'<figure data-image-id="{image.pk}"><figcaption>Crowds outside parliament</figcaption>'
        "</figure>"
    )
    assert figure_image_ids(article.body) == [image.pk]


@pytest.mark.parametrize(
    "image_id", ["abc", "12abc", "-3", "1.5", "0", "", "1e3", "１２", "99999999999999999999"]
)
def test_a_figure_without_a_numeric_image_id_is_dropped(article, image_id):
    article.body = (
        f'<p>Before</p><figure data-image-id="{image_id}"><figcaption>Gone</figcaption></figure>'
        "<p>After</p>"
    )
    article.save()
    assert article.body == "<p>Before</p><p>After</p>"


def test_the_page_expands_a_figure_like_the_hero(client, article):
    image = ImageFactory(alt="Ballot boxes in a school hall", credit="Nana Photographer")
    article.body = (
        f'<p>Voting began.</p><figure data-image-id="{image.pk}">'
        "<figcaption>Officials count the first ballots</figcaption></figure><p>Then rain.</p>"
    )
    article.save()

    html = page_html(client, article)

    body = elements(html, within="div.article-body")
    tags = [element.name for element in body]
    assert tags[:5] == ["p", "figure", "picture", "img", "figcaption"]
    img = next(element for element in body if element.name == "img").attrs
    assert img["alt"] == "Ballot boxes in a school hall"
    assert img["loading"] == "lazy"
    assert img["width"] and img["height"]
    assert "Officials count the first ballots. Image: Nana Photographer." in visible_text(html)
    assert "data-image-id" not in html


def test_a_figure_without_caption_still_credits_the_image(client, article):
    image = ImageFactory(credit="Nana Photographer")
    article.body = f'<figure data-image-id="{image.pk}"></figure>'
    article.save()

    assert "Image: Nana Photographer." in visible_text(page_html(client, article))


def test_a_figure_whose_image_was_deleted_disappears(client, article):
    image = ImageFactory()
    article.body = (
        f'<p>Before</p><figure data-image-id="{image.pk}"><figcaption>Gone</figcaption></figure>'
        "<p>After</p>"
    )
    article.save()
    image.delete()

    html = page_html(client, article)

    assert [element.name for element in elements(html, within="div.article-body")] == ["p", "p"]
    assert "Gone" not in visible_text(html)


def test_figures_cost_one_query_however_many_there_are(client, section):
    images = [ImageFactory(rendered=True) for _ in range(5)]

    def article_with(count, slug):
        body = "".join(
            f'<p>Paragraph {n}</p><figure data-image-id="{image.pk}"><figcaption>Caption {n}'
            "</figcaption></figure>"
            for n, image in enumerate(images[:count])
        )
        return ArticleFactory(section=section, slug=slug, body=body)

    one, five = article_with(1, "one-figure"), article_with(5, "five-figures")
    counts = []
    for article in (one, five):
        page_html(client, article)  # warm up whatever is cached per process
        with CaptureQueriesContext(connection) as queries:
            html = page_html(client, article)
        counts.append(len(queries))
        assert visible_text(html).count("Image: Tamar Photographer.") == (
            # The hero's credit, then one per figure.
            1 + (1 if article is one else 5)
        )
    assert counts[0] == counts[1]


# --- The picture library's JSON endpoints -------------------------------------------------------


def staff_with(*codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="newsroom", codename__in=codenames)
    )
    return user


def upload_data(name="photo.jpg", data=None, **fields):
    return {
        "file": SimpleUploadedFile(name, data or jpeg_bytes(), content_type="image/jpeg"),
        "alt": "Ballot boxes in a school hall",
        "credit": "Nana Photographer",
        "licence": "All rights reserved",
        **fields,
    }


def test_the_library_search_finds_pictures_by_alt_text_and_credit(client, editor):
    ballot = ImageFactory(alt="Ballot boxes in a school hall", credit="Nana Photographer")
    ImageFactory(alt="A river valley under a low sky", credit="Levan Photographer")
    client.force_login(editor)

    by_alt = client.get(LIBRARY_URL, {"q": "ballot SCHOOL"}).json()
    by_credit = client.get(LIBRARY_URL, {"q": "levan"}).json()
    everything = client.get(LIBRARY_URL).json()

    assert [picture["id"] for picture in by_alt["results"]] == [ballot.pk]
    assert by_alt["results"][0] == {
        "id": ballot.pk,
        "alt": "Ballot boxes in a school hall",
        "credit": "Nana Photographer",
        "licence": "",
        "width": 800,
        "height": 533,
        "thumbnail": ballot.file.url,
        "created_at": ballot.created_at.isoformat(),
    }
    assert [picture["alt"] for picture in by_credit["results"]] == [
        "A river valley under a low sky"
    ]
    assert everything["count"] == 2 and everything["has_next"] is False


def test_the_library_search_filters_by_day_or_month_of_upload(client, editor):
    old = ImageFactory(alt="Old")
    Image.objects.filter(pk=old.pk).update(created_at="2025-03-14T12:00:00+04:00")
    ImageFactory(alt="New")
    client.force_login(editor)

    on_the_day = client.get(LIBRARY_URL, {"date": "2025-03-14"}).json()
    in_the_month = client.get(LIBRARY_URL, {"date": "2025-03"}).json()
    other_day = client.get(LIBRARY_URL, {"date": "2025-03-15"}).json()

    assert [picture["alt"] for picture in on_the_day["results"]] == ["Old"]
    assert [picture["alt"] for picture in in_the_month["results"]] == ["Old"]
    assert other_day["results"] == []


@pytest.mark.parametrize(
    "params, status",
    [
        ({"date": "yesterday"}, 400),
        ({"date": "2025-02-30"}, 400),
        ({"date": "2025-13"}, 400),
        ({"page": "two"}, 400),
        ({"page": "9" * 5000}, 400),
        ({"page": "0"}, 404),
        ({"page": "7"}, 404),
        ({"q": "\x00<script>" * 100}, 200),
    ],
)
def test_the_library_search_answers_bad_parameters_with_a_json_error(
    client, editor, params, status
):
    ImageFactory()
    client.force_login(editor)

    response = client.get(LIBRARY_URL, params)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"


def test_the_library_offers_the_small_rendition_once_it_is_built(client, editor):
    image = ImageFactory(rendered=True)
    client.force_login(editor)

    picture = client.get(f"{LIBRARY_URL}{image.pk}/").json()

    assert picture["id"] == image.pk
    assert picture["thumbnail"] == image.file.card320


def test_a_missing_picture_is_a_json_404(client, editor):
    client.force_login(editor)
    response = client.get(f"{LIBRARY_URL}987654/")
    assert response.status_code == 404
    assert "error" in response.json()


def test_an_upload_from_the_editor_is_cleaned_like_the_admins(client, editor):
    client.force_login(editor)

    response = client.post(LIBRARY_URL, upload_data())

    assert response.status_code == 201
    picture = response.json()
    image = Image.objects.get(pk=picture["id"])
    assert picture["alt"] == image.alt == "Ballot boxes in a school hall"
    assert image.credit == "Nana Photographer"
    assert image.uploaded_by == editor
    assert re.fullmatch(r"images/[0-9a-f]{2}/[0-9a-f]{64}\.jpeg", image.file.name)


def test_an_upload_from_the_editor_over_the_limit_is_refused_with_the_sizes(
    client, editor, settings
):
    """Check 41: the JSON endpoint passes the same upload handler as the admin's form."""
    settings.IMAGE_MAX_BYTES = 100 * 1024
    client.force_login(editor)
    data = jpeg_bytes(width=64, height=48)
    data += bytes(300 * 1024 - len(data))
    before = Image.objects.count()

    response = client.post(LIBRARY_URL, upload_data("big.jpg", data))

    assert response.status_code == 400
    [error] = response.json()["errors"]["file"]
    assert error.replace("\xa0", " ").startswith("The file is 300.0 KB, over the 100.0 KB limit.")
    assert Image.objects.count() == before


@pytest.mark.parametrize(
    "name", ["svg-xss-script-onload-foreignobject.svg", "not-an-image-ole-word-doc.jpg"]
)
def test_an_upload_that_is_not_a_picture_is_refused_with_json_errors(client, editor, name):
    client.force_login(editor)
    data = corpus.image_bytes(name)

    response = client.post(LIBRARY_URL, upload_data(name, data))

    assert response.status_code == 400
    assert response.json()["errors"]["file"]
    assert not Image.objects.exists()


def test_an_upload_needs_alt_text_and_credit(client, editor):
    client.force_login(editor)

    response = client.post(LIBRARY_URL, upload_data(alt="", credit=""))
    without_file = client.post(LIBRARY_URL, {"alt": "x", "credit": "y"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"alt", "credit"}
    assert without_file.status_code == 400
    assert set(without_file.json()["errors"]) == {"file"}
    assert not Image.objects.exists()


def test_readers_and_strangers_cannot_reach_the_library(client, reader):
    ImageFactory()
    assert client.get(LIBRARY_URL).status_code == 302
    assert client.post(LIBRARY_URL, upload_data()).status_code == 302

    client.force_login(reader)
    assert client.get(LIBRARY_URL).status_code == 302
    assert client.get(f"{LIBRARY_URL}{Image.objects.get().pk}/").status_code == 302
    assert client.post(LIBRARY_URL, upload_data()).status_code == 302
    assert Image.objects.count() == 1


def test_staff_need_the_image_permissions(client):
    image = ImageFactory()
    client.force_login(staff_with())
    assert client.get(LIBRARY_URL).status_code == 403
    assert client.get(f"{LIBRARY_URL}{image.pk}/").status_code == 403

    client.force_login(staff_with("view_image"))
    assert client.get(LIBRARY_URL).json()["count"] == 1
    refused = client.post(LIBRARY_URL, upload_data())
    assert refused.status_code == 403
    assert "error" in refused.json()
    assert Image.objects.count() == 1

    client.force_login(staff_with("view_image", "add_image"))
    assert client.post(LIBRARY_URL, upload_data()).status_code == 201


def test_an_upload_needs_the_csrf_token(editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)

    refused = client.post(LIBRARY_URL, upload_data())
    client.get(ADD_URL)  # the admin's page sets the token cookie, as in the browser
    token = client.cookies["csrftoken"].value
    accepted = client.post(LIBRARY_URL, upload_data(), headers={"X-CSRFToken": token})

    assert refused.status_code == 403
    assert accepted.status_code == 201
    assert Image.objects.count() == 1


def test_the_body_editor_loads_the_figure_extension_under_the_admins_policy(client, editor):
    client.force_login(editor)

    response = client.get(ADD_URL)
    page = parse(response)

    [editor_field] = page.select("[data-django-prose-editor-configurable]")
    config = json.loads(editor_field["data-django-prose-editor-configurable"])
    assert config["extensions"]["NewsroomFigure"] == {"libraryUrl": LIBRARY_URL}
    assert config["js_modules"] == ["/static/newsroom/editor/figure.js"]
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    [importmap] = page.find_all("script", type="importmap")
    assert importmap["nonce"] == nonce
