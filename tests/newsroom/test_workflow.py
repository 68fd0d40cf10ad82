"""The editors' working day in the admin: review, publish, schedule, unpublish, correct."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from newsroom import page_cache
from newsroom.models import Article, Correction, Image
from tests.admin_forms import ARTICLES, change_url, post_change, run_action
from tests.factories import ArticleFactory, ImageFactory
from tests.html import visible_text

pytestmark = pytest.mark.django_db


def draft(**fields):
    return ArticleFactory(status=Article.Status.DRAFT, published_at=None, **fields)


def local_input(moment):
    """A time as typed into the schedule form: in the newsroom's time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_publish_now_puts_a_draft_on_the_site(client, editor):
    article = draft(headline="Parliament votes on the budget")
    client.force_login(editor)

    response = run_action(client, "publish_now", [article])

    article.refresh_from_db()
    assert response.status_code == 302
    assert article.status == Article.Status.PUBLISHED
    assert article.published_at <= timezone.now()
    client.logout()
    assert client.get(article.get_absolute_url()).status_code == 200
    assert "Parliament votes on the budget" in visible_text(client.get("/"))


def test_publish_now_refuses_a_hero_image_without_credit(client, editor):
    article = draft(hero_image=ImageFactory(credit=""))
    client.force_login(editor)

    response = run_action(client, "publish_now", [article])

    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    text = visible_text(client.get(response["Location"]))
    assert "not published" in text
    assert "has no credit" in text


def test_publish_now_refuses_a_figure_without_alt_text_or_whose_image_is_gone(client, editor):
    no_alt = ImageFactory(alt="")
    article = draft(
        body=f'<p>Text.</p><figure data-image-id="{no_alt.pk}"><figcaption>A</figcaption></figure>'
        '<figure data-image-id="987654"><figcaption>B</figcaption></figure>'
    )
    client.force_login(editor)

    response = run_action(client, "publish_now", [article])

    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    text = visible_text(client.get(response["Location"]))
    assert f"The figure with image #{no_alt.pk} has no alternative text" in text
    assert "image #987654, which is no longer in the library" in text


def test_publishing_through_the_form_refuses_a_picture_without_credit(client, editor):
    article = draft(hero_image=ImageFactory(credit=""))
    client.force_login(editor)

    response = post_change(client, article, status="published")

    assert response.status_code == 200
    assert "has no credit" in visible_text(response)
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT


def test_publishing_through_the_form_sets_the_time_when_left_empty(client, editor):
    article = draft()
    client.force_login(editor)

    response = post_change(client, article, status="published")

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.is_published


def test_schedule_asks_for_a_time_on_a_protected_page(client, editor):
    article = draft(headline="Election night results")
    client.force_login(editor)

    response = run_action(client, "schedule", [article])

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'type="datetime-local"' in html
    text = visible_text(response)
    assert "Election night results" in text
    assert "Times are in Asia/Tbilisi." in text


def test_a_scheduled_story_is_hidden_until_its_time_then_appears(client, editor):
    article = draft(headline="The morning briefing")
    client.force_login(editor)
    at = timezone.now() + timedelta(days=2)

    response = run_action(client, "schedule", [article], apply="1", publish_at=local_input(at))

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED
    assert abs(article.published_at - at) < timedelta(minutes=1)
    client.logout()
    assert client.get(article.get_absolute_url()).status_code == 404
    assert "The morning briefing" not in visible_text(client.get("/"))

    # Time passes: the story appears with no worker having run. (Moving the time back stands
    # in for two days passing; the cached front page would have expired at the story's time,
    # as tests/newsroom/test_page_cache.py shows with a story due in a second.)
    Article.objects.filter(pk=article.pk).update(published_at=timezone.now() - timedelta(minutes=1))
    page_cache.purge()
    article.refresh_from_db()
    assert client.get(article.get_absolute_url()).status_code == 200
    assert "The morning briefing" in visible_text(client.get("/"))


def test_schedule_refuses_a_time_in_the_past(client, editor):
    article = draft()
    client.force_login(editor)

    response = run_action(
        client,
        "schedule",
        [article],
        apply="1",
        publish_at=local_input(timezone.now() - timedelta(hours=1)),
    )

    assert response.status_code == 200
    assert "Choose a time in the future" in visible_text(response)
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT


def test_schedule_refuses_a_story_already_on_the_site(client, editor):
    article = ArticleFactory()
    published_at = article.published_at
    client.force_login(editor)

    response = run_action(
        client,
        "schedule",
        [article],
        apply="1",
        publish_at=local_input(timezone.now() + timedelta(days=1)),
    )

    article.refresh_from_db()
    assert article.published_at == published_at
    assert "already on the site" in visible_text(client.get(response["Location"]))


def test_unpublish_takes_the_story_off_the_site(client, editor):
    article = ArticleFactory(headline="A story with a problem")
    url = article.get_absolute_url()
    client.force_login(editor)

    run_action(client, "unpublish", [article])

    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    client.logout()
    assert client.get(url).status_code == 404
    assert "A story with a problem" not in visible_text(client.get("/"))


