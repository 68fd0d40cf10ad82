"""Editors upload pictures through the admin; what is stored carries pixels and nothing else.

Every file of the image corpus (tests/corpus/images) goes through the real admin add view, with
the one outcome expected of it (the manifest's, or this product's decision where the manifest
leaves it open): stored as a clean picture (no EXIF, no GPS, upright, shown on an article page),
or refused with a form error that tells the editor what is wrong, and then nothing is left in
storage.
"""

import hashlib
import io
import mimetypes
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from PIL import ExifTags, ImageCms, ImageSequence
from PIL import Image as PillowImage
from PIL.PngImagePlugin import PngInfo

from newsroom.images import PictureSizeLimit, clean_upload
from newsroom.models import Image
from tests import corpus
from tests.factories import ArticleFactory, jpeg_bytes
from tests.html import visible_text

pytestmark = pytest.mark.django_db

MANIFEST = list(corpus.image_manifest().values())
ADD_URL = "/admin/newsroom/image/add/"
STORED_NAME = re.compile(r"^images/([0-9a-f]{2})/([0-9a-f]{64})\.(jpeg|png)$")
# What the upload must not bring along: EXIF, XMP, Photoshop/IPTC, ICC, comments, PNG text.
METADATA_KEYS = {"exif", "xmp", "XML:com.adobe.xmp", "photoshop", "iptc", "comment", "icc_profile"}
METADATA_BYTES = [b"Exif\x00\x00", b"http://ns.adobe.com/", b"Photoshop 3.0", b"ICC_PROFILE"]
# The manifest leaves these to the product ("accept_or_reject"); what this one decides, and why
# (newsroom/images.py: Pillow may open JPEG, PNG, GIF, WebP, AVIF and TIFF, plus MPO through the
# JPEG plugin; the first frame is decoded in full before anything is stored).
DECIDED = {
    "jpeg-mpo-multipicture-3ds.jpg": ("accept", "MPO is a camera JPEG: the first picture is kept"),
    "jpeg-truncated-progressive.jpg": ("reject", "the full decode fails: damaged or incomplete"),
    "png-content-with-jpg-extension.jpg": ("accept", "the content decides, never the name"),
    "avif.avif": ("accept", "AVIF is an accepted format (Pillow 13 decodes it)"),
    "avif-with-exif.avif": ("accept", "AVIF is an accepted format; the EXIF is dropped"),
    "heic-hevc.heic": ("reject", "no HEIF decoder: refused with advice for iPhone users"),
    "tiff-rgb.tif": ("accept", "TIFF is an accepted format"),
    "tiff-multipage.tiff": ("accept", "TIFF is an accepted format; the first page is kept"),
    "svg-xss-script-onload-foreignobject.svg": ("reject", "SVG is not a raster image"),
    "svg-xss-cdata-script.svg": ("reject", "SVG is not a raster image"),
    "svg-ssrf-external-image.svg": ("reject", "SVG is not a raster image"),
}


def expected_outcome(case):
    """accept or reject: the manifest's word, or this product's decision where it leaves one."""
    if case["expect"] == "accept_or_reject":
        return DECIDED[case["file"]][0]
    return case["expect"]


def test_every_undecided_corpus_file_has_a_decision():
    undecided = {case["file"] for case in MANIFEST if case["expect"] == "accept_or_reject"}
    assert set(DECIDED) == undecided
    assert {case["expect"] for case in MANIFEST} == {"accept", "reject", "accept_or_reject"}


@pytest.fixture
def new_images(db):
    """The images added during the test (the demo module leaves its picture library behind)."""
    before = set(Image.objects.values_list("pk", flat=True))
    return lambda: Image.objects.exclude(pk__in=before).order_by("pk")


def media_files():
    root = Path(settings.MEDIA_ROOT)
    return {path.relative_to(root) for path in root.rglob("*") if path.is_file()}


def upload(client, name, data, alt="A picture from the corpus", credit="Corpus Photographer"):
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return client.post(
        ADD_URL,
        {
            "file": SimpleUploadedFile(name, data, content_type=content_type),
            "alt": alt,
            "credit": credit,
            "licence": "",
            "ppoi": "0.5x0.5",
        },
    )


def file_errors(response):
    return response.context["adminform"].form.errors.get("file", [])


