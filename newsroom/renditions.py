"""Renditions of library images: which sizes and formats exist, and how pages offer them.

Renditions are built off the request path (`Image.build_renditions()`, run by a task after an
upload and by `manage.py build_renditions`). Pages only offer what `Image.renditions` records as
built, so a missing rendition falls back to the nearest one that exists, or to the cleaned
original, and a page never waits for image processing.

What a page offers of an image (`picture()`: addresses, srcset, intrinsic size) is worked out
once per image, file and set of renditions in each process and kept (`remembered()`), not for
every card of every request: a new file or a new rendition is a new key. Nothing is kept while
media addresses expire (S3 with signed URLs, `stable_media_address()`).
"""

import threading
from dataclasses import dataclass

from django.core.files.storage import default_storage
from imagefield.processing_pillow import register_pillow
from PIL import Image

# Widths of the free-ratio renditions (article pages), of the 3:2 cards (listings), and the size
# of the social-media picture that link previews use.
WIDTHS = (320, 640, 960, 1280, 1600)
CARD_WIDTHS = (320, 640, 960)
SOCIAL_SIZE = (1200, 630)

# Modern formats first: a browser takes the first <source> it supports.
MODERN_FORMATS = {
    "avif": ("image/avif", {"quality": 55, "speed": 8}),
    "webp": ("image/webp", {"quality": 78, "method": 4}),
}


def _encoder(image_format, options):
    def processor_factory(get_image):
        def processor(image, context):
            # Set before the inner processors run, so the JPEG-only steps skip themselves.
            context.save_kwargs["format"] = image_format
            image = get_image(image, context)
            context.save_kwargs.update(options)
            return image

        return processor

    processor_factory.__name__ = f"encode_{image_format.lower()}"
    return register_pillow(processor_factory)


for _name, (_mime, _options) in MODERN_FORMATS.items():
    _encoder(_name.upper(), _options)
# Link previews (OpenGraph, X, messengers) read JPEG everywhere; some refuse PNG or AVIF.
_encoder("JPEG", {"quality": 85, "optimize": True, "progressive": True})


@register_pillow
def flatten(get_image):
    """A transparent picture on white: JPEG has no transparency, and converting to RGB would
    show whatever colour the transparent pixels hold (usually black)."""

    def processor(image, context):
        if image.mode in ("RGBA", "LA", "P", "PA"):
            image = image.convert("RGBA")
            background = Image.new("RGB", image.size, "white")
            background.paste(image, mask=image.getchannel("A"))
            image = background
        return get_image(image, context)

    return processor


def _in_format(name, processors):
    """An imagefield spec that writes `processors`' result as `name` (avif, webp or jpeg)."""

    def spec(fieldfile, context):
        context.extension = f".{name}"
        context.processors = [f"encode_{name}", *processors]

    spec.__name__ = f"as_{name}"
    return spec


def _variants(prefix, width, processors):
    """The rendition in the original's format plus one per modern format."""
    specs = {f"{prefix}{width}": processors}
    for name in MODERN_FORMATS:
        specs[f"{prefix}{width}_{name}"] = _in_format(name, processors)
    return specs


