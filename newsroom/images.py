"""The one safe way in for pictures: check an upload, decode it fully, and store a clean copy.

A photo can hurt the person in it or the person who took it: a phone writes the place (GPS), the
time and the camera's serial number into the file, and editing tools add names and comments. So
an upload is never stored as it came. `clean_upload()` refuses what is too big or not a picture we
can use, decodes every pixel of the first frame (truncated and damaged files fail here, not later
in a rendition task), turns the picture upright by its EXIF orientation, brings its colours to sRGB
and encodes a new file that carries no metadata at all: no EXIF, GPS, XMP, IPTC, comments, text
chunks or ICC profile. The stored name is the SHA-256 of those clean bytes, so the same picture
uploaded twice is one file in storage (`use_stored_copy()`), and nothing of the upload's own name
(which can itself say too much: "informant-meeting-3.jpg") survives.

Every upload path (the admin's form, the body editor's JSON endpoint) goes through here, and
every file upload of the site passes `PictureSizeLimit` (settings.FILE_UPLOAD_HANDLERS) first.
"""

import hashlib
import io
import logging
import posixpath
import re
import struct
import warnings
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageMath, ImageOps, UnidentifiedImageError

#: The formats Pillow may try when opening an upload. Restricting the plugins keeps every other
#: decoder (EPS through Ghostscript, PSD, ICO, the many legacy formats) away from untrusted bytes.
#: MPO (stereo and multi-picture JPEGs from cameras) is opened by the JPEG plugin.
OPEN_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "TIFF")
ACCEPTED_FORMATS = {*OPEN_FORMATS, "MPO"}

JPEG_OPTIONS = {"quality": 90, "optimize": True, "progressive": True}

#: What a failed decode raises in Pillow: OSError (truncated, broken; UnidentifiedImageError is
#: one), ValueError (a PNG text-chunk bomb), SyntaxError/struct.error/EOFError/IndexError/
#: TypeError/KeyError from plugins reading malformed headers, and the decompression-bomb pair.
DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    TypeError,
    KeyError,
    ZeroDivisionError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)

#: HEIF brands written by phones (iPhone photos are HEIC); Pillow has no decoder for them.
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}

logger = logging.getLogger(__name__)

HASHED_NAME = re.compile(r"^[0-9a-f]{64}\.[a-z0-9]+$")

_srgb = None


@dataclass(frozen=True)
class CleanedImage:
    """A clean, re-encoded picture ready to be assigned to `Image.file`."""

    file: ContentFile  # named "<sha256>.jpeg" or "<sha256>.png"
    width: int
    height: int
    format: str  # "JPEG" or "PNG"

    @property
    def sha256(self):
        return self.file.name.split(".", 1)[0]


def image_upload_to(instance, filename):
    """Where `Image.file` is stored: `images/<first two hex>/<sha256>.<ext>` for clean uploads.

    Files saved by code rather than uploaded (the demo's drawings, test factories) keep their
    name under the year and month, as before.
    """
    name = posixpath.basename(filename)
    if HASHED_NAME.match(name):
        return f"images/{name[:2]}/{name}"
    return datetime.now().strftime("images/%Y/%m/") + name


def use_stored_copy(image):
    """Point `image.file` at the stored file when the same clean bytes are already in storage.

    Call it after a `CleanedImage.file` was assigned and before saving: the name is the hash of
    the content, so an existing file at that path is this very picture, and saving it again would
    only leave a second copy under a suffixed name. Returns True when the stored copy is reused.
    """
    fieldfile = image.file
    if not fieldfile or getattr(fieldfile, "_committed", True):
        return False  # nothing new to store
    if not HASHED_NAME.match(posixpath.basename(fieldfile.name)):
        return False
    path = fieldfile.field.generate_filename(image, fieldfile.name)
    if not fieldfile.storage.exists(path):
        return False
    image.file = path  # a stored name: nothing is written, width/height are read back from it
    return True


def check_storage(image):
    """`use_stored_copy()` while a form can still refuse (called by `Image.clean()`).

    This is the first time an upload meets the media storage. A bucket that cannot be reached or
    that refuses our credentials becomes an error on the file field, and the cause goes to the
    log for the administrators, instead of a server error once the form has been accepted.
    """
    try:
        return use_stored_copy(image)
    except Exception:
        # Any exception: boto3's errors, OSError from a disk, a proxy's odd answer; all mean the
        # same thing to the editor, and the log keeps the traceback.
        logger.exception(
            "The media storage failed while storing an upload (check MEDIA_S3_BUCKET, "
            "AWS_S3_ENDPOINT_URL and the AWS credentials, or DJANGO_MEDIA_ROOT)"
        )
        raise ValidationError(
            {
                "file": _(
                    "The picture could not be stored: the media storage did not answer or "
                    "refused access. Nothing was saved. Try again in a few minutes; if it keeps "
                    "happening, tell the site's administrators (the cause is in the server log)."
                )
            },
            code="storage_unavailable",
        ) from None


