"""The article page's metadata and language links in a real browser, under the site's CSP."""

import json

import pytest

from tests.factories import ArticleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_json_ld_is_read_without_breaking_the_content_security_policy(live_server, page):
    article = ArticleFactory(headline='A "quoted" </script> headline')
    messages = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))

    page.goto(live_server.url + article.get_absolute_url())

    data = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert data["headline"] == 'A "quoted" </script> headline'
    assert page.get_by_role("heading", level=1).inner_text() == data["headline"]
    assert not [message for message in messages if "Content Security Policy" in message]


def test_reader_switches_to_the_storys_russian_edition(live_server, page):
    original = ArticleFactory(headline="The pass reopens", slug="the-pass-reopens")
    ArticleFactory(
        headline="Перевал открыт", slug="pereval-otkryt", language="ru", translation_of=original
    )

    page.goto(live_server.url + original.get_absolute_url())
    page.locator(".languages").get_by_role("link", name="Русский").click()

    page.wait_for_url("**/ru/**/pereval-otkryt/")
    assert page.get_by_role("heading", level=1).inner_text() == "Перевал открыт"
    page.locator(".languages").get_by_role("link", name="English").click()
    page.wait_for_url("**/the-pass-reopens/")
