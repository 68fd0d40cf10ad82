"""Two editors at once: a save from a form opened before someone else saved is refused."""

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client

from newsroom.models import Article, EditConflict
from tests.admin_forms import change_url, form_data, run_action
from tests.factories import ArticleFactory, UserFactory
from tests.html import visible_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_editor(db):
    user = UserFactory(email="night.editor@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


def opened_form(user, article):
    """A browser tab with the article's change form open, as `user`."""
    client = Client()
    client.force_login(user)
    page = client.get(change_url(article))
    assert page.status_code == 200
    return client, form_data(page, _save="Save")


def test_saving_after_someone_else_saved_is_refused_with_who_and_when(editor, second_editor):
    article = ArticleFactory(headline="Original headline")
    first_tab, first_form = opened_form(editor, article)
    second_tab, second_form = opened_form(second_editor, article)

    saved = second_tab.post(change_url(article), {**second_form, "headline": ["Their headline"]})
    refused = first_tab.post(change_url(article), {**first_form, "headline": ["My headline"]})

    assert saved.status_code == 302
    assert refused.status_code == 200
    text = visible_text(refused)
    assert "night.editor@example.com saved this story at" in text
    assert "(Asia/Tbilisi), after you opened it" in text
    assert "Your changes have not been saved" in text
    article.refresh_from_db()
    assert article.headline == "Their headline"
    assert article.version == 2


def test_a_refused_form_stays_refused_until_the_story_is_opened_again(editor, second_editor):
    article = ArticleFactory()
    first_tab, first_form = opened_form(editor, article)
    second_tab, second_form = opened_form(second_editor, article)
    second_tab.post(change_url(article), second_form)

    first_tab.post(change_url(article), {**first_form, "headline": ["Mine"]})
    again = first_tab.post(change_url(article), {**first_form, "headline": ["Mine"]})
    assert again.status_code == 200

    reopened_tab, reopened_form = opened_form(editor, article)
    saved = reopened_tab.post(change_url(article), {**reopened_form, "headline": ["Mine"]})
    assert saved.status_code == 302
    assert Article.objects.get(pk=article.pk).headline == "Mine"


def test_each_save_moves_the_version_on(editor):
    article = ArticleFactory()
    for expected in (2, 3):
        tab, form = opened_form(editor, article)
        assert tab.post(change_url(article), form).status_code == 302
        assert Article.objects.get(pk=article.pk).version == expected


def test_publishing_from_the_list_counts_as_a_change(client, editor, second_editor):
    article = ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    tab, form = opened_form(second_editor, article)
    client.force_login(editor)
    run_action(client, "publish_now", [article])

    response = tab.post(change_url(article), {**form, "headline": ["Edited meanwhile"]})

    assert response.status_code == 200
    assert "editor@example.com saved this story" in visible_text(response)
    assert Article.objects.get(pk=article.pk).status == Article.Status.PUBLISHED


def test_a_form_without_its_version_is_refused(editor):
    article = ArticleFactory(headline="Kept")
    tab, form = opened_form(editor, article)
    form.pop("opened_version")

    response = tab.post(change_url(article), {**form, "headline": ["Overwritten"]})

    assert response.status_code == 200
    assert "does not say which version" in visible_text(response)
    assert Article.objects.get(pk=article.pk).headline == "Kept"


def test_a_model_save_from_a_stale_version_raises():
    article = ArticleFactory()
    stale = Article.objects.get(pk=article.pk)
    article.save()

    stale._expected_version = 1
    with pytest.raises(EditConflict):
        stale.save()
    assert Article.objects.get(pk=article.pk).version == 2


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_saves_from_the_same_version_let_exactly_one_through(
    editor, second_editor
):
    """Real concurrency: only PostgreSQL holds the row lock (SQLite ignores it, and writes
    one transaction at a time anyway)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    article = ArticleFactory()
    tabs = [opened_form(editor, article), opened_form(second_editor, article)]
    barrier = threading.Barrier(2)
    results = []

    def save(tab, form, headline):
        barrier.wait()
        results.append(tab.post(change_url(article), {**form, "headline": [headline]}))
        connection.close()

    threads = [
        threading.Thread(target=save, args=(tab, form, f"Headline {n}"))
        for n, (tab, form) in enumerate(tabs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.status_code for r in results) == [200, 302]
    assert Article.objects.get(pk=article.pk).version == 2
