"""What a reader clicks, in a real browser."""

import pytest

from tests.factories import ArticleFactory, ImageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reader_opens_an_article_from_the_home_page(live_server, page):
    ArticleFactory(headline="An older story")
    ArticleFactory(
        headline="Snow closes the mountain pass",
        slug="snow-closes-the-mountain-pass",
        hero_image=ImageFactory(alt="A snowplough on a mountain road", credit="Levan Photographer"),
        hero_caption="A snowplough clears the road near the pass",
    )

    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Snow closes the mountain pass").click()

    page.wait_for_url("**/snow-closes-the-mountain-pass/")
    assert page.get_by_role("heading", level=1).inner_text() == "Snow closes the mountain pass"
    hero = page.locator("figure").first
    assert hero.locator("img").get_attribute("alt") == "A snowplough on a mountain road"
    assert hero.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
    caption = hero.locator("figcaption")
    assert caption.is_visible()
    assert caption.inner_text() == (
        "A snowplough clears the road near the pass. Image: Levan Photographer."
    )
