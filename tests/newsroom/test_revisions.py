"""Revisions: who changed what and when, a diff, revert; and old URLs after a slug change."""

from datetime import UTC, datetime

import pytest

from newsroom.history import text_diff
from newsroom.models import Article, ArticleRedirect, Region, Tag
from tests.admin_forms import ARTICLES, form_data, post_change
from tests.factories import ArticleFactory, AuthorFactory
from tests.html import visible_text

pytestmark = pytest.mark.django_db

REVERT_FORM = "historicalarticle_form"


def history_url(article):
    return f"{ARTICLES}{article.pk}/history/"


def test_history_shows_who_changed_which_fields_and_a_diff_of_the_body(client, editor):
    article = ArticleFactory(
        headline="Minister resigns",
        body="<p>The minister resigned on Monday after a week of protests.</p>",
    )
    client.force_login(editor)

    post_change(
        client,
        article,
        headline="Minister resigns after protests",
        body="<p>The minister resigned on Tuesday after a week of protests.</p>",
    )
    response = client.get(history_url(article))

    assert response.status_code == 200
    text = visible_text(response)
    assert "editor@example.com" in text
    assert "Headline: Minister resigns → Minister resigns after protests" in text
    html = response.content.decode()
    assert "<del>Monday</del>" in html
    assert "<ins>Tuesday</ins>" in html
    assert "Times are in Asia/Tbilisi." in text


def test_history_escapes_what_the_revisions_contain(client, editor):
    article = ArticleFactory(headline="Plain")
    client.force_login(editor)

    post_change(client, article, headline="<script>alert(1)</script>", standfirst="<b>x</b>")
    html = client.get(history_url(article)).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x</b>" not in html


def test_text_diff_marks_removed_and_added_words_and_elides_long_unchanged_runs():
    old = "<p>" + " ".join(f"w{i}" for i in range(100)) + "</p><p>End.</p>"
    new = old.replace("w50", "fifty").replace("End.", "The end.")

    diff = str(text_diff(old, new, is_html=True))

    assert "<del>w50</del> <ins>fifty</ins>" in diff
    assert "<del>End.</del> <ins>The end.</ins>" in diff
    assert "…" in diff
    assert "w10 " not in diff  # far from any change


def test_revert_brings_back_an_earlier_revision(client, editor):
    article = ArticleFactory(headline="The first headline")
    first = article.history.earliest()
    client.force_login(editor)
    post_change(client, article, headline="A worse headline")
    url = f"{history_url(article)}{first.history_id}/"

    page = client.get(url)
    response = client.post(url, form_data(page, REVERT_FORM, _save="Revert"))

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.headline == "The first headline"
    assert article.version == 3
    assert article.history.count() == 3


def test_byline_changes_appear_in_the_history(client, editor):
    article = ArticleFactory(authors=[])
    author = AuthorFactory(name="Eka Reporter")
    client.force_login(editor)

    post_change(client, article, **{"bylines-0-author": str(author.pk), "bylines-0-position": "0"})
    text = visible_text(client.get(history_url(article)))

    assert "Byline changes" in text
    assert "Eka Reporter" in text


def rename(client, article, slug):
    response = post_change(client, article, slug=slug)
    assert response.status_code == 302, visible_text(response)
    article.refresh_from_db()
    return article


def test_a_published_story_whose_slug_changes_redirects_permanently(client, editor):
    article = ArticleFactory(slug="old-slug", published_at=datetime(2026, 3, 5, 9, tzinfo=UTC))
    old_url = article.get_absolute_url()
    client.force_login(editor)

    article = rename(client, article, "new-slug")
    client.logout()
    response = client.get(old_url)

    assert response.status_code == 301
    assert response["Location"] == article.get_absolute_url() == "/2026/03/new-slug/"
    assert client.get(response["Location"]).status_code == 200


def test_old_urls_keep_working_after_two_renames(client, editor):
    article = ArticleFactory(slug="first", published_at=datetime(2026, 3, 5, 9, tzinfo=UTC))
    client.force_login(editor)

    rename(client, article, "second")
    rename(client, article, "third")
    client.logout()

    for old in ("/2026/03/first/", "/2026/03/second/"):
        response = client.get(old)
        assert response.status_code == 301
        assert response["Location"] == "/2026/03/third/"


def test_renaming_back_serves_the_story_at_its_first_address(client, editor):
    article = ArticleFactory(slug="first", published_at=datetime(2026, 3, 5, 9, tzinfo=UTC))
    client.force_login(editor)

    rename(client, article, "second")
    rename(client, article, "first")
    client.logout()

    assert client.get("/2026/03/first/").status_code == 200
    assert client.get("/2026/03/second/")["Location"] == "/2026/03/first/"


