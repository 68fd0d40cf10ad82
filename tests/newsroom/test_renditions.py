"""Responsive renditions: built off the request path, offered as AVIF, WebP and a fallback."""

import io
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image as PillowImage

from newsroom.models import Image
from newsroom.renditions import CARD_WIDTHS, WIDTHS, image_formats
from tests.factories import ArticleFactory, ImageFactory, jpeg_bytes
from tests.html import pictures

pytestmark = pytest.mark.django_db


def hero(client, article):
    """The article page's first <picture> inside a <figure>: the hero."""
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    return pictures(response, within="figure")[0]


def srcset_widths(srcset):
    return [int(w) for w in re.findall(r" (\d+)w", srcset)]


def test_saving_an_image_queues_its_renditions_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        image = ImageFactory(file=ContentFile(jpeg_bytes(1800, 1200), name="wide.jpg"))

    image.refresh_from_db()
    assert sorted(image.renditions) == sorted(image_formats())
    assert image.missing_renditions == []


def test_every_rendition_is_a_clean_image_of_its_format(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        image = ImageFactory(file=ContentFile(jpeg_bytes(1800, 1200), name="wide.jpg"))
    image.refresh_from_db()

    expected = {"avif": "AVIF", "webp": "WEBP"}
    for name in image.renditions:
        path = image.file._process_context(image.file.field.formats[name]).name
        with default_storage.open(path) as stored, PillowImage.open(stored) as picture:
            picture.load()
            assert picture.format == expected.get(name.rpartition("_")[2], "JPEG"), name
            assert not picture.getexif(), name
            if name.startswith("w"):
                assert picture.width == min(int(name[1:].split("_")[0]), 1800), name
            elif name.startswith("card"):
                width = int(name[4:].split("_")[0])
                assert picture.size == (width, width * 2 // 3), name
            elif name == "social_jpeg":
                assert picture.size == (1200, 630)


def test_article_hero_offers_avif_and_webp_with_srcset_and_size(client):
    image = ImageFactory(file=ContentFile(jpeg_bytes(2000, 1000), name="w.jpg"), rendered=True)
    article = ArticleFactory(hero_image=image)

    picture = hero(client, article)

    assert [source["type"] for source in picture.sources] == ["image/avif", "image/webp"]
    for source in picture.sources:
        assert srcset_widths(source["srcset"]) == list(WIDTHS)
        assert source["sizes"]
    assert srcset_widths(picture.img["srcset"]) == list(WIDTHS)
    assert (picture.img["width"], picture.img["height"]) == ("2000", "1000")
    assert picture.img["loading"] == "eager"
    assert picture.img["src"] == image.file.w960


def test_small_pictures_are_never_offered_upscaled(client):
    image = ImageFactory(file=ContentFile(jpeg_bytes(700, 500), name="s.jpg"), rendered=True)
    article = ArticleFactory(hero_image=image)

    picture = hero(client, article)

    assert srcset_widths(picture.img["srcset"]) == [320, 640, 700]


def test_before_renditions_exist_the_page_shows_the_cleaned_original(client):
    article = ArticleFactory(hero_image=ImageFactory())

    picture = hero(client, article)

    assert picture.sources == []
    assert picture.img["src"] == article.hero_image.file.url
    assert "srcset" not in picture.img
    assert picture.img["width"] and picture.img["height"]


def test_a_missing_rendition_falls_back_to_the_nearest_that_exists(client):
    image = ImageFactory(file=ContentFile(jpeg_bytes(2000, 1000), name="w.jpg"), rendered=True)
    Image.objects.filter(pk=image.pk).update(renditions=["w320", "w1280", "w640_webp"])
    article = ArticleFactory(hero_image=image)

    picture = hero(client, article)

    assert picture.img["src"] == image.file.w1280  # nearest to 960 of what exists
    assert srcset_widths(picture.img["srcset"]) == [320, 1280]
    assert [source["type"] for source in picture.sources] == ["image/webp"]


def test_listing_cards_use_three_by_two_crops(client):
    image = ImageFactory(rendered=True)
    ArticleFactory(hero_image=image)
    ArticleFactory(hero_image=image)

    cards = pictures(client.get("/"))

    assert len(cards) == 2
    for card in cards:
        assert [source["type"] for source in card.sources] == ["image/avif", "image/webp"]
        assert image.file.card640_avif in card.sources[0]["srcset"]
        assert (card.img["width"], card.img["height"]) == ("640", str(640 * 2 // 3))
        assert srcset_widths(card.img["srcset"]) == list(CARD_WIDTHS)


def test_build_renditions_builds_what_is_missing_and_only_that(capsys):
    image = ImageFactory()
    assert image.missing_renditions

    call_command("build_renditions")
    assert "for 1 images" in capsys.readouterr().out
    image.refresh_from_db()
    assert image.missing_renditions == []

    call_command("build_renditions")
    assert "Every image has all its renditions." in capsys.readouterr().out


def test_a_deleted_image_is_skipped_by_its_task():
    from newsroom.tasks import build_renditions

    image = ImageFactory()
    image_id = image.pk
    image.delete()

    assert build_renditions.call(image_id) == 0


def test_renditions_of_a_png_with_transparency_keep_it():
    buffer = io.BytesIO()
    PillowImage.new("RGBA", (900, 600), (200, 30, 30, 100)).save(buffer, "PNG")
    image = ImageFactory(file=ContentFile(buffer.getvalue(), name="logo.png"), rendered=True)

    for name in ("w640", "w640_webp", "w640_avif"):
        path = image.file._process_context(image.file.field.formats[name]).name
        with default_storage.open(path) as stored, PillowImage.open(stored) as picture:
            assert picture.mode in {"RGBA", "LA", "PA"} or "transparency" in picture.info, name
