"""The article body is rendered for readers when the story is saved (newsroom.body), kept in
step with the pictures it shows, and never trusted once the body changed behind save()'s back."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsroom import body as rendering
from newsroom.models import Article
from newsroom.page_cache import pages
from newsroom.tasks import build_renditions
from tests.factories import ArticleFactory, ImageFactory, SectionFactory, jpeg_bytes
from tests.html import elements, parse, pictures, visible_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def picture(db):
    return ImageFactory(alt="Ballot boxes in a school hall", credit="Nana Photographer")


@pytest.fixture
def story(picture):
    return ArticleFactory(
        section=SectionFactory(slug="politics", name="Politics"),
        hero_image=None,
        body=(
            f'<p>Voting began.</p><figure data-image-id="{picture.pk}"><figcaption>Officials '
            "count the first ballots</figcaption></figure><p>Then rain.</p><p>Then sun.</p>"
        ),
    )


def body_of(client, story):
    pages().clear()
    response = client.get(story.get_absolute_url())
    assert response.status_code == 200
    return parse(response).select_one("div.article-body")


def test_saving_a_story_stores_what_readers_get(story, picture):
    story.refresh_from_db()

    assert story.rendering_is_current
    stored = parse(story.rendered_body)
    assert [element.name for element in elements(stored)][:5] == [
        "p",
        "figure",
        "picture",
        "img",
        "figcaption",
    ]
    assert stored.img["alt"] == "Ballot boxes in a school hall"
    assert "Officials count the first ballots. Image: Nana Photographer." in visible_text(stored)
    assert "data-image-id" not in story.rendered_body
    # The offsets just after each top-level paragraph, in the rendered HTML.
    assert [story.rendered_body[:end].rsplit("<p>", 1)[-1] for end in story.rendered_breaks] == [
        "Voting began.</p>",
        "Then rain.</p>",
        "Then sun.</p>",
    ]


def test_the_page_serves_the_stored_rendering_without_asking_for_its_images(client, story):
    body_of(client, story)  # warm up what is kept per process

    pages().clear()
    with CaptureQueriesContext(connection) as queries:
        html = client.get(story.get_absolute_url()).content.decode()

    assert "Image: Nana Photographer." in visible_text(html)
    assert not [query for query in queries if 'FROM "newsroom_image"' in query["sql"]]


def test_the_rendering_follows_the_pictures_renditions_credit_and_deletion(client, story, picture):
    # Before its renditions are built the figure shows the cleaned original.
    [before] = pictures(body_of(client, story))
    assert before.sources == [] and before.img["src"] == picture.file.url

    build_renditions.enqueue(picture.pk)

    story.refresh_from_db()
    assert story.rendering_is_current
    [after] = pictures(body_of(client, story))
    assert [source["type"] for source in after.sources] == ["image/avif", "image/webp"]
    assert after.img["srcset"]

    picture.credit = "Levan Photographer"
    picture.alt = "Ballot boxes, counted"
    picture.save()
    content = body_of(client, story)
    assert "Image: Levan Photographer." in visible_text(content)
    assert content.img["alt"] == "Ballot boxes, counted"

    picture.delete()
    story.refresh_from_db()
    assert "<figure" not in story.rendered_body
    content = body_of(client, story)
    assert [element.name for element in elements(content)] == ["p", "p", "p"]
    assert "Officials count" not in visible_text(content)


def test_a_new_file_for_the_picture_reaches_the_stories_that_show_it(
    client, story, picture, django_capture_on_commit_callbacks
):
    old = picture.file.url
    with django_capture_on_commit_callbacks(execute=True):
        picture.file.save("new.jpg", ContentFile(jpeg_bytes(1200, 800, (200, 30, 30))))

    [shown] = pictures(body_of(client, story))
    assert old not in shown.img["src"]
    assert shown.img["width"] == "1200"


def test_a_body_written_past_save_is_rendered_by_the_page_until_saved_again(client, story):
    Article.objects.filter(pk=story.pk).update(
        body='<p>Rewritten.</p><p onclick="alert(1)">Second.</p><script>alert(2)</script>'
    )

    content = body_of(client, story)

    assert [paragraph.get_text() for paragraph in content.find_all("p")] == [
        "Rewritten.",
        "Second.",
    ]
    assert "alert" not in str(content)
    story.refresh_from_db()
    assert not story.rendering_is_current
    assert "Officials count" in story.rendered_body  # nothing was written by the GET

    story.save()
    assert story.rendering_is_current and "Rewritten." in story.rendered_body


def test_stories_bulk_created_are_rendered_by_their_page_and_by_render_bodies(client, story):
    story.refresh_from_db()
    copy = Article.objects.get(pk=story.pk)
    copy.pk, copy.slug = None, "a-copy"
    copy.body = "<p>Bulk <em>one</em>.</p><img src=x onerror=alert(1)>"
    copy.rendered_body, copy.rendered_from = "", ""
    [copy] = Article.objects.bulk_create([copy])

    assert visible_text(body_of(client, copy)) == "Bulk one."
    assert "onerror" not in str(body_of(client, copy))

    call_command("render_bodies", verbosity=0)

    copy.refresh_from_db()
    assert copy.rendering_is_current
    assert copy.rendered_body == "<p>Bulk <em>one</em>.</p>"


def test_the_inline_block_goes_after_paragraph_n_of_the_stored_rendering(story):
    rendered = Article.objects.get(pk=story.pk).reader_body()

    first = rendered.after_paragraph(1)
    assert rendered.html[:first].endswith("<p>Voting began.</p>")
    assert rendered.html[first:].lstrip().startswith('<figure class="figure">')
    assert rendered.html[rendered.after_paragraph(2) :] == "<p>Then sun.</p>"
    # After the last paragraph, or a paragraph the story does not have: no block.
    assert rendered.after_paragraph(3) is None
    assert rendered.after_paragraph(0) is None


def test_a_change_of_media_address_is_not_served_from_old_renderings(client, story, settings):
    settings.MEDIA_URL = "https://media.example.org/files/"

    story.refresh_from_db()
    assert not story.rendering_is_current
    [shown] = pictures(body_of(client, story))
    assert shown.img["src"].startswith("https://media.example.org/files/")


def test_expiring_media_addresses_are_never_stored(story, monkeypatch):
    # S3 with signed URLs: an address stored today stops working within the hour.
    monkeypatch.setattr(default_storage, "querystring_auth", True, raising=False)

    assert rendering.fingerprint("<p>x</p>", "en") == ""
    story.save()
    assert not story.rendering_is_current
    assert "Voting began." in story.reader_body().html


def test_the_figure_credit_is_in_the_storys_language(picture):
    story = ArticleFactory(
        language="ru",
        slug="ru-story",
        hero_image=None,
        body=f'<figure data-image-id="{picture.pk}"><figcaption>Подпись</figcaption></figure>',
    )
    assert visible_text(story.rendered_body) == "Подпись. Фото: Nana Photographer."