def test_a_russian_edition_redirects_under_its_prefix(client, editor):
    article = ArticleFactory(
        language="ru", slug="старый", published_at=datetime(2026, 3, 5, 9, tzinfo=UTC)
    )
    old_url = article.get_absolute_url()
    client.force_login(editor)

    article = rename(client, article, "новый")
    client.logout()
    response = client.get(old_url)

    assert old_url.startswith("/ru/2026/03/")
    assert response.status_code == 301
    assert response["Location"] == article.get_absolute_url()
    assert client.get(old_url.removeprefix("/ru")).status_code == 404


def test_draft_slug_changes_leave_no_redirect(client, editor):
    article = ArticleFactory(slug="draft-one", status=Article.Status.DRAFT, published_at=None)
    client.force_login(editor)

    rename(client, article, "draft-two")

    assert not ArticleRedirect.objects.exists()


def test_a_scheduled_story_renamed_before_its_time_leaves_no_redirect(client, editor):
    article = ArticleFactory(slug="soon", published_at=datetime(2100, 1, 1, tzinfo=UTC))
    client.force_login(editor)

    rename(client, article, "later")

    assert not ArticleRedirect.objects.exists()


def test_an_old_address_never_reveals_a_story_taken_off_the_site(client, editor):
    article = ArticleFactory(slug="was-live", published_at=datetime(2026, 3, 5, 9, tzinfo=UTC))
    client.force_login(editor)
    rename(client, article, "renamed-then-pulled")
    article.unpublish()
    client.logout()

    response = client.get("/2026/03/was-live/")

    assert response.status_code == 404
    assert b"renamed-then-pulled" not in response.content


def test_history_shows_times_in_the_newsroom_time_zone(client, editor):
    article = ArticleFactory(published_at=datetime(2026, 3, 5, 9, tzinfo=UTC))
    client.force_login(editor)

    post_change(client, article, published_at_0="2026-03-06", published_at_1="10:30:00")
    text = visible_text(client.get(history_url(article)))

    # 09:00 UTC is 13:00 in Tbilisi.
    assert "Publication time: 5 Mar 2026, 13:00:00 → 6 Mar 2026, 10:30:00" in text


def test_revert_also_brings_back_that_revisions_bylines_regions_and_tags(client, editor):
    article = ArticleFactory(authors=[])
    nino, arman = AuthorFactory(name="Nino Reporter"), AuthorFactory(name="Arman Reporter")
    georgia = Region.objects.create(name="Georgia", slug="georgia")
    armenia = Region.objects.create(name="Armenia", slug="armenia")
    water = Tag.objects.create(name="Water", slug="water")
    client.force_login(editor)
    post_change(
        client,
        article,
        headline="Version with Nino",
        regions=[str(georgia.pk)],
        tags=[str(water.pk)],
        **{"bylines-0-author": str(nino.pk), "bylines-0-position": "0"},
    )
    wanted = article.history.latest()
    article.refresh_from_db()
    [byline] = article.bylines.all()
    post_change(
        client,
        article,
        headline="Version with Arman",
        regions=[str(armenia.pk)],
        tags=[],
        **{
            "bylines-0-id": str(byline.pk),
            "bylines-0-author": str(arman.pk),
            "bylines-0-position": "0",
        },
    )
    assert [b.author for b in article.bylines.all()] == [arman]

    url = f"{history_url(article)}{wanted.history_id}/"
    response = client.post(url, form_data(client.get(url), REVERT_FORM, _save="Revert"))

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.headline == "Version with Nino"
    assert [b.author for b in article.bylines.all()] == [nino]
    assert list(article.regions.all()) == [georgia]
    assert list(article.tags.all()) == [water]


def test_links_changed_from_the_tag_or_region_side_are_recorded_in_each_storys_history():
    first, second, untouched = ArticleFactory(), ArticleFactory(), ArticleFactory()
    water = Tag.objects.create(name="Water", slug="water")
    georgia = Region.objects.create(name="Georgia", slug="georgia")

    def revisions(story):
        return story.history.count()

    def latest_tags(story):
        return {link.tag_id for link in story.history.latest().tags.all()}

    before = {story.pk: revisions(story) for story in (first, second, untouched)}
    water.articles.add(first, second)
    georgia.articles.add(first)
    assert revisions(first) == before[first.pk] + 2
    assert revisions(second) == before[second.pk] + 1
    assert revisions(untouched) == before[untouched.pk]
    assert latest_tags(first) == latest_tags(second) == {water.pk}
    assert {link.region_id for link in first.history.latest().regions.all()} == {georgia.pk}

    water.articles.remove(second)
    assert latest_tags(second) == set()
    assert revisions(second) == before[second.pk] + 2

    water.articles.set([second])
    assert latest_tags(first) == set() and latest_tags(second) == {water.pk}

    water.articles.clear()
    assert latest_tags(second) == set()
    assert revisions(second) == before[second.pk] + 4
    assert revisions(untouched) == before[untouched.pk]
