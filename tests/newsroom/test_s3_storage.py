"""Media on S3-compatible storage, by configuration only, against a local moto S3 server.

An editor's upload goes to the bucket (never to the local disk), the rendition task writes its
AVIF, WebP and JPEG files there, and the article page points the browser at the bucket, whose
origin the Content Security Policy allows. The storage settings come from running
newsroom/settings.py with the environment an operator would set.
"""

import io
import logging
import os
import re
import runpy
import secrets
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import boto3
import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer
from PIL import ExifTags
from PIL import Image as PillowImage
from storages.backends.s3 import S3Storage

from newsroom.models import Image
from newsroom.renditions import image_formats
from newsroom.storage import CACHE_CONTROL, MediaStorage, media_origins, s3_storage_options
from tests.factories import ArticleFactory, ImageFactory, jpeg_bytes
from tests.html import pictures

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "newsroom-test-media"
ADD_URL = "/admin/newsroom/image/add/"
SECRETS = [b"PhoneMaker", b"SN-12345678", b"2026:03:01"]
MEDIA_VARIABLES = [
    "MEDIA_S3_BUCKET",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_REGION_NAME",
    "AWS_S3_CUSTOM_DOMAIN",
    "AWS_LOCATION",
    "AWS_QUERYSTRING_AUTH",
]


@pytest.fixture(scope="module")
def s3():
    """moto's S3 on a free port of 127.0.0.1, fake credentials, and an empty bucket."""
    with pytest.MonkeyPatch.context() as env:
        # Only what the test sets: no developer profile, config file or real key leaks in.
        for name in [name for name in os.environ if name.startswith("AWS_")]:
            env.delenv(name)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")  # moto accepts any
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_CONFIG_FILE", os.devnull)
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        # One line per S3 request is noise in a failing test's output.
        werkzeug = logging.getLogger("werkzeug")
        level, werkzeug.level = werkzeug.level, logging.WARNING
        try:
            host, port = server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            yield SimpleNamespace(endpoint=endpoint, client=client)
        finally:
            werkzeug.setLevel(level)
            server.stop()


def settings_from_env(**variables):
    """The names newsroom/settings.py defines, run afresh with `variables` in the environment."""
    with pytest.MonkeyPatch.context() as env:
        # Empty, not deleted: settings read a local .env, which must not fill them in.
        for name in MEDIA_VARIABLES:
            env.setenv(name, "")
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            if name not in os.environ:
                env.setenv(name, "")
        for name, value in variables.items():
            env.setenv(name, value)
        return runpy.run_path(str(ROOT / "newsroom" / "settings.py"))


def use_media_settings(settings, **variables):
    """Switch the running test to the media storage and CSP that `variables` configure.

    The pytest-django `settings` fixture sends `setting_changed`, on which Django drops its
    cached storages (`storages` and the lazy `default_storage`), on the way in and out. Image.file
    was declared without a storage, so it holds `default_storage` itself and follows.
    """
    configured = settings_from_env(**variables)
    # Static files stay as the test settings have them (no manifest in tests).
    settings.STORAGES = {**settings.STORAGES, "default": configured["STORAGES"]["default"]}
    settings.SECURE_CSP = configured["SECURE_CSP"]
    assert Image._meta.get_field("file").storage is default_storage
    return configured


@pytest.fixture
def media_on_s3(s3, settings):
    configured = use_media_settings(
        settings, MEDIA_S3_BUCKET=BUCKET, AWS_S3_ENDPOINT_URL=s3.endpoint
    )
    assert isinstance(default_storage, MediaStorage)
    return configured


def bucket_keys(s3):
    pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return {item["Key"] for page in pages for item in page.get("Contents", ())}


def bucket_object(s3, key):
    return s3.client.get_object(Bucket=BUCKET, Key=key)


def media_files():
    root = Path(django_settings.MEDIA_ROOT)
    return {path for path in root.rglob("*") if path.is_file()}


def phone_photo():
    """A JPEG as a phone writes it: camera, serial number, time and place (GPS) in its EXIF."""
    exif = PillowImage.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, 43.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (44.0, 47.0, 3.0)
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.BodySerialNumber] = "SN-12345678"
    details[ExifTags.Base.DateTimeOriginal] = "2026:03:01 10:00:00"
    picture = PillowImage.merge(
        "RGB",
        [
            PillowImage.linear_gradient("L").resize((1800, 1200)),
            PillowImage.linear_gradient("L").rotate(90).resize((1800, 1200)),
            PillowImage.new("L", (1800, 1200), 120),
        ],
    )
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85, exif=exif)
    data = buffer.getvalue()
    assert PillowImage.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    return data


