"""An editor writes a story with a subheading and an inline figure, in a real browser."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from newsroom.models import Article, Image
from tests import corpus
from tests.factories import AuthorFactory, ImageFactory, SectionFactory, jpeg_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_editor_writes_a_story_with_a_subheading_and_an_inline_figure(live_server, editor_page):
    page = editor_page
    SectionFactory(slug="politics", name="Politics")
    ImageFactory(alt="Ballot boxes stacked in a school hall", credit="Nana Photographer")
    ImageFactory(alt="A river valley under a low sky", credit="Someone Else")

    page.goto(live_server.url + "/admin/newsroom/article/add/")
    headline = page.get_by_label("Headline")
    headline.fill("Polling stations open early")
    # The admin fills the slug from the headline when the headline changes; let it, then set it.
    headline.dispatch_event("change")
    page.get_by_label("Slug").fill("polling-stations-open-early")

    write_body(
        page,
        paragraph="Voters queued before dawn in the capital.",
        subheading="Turnout so far",
        picture=("ballot", "Ballot boxes stacked"),
        caption="Officials count the first ballots",
    )

    page.get_by_label("Section").select_option(label="Politics")
    page.get_by_label("Status").select_option(label="Published")
    an_hour_ago = timezone.localtime() - timedelta(hours=1)
    page.locator("input[name=published_at_0]").fill(an_hour_ago.strftime("%Y-%m-%d"))
    page.locator("input[name=published_at_1]").fill(an_hour_ago.strftime("%H:%M:%S"))
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/newsroom/article/")

    assert page.errors == []
    article = Article.objects.get(slug="polling-stations-open-early")
    image_id = Image.objects.get(alt="Ballot boxes stacked in a school hall").pk
    assert article.body == (
        "<p>Voters queued before dawn in the capital.</p><h2>Turnout so far</h2>"
        f'<figure data-image-id="{image_id}"><figcaption>Officials count the first ballots'
        "</figcaption></figure>"
    )

    # Opened again, the editor shows the figure with its caption, ready to change.
    page.goto(live_server.url + f"/admin/newsroom/article/{article.pk}/change/")
    figure = page.locator(f'.newsroom-figure[data-image-id="{image_id}"]')
    assert figure.get_by_label("Caption", exact=True).input_value() == (
        "Officials count the first ballots"
    )
    expect_text(figure.locator(".newsroom-figure__about"), "Image: Nana Photographer")
    assert page.errors == []

    page.goto(live_server.url + article.get_absolute_url())
    content = page.locator(".article-body")
    assert content.get_by_role("heading", level=2).inner_text() == "Turnout so far"
    figure = content.locator("figure")
    assert figure.locator("figcaption").inner_text() == (
        "Officials count the first ballots. Image: Nana Photographer."
    )
    img = figure.locator("img")
    assert img.get_attribute("alt") == "Ballot boxes stacked in a school hall"
    assert img.get_attribute("loading") == "lazy"
    assert img.get_attribute("src").startswith("/media/")


def write_body(page, *, paragraph, subheading, picture, caption):
    """Type a paragraph and an H2 into the body editor, then insert a library picture found by
    `picture` (search words, button text) and caption it."""
    page.locator(".field-body .tiptap").click()
    page.keyboard.type(paragraph)
    page.keyboard.press("Enter")
    page.keyboard.type(subheading)
    # The block-type menu: a dropdown with the two heading levels and the paragraph.
    page.locator(".prose-menubar__selected").first.click()
    page.locator(".prose-menubar__picker").get_by_text("Heading 2").click()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Insert figure").click()
    dialog = page.get_by_role("dialog", name="Insert figure")
    search, button = picture
    dialog.get_by_label("Search the library").fill(search)
    dialog.get_by_role("button", name=re.compile(button)).click()
    expect_hidden(dialog)
    expect_focused(page.locator(".newsroom-figure").get_by_label("Caption", exact=True))
    page.keyboard.type(caption)


def expect_hidden(locator):
    locator.wait_for(state="detached")


def expect_focused(locator):
    locator.page.wait_for_function(
        "el => document.activeElement === el", arg=locator.element_handle()
    )


def test_editor_uploads_a_picture_from_the_figure_dialog(live_server, editor_page, tmp_path):
    page = editor_page
    word_doc = tmp_path / "not-a-picture.jpg"
    word_doc.write_bytes(corpus.image_bytes("not-an-image-ole-word-doc.jpg"))
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes(1200, 800))

    page.goto(live_server.url + "/admin/newsroom/article/add/")
    page.locator(".field-body .tiptap").click()
    page.get_by_role("button", name="Insert figure").click()
    dialog = page.get_by_role("dialog", name="Insert figure")
    expect_text(dialog.get_by_role("status"), "No picture in the library matches.")

    dialog.get_by_label("Picture").set_input_files(word_doc)
    dialog.get_by_label("Alternative text").fill("Flooded street in the old town")
    dialog.get_by_label("Credit").fill("Giorgi Photographer")
    dialog.get_by_role("button", name="Upload and insert").click()
    errors = dialog.get_by_role("alert")
    errors.locator("li").first.wait_for()
    assert errors.inner_text().startswith("Picture:")
    assert not Image.objects.exists()

    dialog.get_by_label("Picture").set_input_files(photo)
    dialog.get_by_role("button", name="Upload and insert").click()
    expect_hidden(dialog)

    image = Image.objects.get()
    assert (image.alt, image.credit) == ("Flooded street in the old town", "Giorgi Photographer")
    figure = page.locator(f'.newsroom-figure[data-image-id="{image.pk}"]')
    expect_text(figure.locator(".newsroom-figure__about"), "Giorgi Photographer")
    page.keyboard.type("Water rose overnight")
    body = page.locator("textarea[name=body]").input_value()
    assert body.endswith(
        f'<figure data-image-id="{image.pk}"><figcaption>Water rose overnight</figcaption></figure>'
    )
    # The refused upload's 400 is reported by the browser; nothing else may be.
    assert [error for error in page.errors if "status of 400" not in error] == []


def expect_text(locator, text):
    locator.page.wait_for_function(
        "([el, text]) => el.textContent.includes(text)", arg=[locator.element_handle(), text]
    )


def choose(page, field, search, option):
    """Pick `option` in an admin autocomplete (select2) widget inside `field`."""
    field.locator(".select2-selection").click()
    page.locator(".select2-search__field").last.fill(search)
    page.locator(".select2-results__option", has_text=option).click()


def test_editor_schedules_an_illustrated_story_with_two_bylines(live_server, editor_page):
    """The editors' day in one story: hero with caption and credit, a subheading, an inline
    figure, two bylines, a scheduled time; readers see it when that time comes, not before."""
    page = editor_page
    SectionFactory(slug="politics", name="Politics")
    AuthorFactory(name="Nino Beridze")
    AuthorFactory(name="Arman Petrosyan")
    ImageFactory(alt="Voters queue outside a school", credit="Tamar Photographer")
    ImageFactory(alt="Ballot boxes stacked in a school hall", credit="Nana Photographer")

    page.goto(live_server.url + "/admin/newsroom/article/add/")
    # The admin fills in the slug from the headline.
    page.get_by_label("Headline").fill("Polls close in the capital")
    write_body(
        page,
        paragraph="Counting has begun.",
        subheading="What comes next",
        picture=("ballot", "Ballot boxes stacked"),
        caption="Officials count the first ballots",
    )

    choose(page, page.locator(".field-hero_image"), "queue", "Voters queue outside a school")
    page.get_by_label("Hero caption").fill("Voters queue before the polls open")
    choose(page, page.locator("#bylines-0"), "Nino", "Nino Beridze")
    page.locator("#bylines-group .add-row a").click()
    choose(page, page.locator("#bylines-1"), "Arman", "Arman Petrosyan")
    page.locator("#id_bylines-1-position").fill("1")
    page.get_by_label("Section").select_option(label="Politics")
    page.get_by_label("Status").select_option(label="Published")
    # Scheduled a little ahead, in the newsroom's time zone as the form shows it.
    when = timezone.localtime() + timedelta(seconds=25)
    page.locator("input[name=published_at_0]").fill(when.strftime("%Y-%m-%d"))
    page.locator("input[name=published_at_1]").fill(when.strftime("%H:%M:%S"))
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/newsroom/article/")
    assert page.errors == []

    article = Article.objects.get(slug="polls-close-in-the-capital")
    assert [b.author.name for b in article.bylines.all()] == ["Nino Beridze", "Arman Petrosyan"]
    reader = page.context.browser.new_page()
    response = reader.goto(live_server.url + article.get_absolute_url())
    assert response.status == 404, "not before its time"

    reader.wait_for_timeout(max(0, (when - timezone.localtime()).total_seconds() * 1000) + 500)
    response = reader.goto(live_server.url + article.get_absolute_url())
    assert response.status == 200
    captions = [caption.inner_text() for caption in reader.locator("figcaption").all()]
    assert captions == [
        "Voters queue before the polls open. Image: Tamar Photographer.",
        "Officials count the first ballots. Image: Nana Photographer.",
    ]
    assert reader.locator(".article-body h2").inner_text() == "What comes next"
    assert "By Nino Beridze and Arman Petrosyan" in reader.locator(".meta").first.inner_text()
    reader.goto(live_server.url + "/")
    assert reader.get_by_role("link", name="Polls close in the capital").count() == 1
    reader.close()
