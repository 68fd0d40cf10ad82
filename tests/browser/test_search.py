"""Searching from the header box, in a real browser."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.factories import ArticleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reader_searches_from_the_header_and_opens_a_result(live_server, page):
    ArticleFactory(headline="Parliament passes the budget")
    ArticleFactory(
        headline="Drought empties the reservoirs",
        slug="drought-empties-the-reservoirs",
        body="<p>Farmers say the drought is the worst in decades.</p>",
    )

    page.goto(live_server.url + "/")
    page.get_by_role("searchbox", name="Search stories").fill("drought")
    page.keyboard.press("Enter")

    page.wait_for_url("**/search/?q=drought")
    assert page.get_by_role("heading", level=2).inner_text() == "Stories matching “drought”"
    results = page.locator(".search-results > li")
    assert results.count() == 1
    assert "drought" in results.locator("mark").first.inner_text().lower()
    assert page.get_by_role("searchbox", name="Search for").input_value() == "drought"
    violations = Axe().run(page).response["violations"]
    assert [violation["id"] for violation in violations] == []

    page.get_by_role("link", name="Drought empties the reservoirs").click()
    page.wait_for_url("**/drought-empties-the-reservoirs/")
