"""Check 36: small files that declare huge pictures are refused by both upload paths (the
admin's picture form and the body editor's upload) before any pixel is decoded: a form or
JSON error, nothing in MEDIA_ROOT, and the process's peak memory barely moves."""

import functools
import resource
import struct
import zlib

import pytest

from newsroom.models import Image
from tests.newsroom.test_body import LIBRARY_URL, upload_data
from tests.newsroom.test_image_uploads import file_errors, media_files, upload

pytestmark = pytest.mark.django_db


def black_png(width, height):
    """A one-bit black PNG of `width` × `height`, compressed as it is written: a few KB that
    would take width × height pixels of memory to decode."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the row's bits
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


# The check's two files: (width, height, the most KB the file may be).
BOMBS = {"20000x20000": (20_000, 20_000, 60), "10000x10000": (10_000, 10_000, 16)}


@functools.cache
def bomb_file(bomb):
    width, height, most_kb = BOMBS[bomb]
    data = black_png(width, height)
    assert len(data) < most_kb * 1024
    return data


def peak_memory_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("bomb", BOMBS)
def test_a_pixel_bomb_is_refused_by_the_picture_form(client, editor, bomb):
    data = bomb_file(bomb)
    client.force_login(editor)
    before, peak = media_files(), peak_memory_mb()

    response = upload(client, f"{bomb}.png", data)

    assert response.status_code == 200
    [error] = file_errors(response)
    assert error.startswith("The image is too large:") and "the limit is 60 megapixels" in error
    assert not Image.objects.exists()
    assert media_files() == before
    assert peak_memory_mb() - peak < 100


@pytest.mark.parametrize("bomb", BOMBS)
def test_a_pixel_bomb_is_refused_by_the_body_editors_upload(client, editor, bomb):
    data = bomb_file(bomb)
    client.force_login(editor)
    before, peak = media_files(), peak_memory_mb()

    response = client.post(LIBRARY_URL, upload_data(f"{bomb}.png", data))

    assert response.status_code == 400
    [error] = response.json()["errors"]["file"]
    assert error.startswith("The image is too large:")
    assert not Image.objects.exists()
    assert media_files() == before
    assert peak_memory_mb() - peak < 100
