from datetime import UTC, datetime

import pytest

from newsroom.models import Correction
from tests.factories import ArticleFactory
from tests.html import visible_text

pytestmark = pytest.mark.django_db


def test_article_shows_its_corrections_with_dates_and_when_it_was_updated(client):
    article = ArticleFactory(published_at=datetime(2026, 5, 1, 8, tzinfo=UTC))
    Correction.objects.create(
        article=article,
        text="An earlier version misspelled the minister's name.",
        created_at=datetime(2026, 5, 3, 10, tzinfo=UTC),
    )

    text = visible_text(client.get(article.get_absolute_url()))

    assert "Correction, 3 May 2026: An earlier version misspelled the minister's name." in text
    assert "Updated 3 May 2026, 14:00" in text


def test_hero_alt_can_be_overridden_for_one_story(client):
    article = ArticleFactory(hero_alt="The minister leaving the court")
    html = client.get(article.get_absolute_url()).content.decode()
    assert 'alt="The minister leaving the court"' in html
