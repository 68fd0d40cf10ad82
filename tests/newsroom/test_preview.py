"""Signed preview links: a draft for a reviewer with no account, never indexed or cached."""

import time
from unittest import mock

import pytest
from django.core import signing

from newsroom.models import Article
from newsroom.preview import preview_path
from tests.admin_forms import change_url
from tests.factories import ArticleFactory
from tests.html import visible_text

pytestmark = pytest.mark.django_db


def draft(**fields):
    return ArticleFactory(status=Article.Status.DRAFT, published_at=None, **fields)


def test_preview_link_opens_a_draft_for_someone_not_logged_in(client):
    article = draft(headline="The investigation, before the lawyers read it")

    response = client.get(preview_path(article))

    assert response.status_code == 200
    text = visible_text(response)
    assert "The investigation, before the lawyers read it" in text
    assert "Preview — not published" in text
    assert "First paragraph." in text


def test_preview_is_kept_out_of_search_engines_and_caches(client):
    response = client.get(preview_path(draft()))

    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex, nofollow">' in response.content.decode()
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.get("Vary", "")


def test_preview_shows_the_whole_body_of_a_members_only_story(client):
    article = draft(visibility=Article.Visibility.MEMBERS, body="<p>The whole story.</p>")

    text = visible_text(client.get(preview_path(article)))

    assert "The whole story." in text
    assert "This story is for members" not in text


def test_preview_of_a_russian_edition_is_in_russian(client):
    article = draft(language="ru", slug="chernovik", headline="Черновик")

    response = client.get(preview_path(article))

    assert response.status_code == 200
    assert '<html lang="ru">' in response.content.decode()
    assert "Черновик" in visible_text(response)


def test_expired_link_is_not_found(client, settings):
    settings.NEWSROOM_PREVIEW_MAX_AGE = 3600
    article = draft()
    with mock.patch("time.time", return_value=time.time() - 3601):
        path = preview_path(article)

    assert client.get(path).status_code == 404


def test_link_within_its_age_works(client, settings):
    settings.NEWSROOM_PREVIEW_MAX_AGE = 3600
    article = draft()
    with mock.patch("time.time", return_value=time.time() - 3500):
        path = preview_path(article)

    assert client.get(path).status_code == 200


def test_tampered_forged_or_stale_links_are_not_found(client):
    article = draft()
    other = draft()
    path = preview_path(article)
    token = path.split("/")[2]
    pk, timestamp, signature = token.split(":")
    forged = [
        f"/preview/{pk}:{timestamp}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}/",
        f"/preview/{other.pk}:{timestamp}:{signature}/",
        "/preview/not-a-token/",
        f"/preview/{signing.dumps(article.pk)}/",
        f"/preview/{signing.TimestampSigner(salt='other').sign(str(article.pk))}/",
    ]
    for url in forged:
        assert client.get(url).status_code == 404, url

    article.delete()
    assert client.get(path).status_code == 404


def test_change_page_offers_the_absolute_preview_link_and_its_expiry(client, editor):
    article = draft()
    client.force_login(editor)

    response = client.get(change_url(article))

    html = response.content.decode()
    assert 'value="http://testserver/preview/' in html
    assert "(Asia/Tbilisi)" in visible_text(response)
    link = html.split('value="http://testserver', 1)[1].split('"', 1)[0]
    client.logout()
    assert client.get(link).status_code == 200