def test_putting_an_unpublished_story_back_keeps_its_date_and_address(client, editor):
    article = ArticleFactory(published_at=timezone.now() - timedelta(days=40))
    url = article.get_absolute_url()
    client.force_login(editor)

    run_action(client, "unpublish", [article])
    run_action(client, "publish_now", [article])

    article.refresh_from_db()
    assert article.get_absolute_url() == url
    assert client.get(url).status_code == 200


def test_contributor_submits_their_draft_for_review(client, contributor):
    article = draft(created_by=contributor)
    client.force_login(contributor)

    run_action(client, "submit_for_review", [article])

    article.refresh_from_db()
    assert article.status == Article.Status.REVIEW


def test_editor_adds_a_correction_that_shows_on_the_story(client, editor):
    article = ArticleFactory()
    client.force_login(editor)

    response = post_change(
        client,
        article,
        **{
            "corrections-TOTAL_FORMS": "1",
            "corrections-0-text": "An earlier version gave the wrong date of the vote.",
            "corrections-0-created_at_0": timezone.localtime().strftime("%Y-%m-%d"),
            "corrections-0-created_at_1": timezone.localtime().strftime("%H:%M:%S"),
        },
    )

    assert response.status_code == 302
    correction = Correction.objects.get(article=article)
    assert correction.created_by == editor
    client.logout()
    text = visible_text(client.get(article.get_absolute_url()))
    assert "An earlier version gave the wrong date of the vote." in text
    assert "Updated" in text


def test_article_list_shows_workflow_columns_filters_and_the_time_zone(client, editor):
    ArticleFactory(headline="Live story")
    draft(headline="Draft story")
    client.force_login(editor)

    response = client.get(ARTICLES)

    text = visible_text(response)
    assert "Live story" in text and "Draft story" in text
    assert "Published (Asia/Tbilisi)" in text
    for column in ("Status", "Section", "Byline", "Language", "Visibility"):
        assert column in text
    assert "By author" in text and "By visibility" in text
    html = response.content.decode()
    assert 'href="/preview/' in html
    for action in ("submit_for_review", "publish_now", "schedule", "unpublish"):
        assert f'value="{action}"' in html


def test_change_page_shows_the_hero_thumbnail_and_times_in_the_newsroom_zone(client, editor):
    article = ArticleFactory()
    client.force_login(editor)

    response = client.get(change_url(article))

    html = response.content.decode()
    assert article.hero_image.file.url in html
    assert "Times are in Asia/Tbilisi." in visible_text(response)


def test_article_page_links_to_published_editions_only(client):
    original = ArticleFactory(headline="Elections in Tbilisi")
    russian = ArticleFactory(
        language="ru", slug="vybory", headline="Выборы в Тбилиси", translation_of=original
    )
    ArticleFactory(
        language="ru",
        slug="chernovik",
        translation_of=original,
        status=Article.Status.DRAFT,
        published_at=None,
    )

    english_page = client.get(original.get_absolute_url())
    russian_page = client.get(russian.get_absolute_url())

    html = english_page.content.decode()
    assert f'href="{russian.get_absolute_url()}"' in html
    assert "Also in Русский" in visible_text(english_page)
    assert "Другие языки: English" in visible_text(russian_page)
    assert "chernovik" not in html
    assert f'href="{original.get_absolute_url()}"' in russian_page.content.decode()


# The publication checks belong to the story itself: every path that publishes meets them.


def test_publishing_from_code_refuses_what_the_admin_refuses_and_stores_nothing():
    article = draft(hero_image=ImageFactory(credit=""))

    with pytest.raises(ValidationError) as refused:
        article.publish()

    assert "has no credit" in " ".join(refused.value.messages)
    assert (article.status, article.published_at) == (Article.Status.DRAFT, None)
    article.refresh_from_db()
    assert (article.status, article.published_at) == (Article.Status.DRAFT, None)


def test_a_plain_save_cannot_put_a_story_without_a_headline_or_alt_text_on_the_site():
    article = draft(headline=" ", hero_image=ImageFactory(alt=""))
    article.status = Article.Status.PUBLISHED
    article.published_at = timezone.now()

    with pytest.raises(ValidationError) as refused:
        article.save()

    assert "The story has no headline." in refused.value.messages
    assert any("no alternative text" in message for message in refused.value.messages)
    assert Article.objects.get(pk=article.pk).status == Article.Status.DRAFT
    with pytest.raises(ValidationError):
        ArticleFactory(hero_image=ImageFactory(credit=""))
    assert Article.objects.count() == 1


def test_a_published_story_can_be_corrected_while_a_picture_problem_nobody_touches_remains():
    image = ImageFactory()
    article = ArticleFactory(hero_image=image)
    Image.objects.filter(pk=image.pk).update(credit="")  # the library changed afterwards
    article = Article.objects.get(pk=article.pk)

    article.standfirst = "Corrected: the vote was on Tuesday."
    article.save()

    article.body += '<figure data-image-id="999999"><figcaption>Gone</figcaption></figure>'
    with pytest.raises(ValidationError, match="no longer in the library"):
        article.save()
