"""Listings, author pages and static pages in a real browser: a reader finds their way, and
axe-core (which ships with axe-playwright-python; no network) finds no accessibility problem."""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    AuthorLinkFactory,
    ImageFactory,
    PageFactory,
    RegionFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def axe_violations(page):
    return [
        (violation["id"], [node["target"] for node in violation["nodes"]])
        for violation in Axe().run(page).response["violations"]
    ]


def test_reader_goes_from_a_byline_to_the_authors_older_stories(live_server, page):
    author = AuthorFactory(
        name="Nino Kapanadze",
        role="Politics correspondent, Tbilisi",
        photo=ImageFactory(rendered=True),
        bio="<p>Covers the courts.</p>",
    )
    AuthorLinkFactory(author=author, label="Mastodon", url="https://social.example/@nino")
    image = ImageFactory()
    now = timezone.now()
    for n in range(25):
        ArticleFactory(
            headline=f"Court story {n:02d}",
            authors=[author],
            regions=[RegionFactory(name="Georgia", slug="georgia")],
            hero_image=image,
            published_at=now - timedelta(days=n + 1),
        )

    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Court story 00").click()
    page.locator(".byline").get_by_role("link", name="Nino Kapanadze").click()

    page.wait_for_url("**/author/*/")
    assert page.get_by_role("heading", level=1).inner_text() == "Nino Kapanadze"
    assert axe_violations(page) == []
    pager = page.get_by_role("navigation", name="Pages")
    pager.get_by_role("link", name="Older").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/?page=2")
    assert page.get_by_role("link", name="Court story 24").is_visible()
    assert pager.get_by_role("link", name="Page 2").get_attribute("aria-current") == "page"
    assert axe_violations(page) == []


def test_static_page_and_region_listing_pass_axe(live_server, page):
    PageFactory(
        slug="privacy",
        title_en="Privacy",
        body_en="<h2>If you only read</h2><ul><li>We set no cookies.</li></ul>",
    )
    ArticleFactory(regions=[RegionFactory(name="Armenia", slug="armenia")])

    page.goto(live_server.url + "/region/armenia/")
    assert axe_violations(page) == []
    page.get_by_role("navigation", name="About the newsroom").get_by_role(
        "link", name="Privacy"
    ).click()

    page.wait_for_url("**/privacy/")
    assert page.get_by_role("heading", level=1).inner_text() == "Privacy"
    assert axe_violations(page) == []