def image_formats():
    """The `formats` of `Image.file`: every rendition name and how to build it."""
    formats = {}
    for width in WIDTHS:
        # A tall box: the width decides; portrait pictures keep their height.
        formats |= _variants("w", width, ["default", ("thumbnail", (width, width * 4))])
    for width in CARD_WIDTHS:
        formats |= _variants("card", width, ["default", ("crop", (width, width * 2 // 3))])
    # The name carries the format: a rendition's file name changes with its recipe, so a new
    # format is a new name, which `missing_renditions` reports and `build_renditions` builds.
    formats["social_jpeg"] = _in_format("jpeg", ["flatten", "default", ("crop", SOCIAL_SIZE)])
    # django-imagefield's admin widget shows this one next to the focal-point picker.
    formats["preview"] = ["default", ("thumbnail", (320, 320))]
    return formats


@dataclass(frozen=True)
class Source:
    type: str
    srcset: str


@dataclass(frozen=True)
class Picture:
    """What a `<picture>` needs: modern sources, the fallback `<img>` and its intrinsic size."""

    src: str
    width: int
    height: int
    srcset: str = ""
    sources: tuple[Source, ...] = ()


# The name whose address tells how media addresses are built (a base URL, a CDN domain…).
_PROBE = "newsroom-media-address"


def stable_media_address():
    """The address the media storage gives a sample name, which changes with any setting that
    changes media addresses (MEDIA_URL, an S3 bucket or CDN domain); None when addresses expire
    (S3's signed URLs), so that nothing keeps them."""
    if getattr(default_storage, "querystring_auth", False):
        return None
    return default_storage.url(_PROBE)


# What `remembered()` keeps in this process: pictures, their markup and the rendered fragments
# of newsroom.object_cache, at most this many; all are dropped at once past it.
_REMEMBERED_MAX = 10_000
_remembered = {}
_remembered_lock = threading.Lock()


#: What `image_key()` reads of an image besides its id, by field name (for a query's values).
IMAGE_KEY_FIELDS = ("file", "width", "height", "ppoi", "renditions")


def image_key(image):
    """What a picture of `image` depends on: its file, size, focal point (rendition names
    carry it), built renditions and the way media addresses are built; None when it must not
    be kept (addresses expire)."""
    file = image.file.name
    return image_key_of(
        image.pk,
        file,
        image.width,
        image.height,
        image.ppoi,
        image.renditions,
        media=stable_media_address(),
    )


def image_key_of(pk, file, width, height, ppoi, renditions, *, media):
    """`image_key()` of the image `pk` from its stored `IMAGE_KEY_FIELDS`, for a query that
    reads them without loading the image; `media` is `stable_media_address()`, asked once
    for all the images of a page (it costs a storage's URL, about 9 µs)."""
    if media is None:
        return None
    return (pk, file, width, height, ppoi, tuple(sorted(renditions or ())), media)


def remembered(key, build):
    """`build()`, kept in this process under `key` (None: never kept). Any change to what
    the value depends on must change the key: nothing here expires."""
    if key is None:
        return build()
    found = _remembered.get(key)
    if found is None:
        found = build()
        with _remembered_lock:
            if len(_remembered) >= _REMEMBERED_MAX:
                _remembered.clear()
            _remembered[key] = found
    return found


def picture(image, kind="w", preferred=960):
    """The `Picture` for `image` from the renditions it has.

    `kind` is "w" (the picture's own ratio) or "card" (3:2 crops). The fallback `<img src>` is
    the built rendition whose width is nearest `preferred`; without any, the cleaned original.
    Worked out once per image, file and set of renditions (`remembered()`).
    """
    key = image_key(image)
    return remembered(
        key and ("picture", kind, preferred, *key), lambda: _picture(image, kind, preferred)
    )


def _picture(image, kind, preferred):
    built = set(image.renditions or ())
    widths = WIDTHS if kind == "w" else CARD_WIDTHS
    original_width = image.width or max(widths)

    def srcset(suffix):
        entries, seen = [], set()
        for width in widths:
            if f"{kind}{width}{suffix}" not in built:
                continue
            # Renditions never upscale a free-ratio picture: a small one stays its own size.
            shown = min(width, original_width) if kind == "w" else width
            if shown not in seen:
                seen.add(shown)
                entries.append((getattr(image.file, f"{kind}{width}{suffix}"), shown))
        return entries

    if kind == "w":
        width, height = image.width, image.height
    else:
        width, height = preferred, preferred * 2 // 3

    fallback = srcset("")
    if not fallback:
        return Picture(src=image.file.url, width=width, height=height)
    src = min(fallback, key=lambda entry: abs(entry[1] - preferred))[0]
    sources = []
    for name, (mime, _options) in MODERN_FORMATS.items():
        if entries := srcset(f"_{name}"):
            sources.append(Source(mime, ", ".join(f"{url} {w}w" for url, w in entries)))
    return Picture(
        src=src,
        width=width,
        height=height,
        srcset=", ".join(f"{url} {w}w" for url, w in fallback),
        sources=tuple(sources),
    )


def social_picture(image):
    """The picture that link previews and search results show (og:image, JSON-LD): the
    1200×630 crop; until it is built, the widest 3:2 card, else the cleaned original."""
    built = set(image.renditions or ())
    if "social_jpeg" in built:
        return Picture(src=image.file.social_jpeg, width=SOCIAL_SIZE[0], height=SOCIAL_SIZE[1])
    for width in sorted(CARD_WIDTHS, reverse=True):
        if f"card{width}" in built:
            return Picture(
                src=getattr(image.file, f"card{width}"), width=width, height=width * 2 // 3
            )
    return Picture(src=image.file.url, width=image.width, height=image.height)