class OversizedUpload(UploadedFile):
    """What `PictureSizeLimit` hands the form instead of a file over `IMAGE_MAX_BYTES`.

    It holds no content, only the size the upload had, so `clean_upload()` refuses it with
    the same message (the file's size and the limit) before reading anything.
    """

    def __init__(self, name, content_type, size):
        super().__init__(io.BytesIO(), name, content_type, size)


class PictureSizeLimit(FileUploadHandler):
    """An upload handler that stops storing a file as soon as it passes `IMAGE_MAX_BYTES`.

    Django's own handlers write every uploaded byte to memory or a temporary file before any
    form sees it: up to the proxy's limit (30 MB with the shipped nginx) for a picture that
    will be refused. This one comes first in the chain: it passes the chunks on while the file
    is within the limit, and from the chunk that would take it over, it passes nothing more,
    closes (deletes) what the next handlers hold, and counts the rest of the file without
    keeping it. The upload then reaches the form as an `OversizedUpload` of the real size.

    It does not raise `StopUpload`: the parser would drop every field after the file (the alt
    text and credit the editor typed), and `connection_reset=True` makes browsers show a
    network error instead of the form. The rest of the body is read and thrown away, so the
    form can say why, with nothing written beyond the limit. Every file this site accepts is a
    picture, so the limit holds for every upload.
    """

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.limit = settings.IMAGE_MAX_BYTES
        self.received = 0
        self.over_limit = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.over_limit:
            return None
        if self.received > self.limit:
            self.over_limit = True
            # As MultiPartParser._close_files(): a closed temporary file is deleted.
            for handler in self.request.upload_handlers:
                if handler is not self and hasattr(handler, "file"):
                    handler.file.close()
            return None
        return raw_data

    def file_complete(self, file_size):
        if not self.over_limit:
            return None  # the next handler's file, as usual
        return OversizedUpload(self.file_name, self.content_type, self.received)


def clean_upload(uploaded_file):
    """Check, decode and re-encode an uploaded picture; return a `CleanedImage`.

    Raises `ValidationError` with a message for the editor when the file cannot be used.
    """
    max_bytes = settings.IMAGE_MAX_BYTES
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > max_bytes:
        raise _too_many_bytes(size, max_bytes)
    uploaded_file.seek(0)
    data = uploaded_file.read(max_bytes + 1)
    uploaded_file.seek(0)
    if len(data) > max_bytes:
        raise _too_many_bytes(len(data), max_bytes)
    if not data:
        raise ValidationError(_("The file is empty."), code="empty")

    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice its limit: make that a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = _decode(data)
    except ValidationError:
        raise
    except UnidentifiedImageError:
        raise _not_an_image(data) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        found = re.search(r"\((\d+) pixels\)", str(error))
        raise _too_many_pixels(int(found[1]) if found else None) from None
    except DECODE_ERRORS:
        # Logged with the traceback: a bug of ours would look like a damaged file to the editor.
        logger.info("Refused an upload that Pillow could not decode", exc_info=True)
        raise ValidationError(
            _(
                "The file is damaged or incomplete, so the picture cannot be read in full. "
                "Export or download it again and upload the new file."
            ),
            code="damaged",
        ) from None

    return _encode(picture)


def _decode(data):
    """The upright, fully decoded first frame of the picture, in mode RGB or RGBA, in sRGB."""
    image = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
    if image.format not in ACCEPTED_FORMATS:  # pragma: no cover - `formats` already limits it
        raise UnidentifiedImageError(image.format)
    # Before any pixel is decoded: Pillow's own bomb check uses its global limit, ours is the
    # site's setting (whichever is lower refuses).
    width, height = image.size
    if width * height > settings.IMAGE_MAX_PIXELS:
        raise _too_many_pixels(width * height, image.size)
    if width < 1 or height < 1:
        raise ValueError("empty image")

    image.seek(0)  # animated GIF/PNG/WebP, MPO, multi-page TIFF: the first frame is the picture
    image.load()  # a full decode: truncated or corrupt data fails here, not in a rendition task
    icc_profile = image.info.get("icc_profile")
    transparency = image.info.get("transparency")
    has_alpha = image.has_transparency_data

    try:
        ImageOps.exif_transpose(image, in_place=True)  # in place: one copy fewer of a big photo
    except DECODE_ERRORS:
        pass  # EXIF too broken to read: Pillow ignores it elsewhere too, and so do we

    if image.mode.startswith(("I", "F")):
        image = _to_eight_bits(image, transparency)
    if icc_profile and image.mode in ("RGB", "RGBA", "L", "CMYK"):
        image = _to_srgb(image, icc_profile)

    mode = "RGBA" if has_alpha or image.mode in ("RGBA", "LA", "PA", "RGBa", "La") else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    if mode == "RGBA" and image.getchannel("A").getextrema()[0] == 255:
        image = image.convert("RGB")  # an alpha channel that hides nothing: a photo after all
    return image