def upload(client, data, name="IMG_2041.jpg"):
    return client.post(
        ADD_URL,
        {
            "file": SimpleUploadedFile(name, data, content_type="image/jpeg"),
            "alt": "Protesters outside parliament at dusk",
            "credit": "Tamar Photographer",
            "licence": "",
            "ppoi": "0.5x0.5",
        },
    )


def srcset_urls(srcset):
    return [entry.strip().rsplit(" ", 1)[0] for entry in srcset.split(",")]


def img_src(response):
    policy = response["Content-Security-Policy"]
    return re.search(r"(?:^|;)\s*img-src ([^;]*)", policy)[1].split()


def origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.mark.django_db
def test_an_upload_is_stored_rendered_and_shown_from_the_bucket(
    client, editor, media_on_s3, s3, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    on_disk = media_files()

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, phone_photo())

    assert response.status_code == 302, response.content.decode()[:2000]
    image = Image.objects.get(alt="Protesters outside parliament at dusk")
    keys = bucket_keys(s3)

    # The cleaned original: in the bucket under AWS_LOCATION, with no EXIF or GPS, long-cached.
    assert f"media/{image.file.name}" in keys
    original = bucket_object(s3, f"media/{image.file.name}")
    assert original["CacheControl"] == CACHE_CONTROL
    data = original["Body"].read()
    stored = PillowImage.open(io.BytesIO(data))
    assert (stored.format, stored.size) == ("JPEG", (1800, 1200))
    assert not stored.getexif()
    assert all(secret not in data for secret in SECRETS)

    # The task built every rendition, into the bucket; each is a clean picture of its format.
    image.refresh_from_db()
    assert sorted(image.renditions) == sorted(image_formats())
    formats = {"avif": "AVIF", "webp": "WEBP"}
    for name in image.renditions:
        path = image.file._process_context(image.file.field.formats[name]).name
        assert f"media/{path}" in keys, name
        rendition = bucket_object(s3, f"media/{path}")
        assert rendition["CacheControl"] == CACHE_CONTROL
        with PillowImage.open(io.BytesIO(rendition["Body"].read())) as picture:
            picture.load()
            assert picture.format == formats.get(name.rpartition("_")[2], "JPEG"), name
            assert not picture.getexif(), name

    # Nothing of it touched the local disk.
    assert media_files() == on_disk

    # A reader's page offers the renditions from the bucket, and the CSP lets the browser load them.
    article = ArticleFactory(hero_image=image)
    client.logout()
    page = client.get(article.get_absolute_url())
    assert page.status_code == 200
    hero = pictures(page, within="figure")[0]
    avif = [source for source in hero.sources if source.get("type") == "image/avif"]
    assert avif, "the hero offers AVIF"
    urls = srcset_urls(avif[0]["srcset"])
    assert urls and all(url.startswith(f"{s3.endpoint}/{BUCKET}/media/") for url in urls)
    assert "X-Amz-Signature=" in urls[0]  # signed: a private bucket serves it
    allowed = img_src(page)
    for url in [*urls, *srcset_urls(hero.img["srcset"]), hero.img["src"]]:
        assert origin(url) in allowed, (url, allowed)
    assert allowed == ["'self'", s3.endpoint]

    with urllib.request.urlopen(urls[0], timeout=10) as fetched:
        assert fetched.status == 200
        assert fetched.headers["Content-Type"] == "image/avif"
        assert PillowImage.open(io.BytesIO(fetched.read())).format == "AVIF"


@pytest.mark.django_db
def test_the_same_picture_uploaded_twice_is_one_object_in_the_bucket(
    client, editor, media_on_s3, s3
):
    client.force_login(editor)
    data = phone_photo()

    assert upload(client, data).status_code == 302
    keys = bucket_keys(s3)
    assert upload(client, data).status_code == 302

    first, second = Image.objects.filter(alt="Protesters outside parliament at dusk")
    assert first.file.name == second.file.name
    assert bucket_keys(s3) == keys  # no "…_a8Xk2.jpeg" copy next to it


@pytest.fixture
def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
@pytest.mark.parametrize("problem", ["unreachable", "no credentials"])
def test_a_storage_problem_is_a_form_error_and_logged_not_a_server_error(
    client, editor, s3, settings, monkeypatch, caplog, closed_port, problem
):
    variables = {"MEDIA_S3_BUCKET": BUCKET, "AWS_S3_ENDPOINT_URL": s3.endpoint}
    if problem == "unreachable":
        variables["AWS_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{closed_port}"
    else:
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    use_media_settings(settings, **variables)
    client.force_login(editor)

    response = upload(client, phone_photo())

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["file"]
    assert "could not be stored" in errors[0]
    assert not Image.objects.exists()
    assert "media storage failed" in caplog.text


@pytest.mark.django_db
def test_without_credentials_pages_still_render_with_unsigned_urls(
    client, s3, settings, monkeypatch
):
    use_media_settings(settings, MEDIA_S3_BUCKET=BUCKET, AWS_S3_ENDPOINT_URL=s3.endpoint)
    image = ImageFactory(file=ContentFile(jpeg_bytes(1000, 700), name="w.jpg"), rendered=True)
    article = ArticleFactory(hero_image=image)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    use_media_settings(settings, MEDIA_S3_BUCKET=BUCKET, AWS_S3_ENDPOINT_URL=s3.endpoint)

    page = client.get(article.get_absolute_url())

    assert page.status_code == 200
    src = pictures(page, within="figure")[0].img["src"]
    assert src.startswith(f"{s3.endpoint}/{BUCKET}/media/") and "Signature" not in src


# The settings an operator writes, and the origins the CSP gets from them.


def test_without_a_bucket_media_stays_on_disk_and_the_csp_on_self():
    configured = settings_from_env()

    assert configured["STORAGES"]["default"] == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }
    assert configured["SECURE_CSP"]["img-src"] == ["'self'"]


