"""The middleware stack holds only what the site needs (docs/deployment.md, "Caching")."""

import pytest

from newsroom import page_cache
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_reads(monkeypatch):
    """The page cache's reads of pages, by the middleware (not those of the site's version
    alone, which the object caches make)."""
    reads = []
    real = page_cache.pages

    class Counting:
        def __getattr__(self, name):
            return getattr(real(), name)

        def get_many(self, keys):
            if any(key.startswith("pages:") and len(key) > 40 for key in keys):
                reads.append(keys)
            return real().get_many(keys)

    monkeypatch.setattr(page_cache, "pages", Counting)
    return reads


def test_only_reader_pages_look_in_the_page_cache(client, cache_reads):
    ArticleFactory()
    for path in ("/", "/ru/", "/feed/", "/sitemap.xml", "/robots.txt"):
        assert client.get(path).status_code == 200, path
    looked_up = len(cache_reads)
    assert looked_up == 5

    for path in ("/membership/", "/donate/", "/accounts/login/", "/no-such-page/x/"):
        client.get(path)
    assert len(cache_reads) == looked_up


@pytest.mark.parametrize(
    ("path", "language"),
    [("/", "en"), ("/ru/", "ru"), ("/sitemap.xml", "en"), ("/ru/donate/", "ru")],
)
def test_the_language_comes_from_the_address_alone(client, path, language):
    ArticleFactory()
    client.cookies["django_language"] = "ru" if language == "en" else "en"

    response = client.get(path, headers={"accept-language": "ru" if language == "en" else "en"})

    assert response["Content-Language"] == language
    assert "Accept-Language" not in response.get("Vary", "")
