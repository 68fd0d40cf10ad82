"""Others' bad inputs, copied into the project so that a lone clone passes its tests.

Each folder's SOURCES.md names the repository, commit, path and licence of every file, and
LICENSES.md holds the licence texts. Tests read the corpus only through this module.
"""

import json
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent
IMAGES = ROOT / "images"
STRIPE_EVENTS = ROOT / "stripe" / "events"


def lines(path):
    """The lines of a UTF-8 file, split on "\\n" only: some hold a form feed, U+2028 or other
    characters that str.splitlines() would also treat as line ends."""
    return path.read_bytes().decode("utf-8").split("\n")


@cache
def image_manifest():
    """{file name: case} of images/manifest.json; each case's "expect" is accept, reject or
    accept_or_reject."""
    files = json.loads((IMAGES / "manifest.json").read_text(encoding="utf-8"))["files"]
    return {case["file"]: case for case in files}


def image_bytes(name):
    return (IMAGES / name).read_bytes()


@cache
def xss_payloads():
    """The 264 XSS vectors of xss/payloads.txt, exactly as published (leading and trailing
    spaces matter), without blank lines."""
    return [line for line in lines(ROOT / "xss" / "payloads.txt") if line.strip()]


@cache
def event_handler_names():
    """The 114 `on*` attribute names of xss/event_handlers.txt."""
    return [line.strip() for line in lines(ROOT / "xss" / "event_handlers.txt") if line.strip()]


@cache
def naughty_strings():
    """The Big List of Naughty Strings: every line of strings/blns.txt that is neither empty nor
    a section comment (`#`), exactly as published (some have leading or trailing white space)."""
    return [
        line for line in lines(ROOT / "strings" / "blns.txt") if line and not line.startswith("#")
    ]


@cache
def isemail_cases():
    """The is_email test set as [{"id", "address", "category", "diagnosis"}], each address as
    the set writes it: ASCII control characters as U+2400-block symbols."""
    return json.loads((ROOT / "strings" / "isemail-addresses.json").read_text(encoding="utf-8"))


def with_control_characters(address):
    """An is_email address with its U+2400-block symbols made the control characters they
    stand for."""
    return "".join(
        chr(ord(char) - 0x2400)
        if 0x2400 <= ord(char) < 0x2420
        else "\x7f"
        if char == "\u2421"
        else char
        for char in address
    )


@cache
def stripe_fixtures():
    """Stripe's own example object of each API resource: {"resources": {name: object}}."""
    return json.loads((ROOT / "stripe" / "fixtures3.json").read_text(encoding="utf-8"))


def stripe_event_files():
    """File names of the recorded webhook payloads in stripe/events/."""
    return sorted(path.name for path in STRIPE_EVENTS.glob("*.json"))


def stripe_event_payload(name):
    """One recorded payload: a whole event (`<type>.json`) or only its data member
    (`<type>--<variant>.data.json`)."""
    return json.loads((STRIPE_EVENTS / name).read_text(encoding="utf-8"))