def displayed_size(data):
    """The raw file's size as a viewer shows it: swapped when EXIF says it is turned a quarter."""
    raw = PillowImage.open(io.BytesIO(data))
    try:
        orientation = raw.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        orientation = 1
    return raw.size[::-1] if orientation in (5, 6, 7, 8) else raw.size


def assert_clean_picture(data):
    """The stored bytes: a picture Pillow reads in full, and no metadata of any kind."""
    stored = PillowImage.open(io.BytesIO(data))
    stored.load()
    assert stored.format in ("JPEG", "PNG")
    assert not stored.getexif()
    assert not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not METADATA_KEYS & set(stored.info)
    if stored.format == "PNG":
        assert not stored.text
    for marker in METADATA_BYTES:
        assert marker not in data
    assert b"<script" not in data
    assert getattr(stored, "n_frames", 1) == 1
    return stored


@pytest.mark.parametrize("case", MANIFEST, ids=[case["file"] for case in MANIFEST])
def test_every_corpus_upload_is_stored_clean_or_refused_with_a_form_error(
    client, editor, new_images, case
):
    data = corpus.image_bytes(case["file"])
    assert hashlib.sha256(data).hexdigest() == case["sha256"]
    client.force_login(editor)
    before = media_files()

    response = upload(client, case["file"], data)

    assert response.status_code in (200, 302), "never a server error"
    accepted = response.status_code == 302
    if expected_outcome(case) == "accept":
        assert accepted, f"refused: {file_errors(response) if response.context else response}"
    else:
        assert not accepted, "a file that must be refused was stored"

    if not accepted:
        errors = file_errors(response)
        assert errors, "the refusal is explained on the file field"
        assert errors[0] in visible_text(response)
        assert not new_images().exists()
        assert media_files() == before, "a refused upload leaves nothing in storage"
        return

    [image] = new_images()
    assert image.alt == "A picture from the corpus"
    assert image.uploaded_by == editor
    match = STORED_NAME.match(image.file.name)
    assert match, image.file.name
    with image.file.open("rb") as stored_file:
        stored_bytes = stored_file.read()
    assert match[2] == hashlib.sha256(stored_bytes).hexdigest()
    assert match[1] == match[2][:2]
    stored = assert_clean_picture(stored_bytes)
    assert match[3] == stored.format.lower()
    assert (image.width, image.height) == stored.size == displayed_size(data)

    # What the task does after the upload's commit: every rendition builds, and each one is a
    # whole picture without metadata.
    image.build_renditions()
    assert image.missing_renditions == []
    for name in image.renditions:
        path = image.file._process_context(image.file.field.formats[name]).name
        with default_storage.open(path) as rendition, PillowImage.open(rendition) as picture:
            picture.load()
            assert not picture.getexif(), name
            assert not METADATA_KEYS & set(picture.info), name

    article = ArticleFactory(hero_image=image, hero_caption="A caption")
    page = client.get(article.get_absolute_url())
    html = page.content.decode()
    assert page.status_code == 200
    assert '<source type="image/avif"' in html
    assert f'width="{image.width}" height="{image.height}"' in html
    assert 'alt="A picture from the corpus"' in html
    # Nothing from the file's metadata reaches the page (the XSS-metadata JPEG has
    # <script>alert(1)</script> in every field).
    assert "<script>" not in html
    assert "alert(1)" not in html


def test_orientation_files_are_stored_upright(client, editor, new_images):
    client.force_login(editor)
    data = corpus.image_bytes("jpeg-exif-orientation8-2x1.jpg")
    assert PillowImage.open(io.BytesIO(data)).size == (2, 1)

    assert upload(client, "sideways.jpg", data).status_code == 302

    [image] = new_images()
    assert (image.width, image.height) == (1, 2)


def test_a_file_over_the_byte_limit_is_refused_with_the_sizes(client, editor, settings, new_images):
    settings.IMAGE_MAX_BYTES = 5 * 1024
    client.force_login(editor)
    data = corpus.image_bytes("baseline__hopper.jpg")  # 6412 bytes

    response = upload(client, "hopper.jpg", data)

    assert response.status_code == 200
    [error] = file_errors(response)
    # Django's filesizeformat puts a no-break space between number and unit.
    error = error.replace("\xa0", " ")
    assert "6.3 KB" in error and "5.0 KB limit" in error
    assert error in visible_text(response)
    assert not new_images().exists()


class MeasuredTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler, noting the most it ever wrote to its file."""

    peak = 0

    def receive_data_chunk(self, raw_data, start):
        super().receive_data_chunk(raw_data, start)
        self.peak = max(self.peak, start + len(raw_data))


@pytest.fixture
def measured_uploads(settings):
    """The site's upload handlers, with Django's temporary-file one measured."""
    settings.FILE_UPLOAD_HANDLERS = [
        *settings.FILE_UPLOAD_HANDLERS[:-1],
        f"{__name__}.MeasuredTemporaryFileUploadHandler",
    ]
    assert settings.FILE_UPLOAD_HANDLERS[0] == "newsroom.images.PictureSizeLimit"

    def handlers(response):
        limit, *_, measured = response.wsgi_request.upload_handlers
        assert isinstance(limit, PictureSizeLimit)
        assert isinstance(measured, MeasuredTemporaryFileUploadHandler)
        return limit, measured

    return handlers


def test_an_upload_over_the_limit_is_not_stored_past_the_limit(
    client, editor, settings, new_images, measured_uploads
):
    """Check 41: 11 MB against a 10 MB limit → a form error with both sizes; the temporary file
    never holds more than the limit and is deleted; the fields after the file are kept."""
    settings.IMAGE_MAX_BYTES = 10 * 1024 * 1024
    client.force_login(editor)
    data = jpeg_bytes(width=64, height=48)
    data += bytes(11 * 1024 * 1024 - len(data))
    before = media_files()

    response = upload(client, "huge.jpg", data, alt="Crowds at the border crossing")

    assert response.status_code == 200
    [error] = file_errors(response)
    error = error.replace("\xa0", " ")
    assert error.startswith("The file is 11.0 MB, over the 10.0 MB limit.")
    assert error in visible_text(response)
    # The alt text came after the file in the request: it was parsed, not lost with the file.
    assert response.context["adminform"].form["alt"].value() == "Crowds at the border crossing"
    limit, measured = measured_uploads(response)
    assert limit.received == len(data)  # counted to the end, to say how big the file was...
    assert 0 < measured.peak <= settings.IMAGE_MAX_BYTES  # ...but never written past the limit
    assert measured.file.closed
    assert not os.path.exists(measured.file.temporary_file_path())
    assert not new_images().exists()
    assert media_files() == before


def test_a_picture_of_exactly_the_limit_passes_through_the_temporary_file(
    client, editor, settings, new_images, measured_uploads
):
    """Check 41: the limit is inclusive, and a file under it reaches the form whole."""
    data = corpus.image_bytes("baseline__hopper.jpg")
    settings.IMAGE_MAX_BYTES = len(data)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # the temporary-file handler, as for big photos
    client.force_login(editor)

    response = upload(client, "hopper.jpg", data)

    assert response.status_code == 302
    limit, measured = measured_uploads(response)
    assert limit.received == measured.peak == len(data)
    [image] = new_images()
    assert (image.width, image.height) == (128, 128)


def test_a_picture_over_the_pixel_limit_is_refused_with_the_numbers(
    client, editor, settings, new_images
):
    settings.IMAGE_MAX_PIXELS = 10_000
    client.force_login(editor)
    data = corpus.image_bytes("baseline__hopper.jpg")  # 128 × 128 = 16,384 pixels

    response = upload(client, "hopper.jpg", data)

    assert response.status_code == 200
    [error] = file_errors(response)
    assert error.startswith("The image is too large: 16,384 pixels (128 × 128)")
    assert "the limit is 10,000 pixels" in error
    assert not new_images().exists()


def test_decompression_bomb_is_refused_before_decoding(client, editor):
    client.force_login(editor)
    data = corpus.image_bytes("gif-decompression-bomb-65535x66601.gif")

    response = upload(client, "bomb.gif", data)

    [error] = file_errors(response)
    assert error.startswith("The image is too large: 4365 megapixels, the limit is 60 megapixels")


def test_svg_and_documents_are_refused_with_what_to_upload_instead(client, editor):
    client.force_login(editor)
    for name in ["svg-xss-cdata-script.svg", "not-an-image-ole-word-doc.jpg"]:
        response = upload(client, name, corpus.image_bytes(name))
        assert file_errors(response) == [
            "This file is not an image we can use (SVG and documents are not accepted): "
            "upload a JPEG, PNG, WebP, AVIF or GIF."
        ]


def test_heic_photo_is_refused_with_advice_for_iphone_users(client, editor):
    client.force_login(editor)
    response = upload(client, "IMG_0001.HEIC", corpus.image_bytes("heic-hevc.heic"))
    [error] = file_errors(response)
    assert "HEIC" in error and "JPEG" in error


def test_damaged_file_is_refused_as_damaged(client, editor):
    client.force_login(editor)
    response = upload(client, "cut.jpg", corpus.image_bytes("jpeg-truncated-progressive.jpg"))
    [error] = file_errors(response)
    assert error.startswith("The file is damaged or incomplete")


def test_same_picture_uploaded_twice_is_two_images_but_one_file(client, editor, new_images):
    client.force_login(editor)
    data = jpeg_bytes(width=333, height=222, colour=(12, 34, 56))
    before = media_files()

    first = upload(client, "harbour.jpg", data, alt="The harbour at dawn", credit="Nana")
    second = upload(client, "harbour-copy.jpg", data, alt="Boats in the harbour", credit="Levan")

    assert first.status_code == second.status_code == 302
    one, two = new_images()
    assert (one.alt, one.credit) == ("The harbour at dawn", "Nana")
    assert (two.alt, two.credit) == ("Boats in the harbour", "Levan")
    assert one.file.name == two.file.name
    assert (two.width, two.height) == (333, 222)
    new_originals = {path for path in media_files() - before if path.parts[0] == "images"}
    assert new_originals == {Path(one.file.name)}


def test_editor_can_change_the_alt_text_without_uploading_again(client, editor, new_images):
    client.force_login(editor)
    upload(client, "river.jpg", jpeg_bytes(width=300, height=200, colour=(90, 60, 30)))
    [image] = new_images()
    change_url = f"/admin/newsroom/image/{image.pk}/change/"
    assert client.get(change_url).status_code == 200

    response = client.post(
        change_url,
        {"alt": "A river after the flood", "credit": "", "licence": "", "ppoi": "0.3x0.6"},
    )

    assert response.status_code == 302
    image.refresh_from_db()
    assert image.alt == "A river after the flood"
    assert image.ppoi == "0.3x0.6"
    assert STORED_NAME.match(image.file.name)


def test_alt_text_is_required(client, editor, new_images):
    client.force_login(editor)
    response = upload(client, "river.jpg", jpeg_bytes(), alt="")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["alt"]
    assert not new_images().exists()


def test_reader_without_admin_rights_cannot_upload(client, reader, new_images):
    client.force_login(reader)
    data = corpus.image_bytes("baseline__hopper.jpg")

    assert client.get(ADD_URL).status_code != 200
    response = upload(client, "hopper.jpg", data)

    assert response.status_code != 200
    assert not new_images().exists()


# clean_upload(), on pictures made here with known pixels and metadata.


def encoded(image, format="JPEG", **options):
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return SimpleUploadedFile(f"upload.{format.lower()}", buffer.getvalue())


def reopen(cleaned):
    cleaned.file.seek(0)
    return PillowImage.open(io.BytesIO(cleaned.file.read()))


def close_to(pixel, expected, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=False))


def test_clean_upload_turns_a_sideways_photo_upright():
    # Stored 60 × 40 with a red block at the top left; Orientation 6 means "rotate 90° clockwise
    # to display", so upright it is 40 × 60 with the red block at the top right.
    raw = PillowImage.new("RGB", (60, 40), (0, 0, 255))
    raw.paste((255, 0, 0), (0, 0, 20, 20))
    exif = PillowImage.Exif()
    exif[ExifTags.Base.Orientation] = 6

    cleaned = clean_upload(encoded(raw, exif=exif.tobytes(), quality=95))

    upright = reopen(cleaned)
    assert (cleaned.width, cleaned.height) == upright.size == (40, 60)
    assert close_to(upright.getpixel((35, 5)), (255, 0, 0))
    assert close_to(upright.getpixel((5, 5)), (0, 0, 255))
    assert not upright.getexif()


def test_clean_upload_strips_gps_camera_serial_and_time():
    exif = PillowImage.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 12"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, 43.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (44.0, 47.0, 3.0)
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.BodySerialNumber] = "SN-12345678"
    details[ExifTags.Base.DateTimeOriginal] = "2026:03:01 10:00:00"
    upload = encoded(PillowImage.new("RGB", (40, 30), "green"), exif=exif, comment=b"meet at 6")
    assert PillowImage.open(upload).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test's premise

    cleaned = clean_upload(upload)

    stored_bytes = cleaned.file.read()
    assert_clean_picture(stored_bytes)
    for secret in [b"PhoneMaker", b"SN-12345678", b"2026:03:01", b"meet at 6"]:
        assert secret not in stored_bytes


def test_clean_upload_converts_colours_to_srgb_and_drops_the_profile():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = PillowImage.new("RGB", (32, 32), (30, 120, 200))

    stored = reopen(clean_upload(encoded(tagged, icc_profile=srgb, quality=95)))

    assert "icc_profile" not in stored.info
    assert close_to(stored.getpixel((16, 16)), (30, 120, 200), tolerance=6)


def test_clean_upload_converts_cmyk_to_rgb():
    cmyk_red = PillowImage.new("CMYK", (32, 32), (0, 255, 255, 0))

    cleaned = clean_upload(encoded(cmyk_red, quality=95))

    stored = reopen(cleaned)
    assert (cleaned.format, stored.format, stored.mode) == ("JPEG", "JPEG", "RGB")
    assert close_to(stored.getpixel((16, 16)), (255, 0, 0))


def test_clean_upload_keeps_the_first_frame_of_an_animation():
    frames = [PillowImage.new("RGB", (24, 24), colour) for colour in ["red", "lime", "blue"]]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    cleaned = clean_upload(SimpleUploadedFile("spinner.gif", buffer.getvalue()))

    still = reopen(cleaned)
    assert len(list(ImageSequence.Iterator(still))) == 1
    assert close_to(still.convert("RGB").getpixel((12, 12)), (255, 0, 0))


def test_clean_upload_keeps_transparency_as_png():
    logo = PillowImage.new("RGBA", (20, 20), (0, 0, 0, 0))
    logo.paste((200, 30, 30, 255), (5, 5, 15, 15))
    cleaned = clean_upload(encoded(logo, "PNG"))

    stored = reopen(cleaned)
    assert cleaned.format == stored.format == "PNG"
    assert cleaned.file.name.endswith(".png")
    assert stored.mode == "RGBA"
    assert stored.getpixel((0, 0))[3] == 0
    assert stored.getpixel((10, 10)) == (200, 30, 30, 255)


def test_clean_upload_drops_png_text_chunks():
    text = PngInfo()
    text.add_text("Comment", "source: the minister's driver")
    text.add_itxt("Description", "taken at the safe house", zip=True)
    upload = encoded(PillowImage.new("RGBA", (10, 10), (0, 0, 0, 128)), "PNG", pnginfo=text)

    stored_bytes = clean_upload(upload).file.read()

    assert_clean_picture(stored_bytes)
    assert b"driver" not in stored_bytes and b"tEXt" not in stored_bytes


def test_clean_upload_names_the_file_by_the_hash_of_the_clean_bytes():
    data = jpeg_bytes(width=64, height=48)

    first = clean_upload(SimpleUploadedFile("a.jpg", data))
    second = clean_upload(SimpleUploadedFile("informant-meeting.jpg", data))

    assert first.file.name == second.file.name == f"{first.sha256}.jpeg"
    assert first.sha256 == hashlib.sha256(first.file.read()).hexdigest()


def test_clean_upload_checks_the_size_before_reading(settings):
    settings.IMAGE_MAX_BYTES = 100

    class Unreadable(SimpleUploadedFile):
        def read(self, *args):
            raise AssertionError("read before the size check")

    with pytest.raises(ValidationError) as refused:
        clean_upload(Unreadable("big.jpg", os.urandom(200)))
    assert "over the 100\xa0bytes limit" in refused.value.messages[0]


# Security checks 37, 38 and 42: made-up hostile uploads beside the corpus's real ones.


def _zip_bytes():
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<script>alert(1)</script>")
    return buffer.getvalue()


def _gif_of_frames(count):
    frames = [PillowImage.new("P", (4, 4), index % 256) for index in range(count)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=10)
    return buffer.getvalue()


NOT_PICTURES = {
    "half-a-jpeg.jpg": lambda: jpeg_bytes()[: len(jpeg_bytes()) // 2],
    "random.jpg": lambda: os.urandom(1024),
    "page.png": lambda: b"<!doctype html><html><body><script>alert(1)</script></body></html>",
    "archive.jpg": _zip_bytes,
    "letter.pdf": lambda: b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
}


@pytest.mark.parametrize("name", NOT_PICTURES)
def test_what_is_not_a_picture_is_refused_whatever_its_name_and_type_say(
    client, editor, new_images, name
):
    client.force_login(editor)
    before = media_files()
    data = NOT_PICTURES[name]()
    response = client.post(
        ADD_URL,
        {
            # The browser (or an attacker) claims a JPEG whatever the bytes are.
            "file": SimpleUploadedFile(name, data, content_type="image/jpeg"),
            **{"alt": "Alt", "credit": "Credit", "licence": "", "ppoi": "0.5x0.5"},
        },
    )
    assert response.status_code == 200
    [error] = file_errors(response)
    expected = (
        "The file is damaged or incomplete"
        if name == "half-a-jpeg.jpg"
        else "This file is not an image we can use"
    )
    assert error.startswith(expected)
    assert not new_images().exists()
    assert media_files() == before


def test_an_animation_of_ten_thousand_frames_is_stored_as_its_first_frame(
    client, editor, new_images
):
    """GIF is accepted, and only its first frame is ever decoded: ten thousand more frames cost
    nothing but the bytes of the upload, which the byte limit bounds."""
    client.force_login(editor)
    assert upload(client, "flipbook.gif", _gif_of_frames(10_000)).status_code == 302
    [image] = new_images()
    with image.file.open("rb") as stored_file:
        stored = assert_clean_picture(stored_file.read())
    assert stored.size == (4, 4)


@pytest.mark.parametrize(
    "tail",
    [b"<html><script>alert(1)</script></html>", _zip_bytes()],
    ids=["html", "zip"],
)
def test_a_polyglot_is_stored_only_re_encoded(client, editor, new_images, tail):
    client.force_login(editor)
    data = jpeg_bytes(width=120, height=80) + tail
    assert upload(client, "holiday.jpg", data).status_code == 302
    [image] = new_images()
    with image.file.open("rb") as stored_file:
        stored_bytes = stored_file.read()
    assert b"<script" not in stored_bytes and b"PK\x03\x04" not in stored_bytes
    assert stored_bytes != data[: len(stored_bytes)]
    assert assert_clean_picture(stored_bytes).format == "JPEG"


HOSTILE_NAMES = [
    "../../etc/passwd.jpg",
    "..\\..\\x.jpg",
    "/etc/x.jpg",
    "photo.jpg.php",
    "a%00.jpg",
    "a\x00.php.jpg",
    "n" * 296 + ".jpg",
    "cat\u202egpj.exe",
    "CON.jpg",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_a_hostile_file_name_never_decides_where_or_how_a_picture_is_stored(
    client, editor, new_images, name
):
    client.force_login(editor)
    root = Path(settings.MEDIA_ROOT)
    beside_media = set(root.parent.iterdir())
    before = media_files()

    # Other pixels for each name, so that each upload is a new file (not the stored copy).
    colour = (HOSTILE_NAMES.index(name) * 20, 90, 140)
    assert upload(client, name, jpeg_bytes(width=90, height=60, colour=colour)).status_code == 302

    [image] = new_images()
    assert STORED_NAME.match(image.file.name), image.file.name
    assert media_files() - before == {Path(image.file.name)}
    assert (root / image.file.name).is_file()
    assert set(root.parent.iterdir()) == beside_media, "nothing written beside MEDIA_ROOT"
    assert not any(Path(path).exists() for path in ("/etc/x.jpg", "/etc/passwd.jpg", "/x.jpg"))
    # Nothing of the name is kept: not on the picture, not in its file's name.
    assert "passwd" not in image.file.name and "php" not in image.file.name
