"""What a reader on a small screen downloads."""

import pytest
from django.core.files.base import ContentFile

from tests.factories import ArticleFactory, ImageFactory, jpeg_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_400px_screen_fetches_a_modern_rendition_of_at_most_640px(live_server, chromium):
    image = ImageFactory(file=ContentFile(jpeg_bytes(2400, 1600), name="big.jpg"), rendered=True)
    article = ArticleFactory(hero_image=image, slug="small-screen")
    context = chromium.new_context(viewport={"width": 400, "height": 800}, device_scale_factor=1)
    page = context.new_page()
    fetched = []
    page.on("requestfinished", lambda request: fetched.append(request.url))

    page.goto(live_server.url + article.get_absolute_url(), wait_until="load")

    hero = page.locator("figure img")
    assert hero.evaluate("img => img.complete && img.naturalWidth") <= 640
    assert hero.evaluate("img => img.currentSrc").endswith(".avif")
    media = [url for url in fetched if "/media/" in url]
    assert media == [live_server.url + image.file.w640_avif]
    context.close()