def _to_eight_bits(image, transparency):
    """16-bit (and 32-bit) greyscale to 8 bits by scaling; Pillow's convert("L") clips at 255."""
    wide = image if image.mode == "I" else image.convert("I")
    grey = wide.point(lambda value: value * (1 / 257)).convert("L")
    if not isinstance(transparency, int):
        return grey
    alpha = ImageMath.lambda_eval(lambda args: (args["v"] != transparency) * 255, v=wide)
    return Image.merge("LA", (grey, alpha.convert("L")))


def _to_srgb(image, icc_profile):
    """Convert from the embedded ICC profile to sRGB (CMYK, Adobe RGB, Display P3, grey…)."""
    global _srgb
    if _srgb is None:
        _srgb = ImageCms.createProfile("sRGB")
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.profileToProfile(
            image, source, _srgb, outputMode="RGBA" if image.mode == "RGBA" else "RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A profile that does not fit the pixels or cannot be read: plain conversion below.
        return image


def _encode(image):
    """A new file holding only pixels: PNG when transparency matters, JPEG otherwise."""
    # A fresh image carries no `info` (EXIF, XMP, comments, ICC, text chunks) from the upload,
    # and nothing is passed to save() that would add some.
    clean = Image.new(image.mode, image.size)
    clean.paste(image, (0, 0))
    buffer = io.BytesIO()
    if clean.mode == "RGBA":
        fmt, extension = "PNG", "png"
        clean.save(buffer, fmt)
    else:
        fmt, extension = "JPEG", "jpeg"  # django-imagefield names files by format: ".jpeg"
        clean.save(buffer, fmt, **JPEG_OPTIONS)
    data = buffer.getvalue()
    name = f"{hashlib.sha256(data).hexdigest()}.{extension}"
    return CleanedImage(ContentFile(data, name=name), clean.width, clean.height, fmt)


def _human_pixels(count):
    if count >= 1_000_000:
        value = count / 1_000_000
        return _("%(value)s megapixels") % {
            "value": f"{value:.0f}" if value >= 10 or value.is_integer() else f"{value:.1f}"
        }
    return _("%(value)s pixels") % {"value": f"{count:,}"}


def _too_many_bytes(size, limit):
    return ValidationError(
        _(
            "The file is %(size)s, over the %(limit)s limit. "
            "Export a smaller version of the picture and upload that."
        )
        % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
        code="file_too_big",
    )


def _too_many_pixels(count, dimensions=None):
    limit = settings.IMAGE_MAX_PIXELS
    found = _human_pixels(count) if count else _("more pixels than we can handle")
    if dimensions:
        found += " (%d × %d)" % dimensions
    return ValidationError(
        _(
            "The image is too large: %(found)s, the limit is %(limit)s. "
            "Make it smaller and upload it again."
        )
        % {"found": found, "limit": _human_pixels(limit)},
        code="too_many_pixels",
    )


def _not_an_image(data):
    if _heif_brands(data) & HEIF_BRANDS:
        return ValidationError(
            _(
                "HEIC photos (the iPhone's usual format) cannot be used yet. Upload a JPEG "
                "instead: export the photo as JPEG, or set the iPhone's Settings › Camera › "
                "Formats to “Most Compatible”."
            ),
            code="heic",
        )
    return ValidationError(
        _(
            "This file is not an image we can use (SVG and documents are not accepted): "
            "upload a JPEG, PNG, WebP, AVIF or GIF."
        ),
        code="not_an_image",
    )


def _heif_brands(data):
    """The major and compatible brands of an ISO media file's `ftyp` box (empty if none)."""
    if data[4:8] != b"ftyp":
        return set()
    end = min(int.from_bytes(data[:4], "big"), len(data), 256)
    return {data[8:12]} | {data[i : i + 4] for i in range(16, end - 3, 4)}
