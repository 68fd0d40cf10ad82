"""Who may read a whole story (members.access.can_read_full) and what the page shows."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from members.access import can_read_full
from newsroom.models import Article
from tests.factories import ArticleFactory
from tests.html import visible_text

pytestmark = pytest.mark.django_db

BODY = "<p>The secret figures are in the ministry's own report.</p>"


def members_story(**kwargs):
    return ArticleFactory(body=BODY, visibility=Article.Visibility.MEMBERS, **kwargs)


def early_access_story(opens_in):
    return ArticleFactory(
        body=BODY,
        visibility=Article.Visibility.EARLY_ACCESS,
        public_from=timezone.now() + opens_in,
    )


def test_public_stories_are_readable_by_everyone(reader):
    article = ArticleFactory()
    assert can_read_full(AnonymousUser(), article)
    assert can_read_full(reader, article)


def test_members_only_stories_are_closed_to_readers_and_open_to_staff(reader, editor):
    article = members_story()
    assert not can_read_full(AnonymousUser(), article)
    assert not can_read_full(reader, article)
    assert can_read_full(editor, article)


def test_early_access_opens_to_everyone_at_public_from(reader):
    article = early_access_story(opens_in=timedelta(hours=2))
    assert not can_read_full(reader, article)
    assert can_read_full(reader, article, now=timezone.now() + timedelta(hours=3))
    assert can_read_full(AnonymousUser(), early_access_story(opens_in=-timedelta(minutes=1)))


def test_gated_story_page_shows_headline_and_standfirst_but_never_the_body(client, reader):
    article = members_story(headline="Inside the ministry", standfirst="What the files show.")

    for who in (None, reader):
        if who:
            client.force_login(who)
        response = client.get(article.get_absolute_url())
        text = visible_text(response)
        assert response.status_code == 200
        assert "Inside the ministry" in text and "What the files show." in text
        assert "This story is for members" in text
        assert "secret figures" not in response.content.decode()


def test_early_access_page_says_when_it_opens(client):
    article = early_access_story(opens_in=timedelta(days=2))
    text = visible_text(client.get(article.get_absolute_url()))
    assert "It opens to everyone on" in text
    assert "secret figures" not in text


def test_staff_read_gated_stories_in_full(client, editor):
    client.force_login(editor)
    assert "secret figures" in visible_text(client.get(members_story().get_absolute_url()))