def test_a_bucket_and_endpoint_configure_the_s3_storage_and_the_csp():
    configured = settings_from_env(
        MEDIA_S3_BUCKET="newsroom-media",
        AWS_S3_ENDPOINT_URL="https://fra1.digitaloceanspaces.com",
        AWS_S3_REGION_NAME="fra1",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="secret-example",
    )

    storage = configured["STORAGES"]["default"]
    assert issubclass(MediaStorage, S3Storage)
    assert storage["BACKEND"] == "newsroom.storage.MediaStorage"
    assert storage["OPTIONS"] == {
        "bucket_name": "newsroom-media",
        "endpoint_url": "https://fra1.digitaloceanspaces.com",
        "region_name": "fra1",
        "custom_domain": None,
        "location": "media",
        "querystring_auth": True,
        "signature_version": "s3v4",
        "file_overwrite": False,
        "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
    }
    assert "secret-example" not in repr(configured["STORAGES"])  # boto3 reads it itself
    assert configured["SECURE_CSP"]["img-src"] == ["'self'", "https://fra1.digitaloceanspaces.com"]
    assert "https://fra1.digitaloceanspaces.com" in configured["ADMIN_CSP"]["img-src"]


def test_a_cdn_domain_gives_plain_urls_and_is_the_csp_origin():
    configured = settings_from_env(
        MEDIA_S3_BUCKET="newsroom-media",
        AWS_S3_CUSTOM_DOMAIN="media.news.example",
        AWS_LOCATION="/",
    )

    options = configured["STORAGES"]["default"]["OPTIONS"]
    assert options["querystring_auth"] is False
    assert options["location"] == ""
    assert configured["SECURE_CSP"]["img-src"] == ["'self'", "https://media.news.example"]


@pytest.mark.parametrize(
    "variables",
    [
        {"AWS_S3_CUSTOM_DOMAIN": "media.news.example"},
        {"AWS_S3_CUSTOM_DOMAIN": "cdn.example.net/newsroom"},
        {"AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000"},
        {"AWS_S3_ENDPOINT_URL": "http://localhost:9000"},
        {"AWS_S3_ENDPOINT_URL": "https://minio.internal:9443/"},
        {"AWS_S3_ENDPOINT_URL": "https://s3.eu-central-003.backblazeb2.com"},
        {"AWS_S3_ENDPOINT_URL": "https://abc123.r2.cloudflarestorage.com"},
        {},
        {"AWS_S3_REGION_NAME": "eu-central-1"},
        {"AWS_DEFAULT_REGION": "eu-west-3"},
        {"MEDIA_S3_BUCKET": "media.news.example"},
        {"MEDIA_S3_BUCKET": "media.news.example", "AWS_S3_REGION_NAME": "eu-central-1"},
        {"AWS_QUERYSTRING_AUTH": "0", "AWS_S3_REGION_NAME": "ap-south-1"},
    ],
    ids=repr,
)
def test_the_csp_origin_is_where_django_storages_points_media_urls(monkeypatch, variables):
    """Compared with the URLs S3Storage builds (signing is local: no network is needed)."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    environ = {"MEDIA_S3_BUCKET": "newsroom-media", **variables}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    options = s3_storage_options(environ)
    storage = S3Storage(**options)
    allowed = media_origins(options, environ)

    for name in ["images/ab/" + "ab" * 32 + ".jpeg", "__processed__/abc/def/x-0123456789ab.avif"]:
        assert origin(storage.url(name)) in allowed, (storage.url(name), allowed)


def test_the_site_starts_and_passes_deploy_checks_with_a_bucket_and_no_credentials():
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "NEWSROOM_", "PYTEST_", "AWS_"))
    }
    env |= {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "news.example",
        "MEDIA_S3_BUCKET": "newsroom-media",
        "EMAIL_URL": "smtp+tls://newsroom:secret@mail.example:587",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
