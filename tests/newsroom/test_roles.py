"""Who may do what in the newsroom's admin, enforced on the server (issue 4, roles).

Every attempt is a real admin request carrying a complete form, as an editor's browser would send
it: a role that may not do something is refused however the request is made (403, a form error
or a refusal message), and the stored data stays as it was.
"""

from datetime import timedelta
from importlib import import_module

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.utils import timezone

from members.models import Payment
from newsroom.models import Article, Correction, Image
from tests.admin_forms import (
    ARTICLES,
    change_url,
    form_data,
    new_article_data,
    post_change,
    run_action,
)
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    MembershipFactory,
    SectionFactory,
    UserFactory,
    jpeg_bytes,
)
from tests.html import visible_text

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "member", "contributor", "editor", "superuser", "membership_manager"]
NO = object()  # marks a refused attempt in the matrix below
REVERT_FORM = "historicalarticle_form"  # simple_history's revert page names it after its model


def draft(**fields):
    return ArticleFactory(status=Article.Status.DRAFT, published_at=None, **fields)


class Attempts:
    """Each method tries one thing as the logged-in `client` and says whether it happened."""

    def __init__(self, client, user, form_source):
        self.client = client
        self.user = user
        # Complete forms come from a superuser's pages: a refused person's request is then
        # exactly what a crafted POST would be.
        self.form_source = form_source

    def _full_form(self, url, form_id="article_form", **changes):
        return form_data(self.form_source.get(url), form_id, _save="Save", **changes)

    def _post(self, url, data):
        response = self.client.post(url, data)
        assert response.status_code in (200, 302, 403), response.status_code
        return response

    def add_article(self):
        self._post(f"{ARTICLES}add/", new_article_data(SectionFactory(), slug="added-by-test"))
        return Article.objects.filter(slug="added-by-test").exists()

    def _change_headline(self, article):
        self._post(change_url(article), self._full_form(change_url(article), headline="Changed"))
        return Article.objects.get(pk=article.pk).headline == "Changed"

    def change_own_draft(self):
        return self._change_headline(draft(created_by=self.user))

    def change_a_draft_with_their_byline(self):
        author = AuthorFactory(user=self.user)
        return self._change_headline(draft(authors=[author]))

    def change_someone_elses_draft(self):
        return self._change_headline(draft())

    def change_their_published_story(self):
        return self._change_headline(ArticleFactory(created_by=self.user))

    def publish_through_the_form(self):
        article = draft(created_by=self.user)
        self._post(change_url(article), self._full_form(change_url(article), status="published"))
        return Article.objects.get(pk=article.pk).status == Article.Status.PUBLISHED

    def _action(self, name, article, **extra):
        response = self.client.post(
            ARTICLES, {"action": name, "_selected_action": [article.pk], **extra}
        )
        assert response.status_code in (200, 302, 403), response.status_code
        return Article.objects.get(pk=article.pk)

    def submit_for_review(self):
        article = self._action("submit_for_review", draft(created_by=self.user))
        return article.status == Article.Status.REVIEW

    def publish_now(self):
        article = self._action("publish_now", draft(created_by=self.user))
        return article.status == Article.Status.PUBLISHED

    def schedule(self):
        at = timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        article = self._action("schedule", draft(created_by=self.user), apply="1", publish_at=at)
        return article.status == Article.Status.PUBLISHED

    def unpublish(self):
        article = self._action("unpublish", ArticleFactory(created_by=self.user))
        return article.status == Article.Status.DRAFT

    def add_a_correction(self):
        article = draft(created_by=self.user)
        now = timezone.localtime()
        data = self._full_form(
            change_url(article),
            **{
                "corrections-TOTAL_FORMS": "1",
                "corrections-0-text": "A correction.",
                "corrections-0-created_at_0": now.strftime("%Y-%m-%d"),
                "corrections-0-created_at_1": now.strftime("%H:%M:%S"),
            },
        )
        self._post(change_url(article), data)
        return Correction.objects.filter(article=article).exists()

    def _revert(self, article):
        first = article.history.earliest()
        article.headline = "A later headline"
        article.save()
        url = f"{ARTICLES}{article.pk}/history/{first.history_id}/"
        self._post(url, self._full_form(url, REVERT_FORM))
        return Article.objects.get(pk=article.pk).headline == first.headline

    def revert_their_draft(self):
        return self._revert(draft(created_by=self.user))

    def revert_their_published_story(self):
        return self._revert(ArticleFactory(created_by=self.user))

    def upload_an_image(self):
        self._post(
            "/admin/newsroom/image/add/",
            {
                "file": SimpleUploadedFile("photo.jpg", jpeg_bytes(), content_type="image/jpeg"),
                "alt": "Uploaded by the role test",
                "credit": "Someone",
                "licence": "",
                "ppoi": "0.5x0.5",
            },
        )
        return Image.objects.filter(alt="Uploaded by the role test").exists()

    def see_member_accounts(self):
        return self._opens("/admin/members/user/")

    def _opens(self, url):
        """Whether `url` answers with its page (not a 403, nor the way to the log-in page)."""
        response = self.client.get(url)
        assert response.status_code in (200, 302, 403), response.status_code
        return response.status_code == 200

    def delete_a_published_story(self):
        article = ArticleFactory(created_by=self.user)
        self._post(f"{ARTICLES}{article.pk}/delete/", {"post": "yes"})
        return not Article.objects.filter(pk=article.pk).exists()

    def list_members(self):
        MembershipFactory()
        return self._opens("/admin/members/membership/")

    def export_members(self):
        MembershipFactory(user=UserFactory(email="exported.member@example.com"))
        response = self.client.get("/admin/members/membership/export/")
        assert response.status_code in (200, 302, 403), response.status_code
        return response.status_code == 200 and b"exported.member@example.com" in b"".join(
            response.streaming_content
        )

    def view_payments(self):
        return self._opens(f"/admin/members/payment/{self._payment().pk}/change/")

    def _payment(self):
        return Payment.objects.create(
            stripe_id="in_role_matrix",
            stripe_payment_intent_id="pi_role_matrix",
            user=UserFactory(),
            amount=500,
            currency="eur",
            kind=Payment.Kind.MEMBERSHIP,
            paid_at=timezone.now(),
        )

    def open_the_refund_form(self):
        """The form that refunds (what pressing it does at Stripe: tests/members/test_member_desk.py)."""
        return self._opens(f"/admin/members/payment/{self._payment().pk}/refund/")

    def change_staff_roles(self):
        group = Group.objects.get(name="Contributors")
        publish = Permission.objects.get(codename="publish_article")
        self._post(
            f"/admin/auth/group/{group.pk}/change/",
            {
                "name": group.name,
                "permissions": [publish.pk, *group.permissions.values_list("pk", flat=True)],
            },
        )
        return group.permissions.filter(pk=publish.pk).exists()


# The site has no "site settings" or code-injection fields (docs/security.md, check 47), and
# "publish_now" is the admin's bulk action on the selected stories.
#              anonymous, member, contributor, editor, superuser, membership manager
MATRIX = {
    "add_article": (NO, NO, True, True, True, NO),
    "change_own_draft": (NO, NO, True, True, True, NO),
    "change_a_draft_with_their_byline": (NO, NO, True, True, True, NO),
    "change_someone_elses_draft": (NO, NO, NO, True, True, NO),
    "change_their_published_story": (NO, NO, NO, True, True, NO),
    "publish_through_the_form": (NO, NO, NO, True, True, NO),
    "submit_for_review": (NO, NO, True, True, True, NO),
    "publish_now": (NO, NO, NO, True, True, NO),
    "schedule": (NO, NO, NO, True, True, NO),
    "unpublish": (NO, NO, NO, True, True, NO),
    "add_a_correction": (NO, NO, NO, True, True, NO),
    "revert_their_draft": (NO, NO, True, True, True, NO),
    "revert_their_published_story": (NO, NO, NO, True, True, NO),
    # Editors hold every newsroom permission (newsroom 0007_roles), deleting included.
    "delete_a_published_story": (NO, NO, NO, True, True, NO),
    "upload_an_image": (NO, NO, True, True, True, NO),
    "see_member_accounts": (NO, NO, NO, NO, True, True),
    "list_members": (NO, NO, NO, NO, True, True),
    "export_members": (NO, NO, NO, NO, True, True),
    "view_payments": (NO, NO, NO, NO, True, True),
    "open_the_refund_form": (NO, NO, NO, NO, True, True),
    "change_staff_roles": (NO, NO, NO, NO, True, NO),
}


@pytest.mark.parametrize("persona_index, persona", list(enumerate(PERSONAS)))
@pytest.mark.parametrize("action", list(MATRIX))
def test_role_matrix(request, client, superuser, persona_index, persona, action):
    if persona == "anonymous":
        user = UserFactory()  # owns "their" stories; the client stays logged out
    else:
        user = request.getfixturevalue(persona)
        client.force_login(user)
    form_source = Client()
    form_source.force_login(superuser)

    happened = getattr(Attempts(client, user, form_source), action)()

    expected = MATRIX[action][persona_index] is True
    assert happened == expected, f"{persona} {'could not' if expected else 'could'} {action}"


# The refusals in detail: what a contributor sees, and what never reaches the database.


def test_contributor_adds_a_draft_that_is_theirs(client, contributor):
    client.force_login(contributor)

    page = client.get(f"{ARTICLES}add/")
    response = client.post(f"{ARTICLES}add/", new_article_data(SectionFactory()))

    assert response.status_code == 302
    article = Article.objects.get(slug="a-new-story")
    assert article.created_by == contributor
    assert article.status == Article.Status.DRAFT
    html = page.content.decode()
    assert 'value="published"' not in html
    assert 'name="published_at_0"' not in html


def test_contributor_posting_status_published_gets_a_form_error(client, contributor):
    article = draft(created_by=contributor, headline="My draft")
    client.force_login(contributor)

    response = post_change(client, article, status="published", headline="Sneaky")

    assert response.status_code == 200
    assert "Select a valid choice" in visible_text(response)
    article.refresh_from_db()
    assert (article.status, article.headline) == ("draft", "My draft")


def test_contributor_cannot_set_a_publication_time(client, contributor):
    article = draft(created_by=contributor)
    client.force_login(contributor)

    response = post_change(
        client, article, published_at_0="2020-01-01", published_at_1="09:00:00", status="review"
    )

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == Article.Status.REVIEW
    assert article.published_at is None


def test_contributor_sees_a_published_story_read_only_and_cannot_post_to_it(client, contributor):
    article = ArticleFactory(created_by=contributor, headline="Already live")
    client.force_login(contributor)

    page = client.get(change_url(article))
    data = form_data(page, headline="Changed", _save="Save")
    response = client.post(change_url(article), data)

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert response.status_code == 403
    assert Article.objects.get(pk=article.pk).headline == "Already live"


def test_contributor_lists_their_own_work_and_published_stories_only(
    client, contributor, other_contributor
):
    draft(created_by=contributor, headline="My own draft")
    draft(created_by=other_contributor, headline="A colleague's draft")
    ArticleFactory(created_by=other_contributor, headline="A colleague's live story")
    client.force_login(contributor)

    text = visible_text(client.get(ARTICLES))

    assert "My own draft" in text
    assert "A colleague's live story" in text
    assert "A colleague's draft" not in text


def test_contributor_cannot_open_someone_elses_draft_or_its_history(
    client, contributor, other_contributor
):
    article = draft(created_by=other_contributor, body="<p>The source's name is Eka.</p>")
    client.force_login(contributor)

    change = client.get(change_url(article))
    history = client.get(f"{ARTICLES}{article.pk}/history/")
    revision = client.get(f"{ARTICLES}{article.pk}/history/{article.history.first().history_id}/")

    assert change.status_code == 302  # "doesn't exist", back to the admin index
    assert history.status_code in (403, 404)
    assert revision.status_code in (403, 404)
    for response in (change, history, revision):
        assert b"Eka" not in response.content


def test_publishing_actions_are_neither_offered_nor_accepted_for_contributors(client, contributor):
    article = draft(created_by=contributor)
    client.force_login(contributor)

    html = client.get(ARTICLES).content.decode()
    response = run_action(client, "publish_now", [article])

    assert 'value="submit_for_review"' in html
    for action in ("publish_now", "schedule", "unpublish"):
        assert f'value="{action}"' not in html
    assert "No action selected" in visible_text(client.get(response["Location"]))
    assert Article.objects.get(pk=article.pk).status == Article.Status.DRAFT


@pytest.mark.parametrize("action", ["publish_now", "schedule", "unpublish"])
def test_publishing_actions_check_the_permission_themselves(contributor, action):
    """Even if something let the request through to the action, the action refuses."""
    article = ArticleFactory(created_by=contributor)
    request = RequestFactory().post(ARTICLES, {"apply": "1", "publish_at": "2100-01-01T09:00"})
    request.user = contributor
    request.session = {}
    request._messages = FallbackStorage(request)
    model_admin = admin.site.get_model_admin(Article)

    with pytest.raises(PermissionDenied):
        getattr(model_admin, action)(request, Article.objects.filter(pk=article.pk))
    assert Article.objects.get(pk=article.pk).status == Article.Status.PUBLISHED


def test_contributor_cannot_revert_their_draft_to_a_published_revision(client, editor, contributor):
    article = ArticleFactory(created_by=contributor, headline="Published once")
    published_revision = article.history.earliest()
    article.unpublish()
    client.force_login(contributor)
    url = f"{ARTICLES}{article.pk}/history/{published_revision.history_id}/"

    page = client.get(url)
    response = client.post(url, form_data(page, REVERT_FORM, status="published", _save="Revert"))

    assert response.status_code == 200
    assert "Select a valid choice" in visible_text(response)
    assert Article.objects.get(pk=article.pk).status == Article.Status.DRAFT


def test_contributor_crafted_correction_is_ignored(client, contributor):
    article = draft(created_by=contributor)
    client.force_login(contributor)

    response = post_change(
        client,
        article,
        **{
            "corrections-TOTAL_FORMS": "1",
            "corrections-INITIAL_FORMS": "0",
            "corrections-0-text": "Not theirs to add.",
            "corrections-0-created_at_0": "2026-01-01",
            "corrections-0-created_at_1": "10:00:00",
        },
    )

    assert response.status_code == 302
    assert not Correction.objects.exists()
    assert client.get("/admin/newsroom/correction/add/").status_code == 404


def test_membership_manager_has_no_editorial_access(client, membership_manager):
    article = draft()
    client.force_login(membership_manager)

    assert client.get(ARTICLES).status_code == 403
    assert client.get(change_url(article)).status_code == 403
    assert run_action(client, "publish_now", [article]).status_code == 403
    index = visible_text(client.get("/admin/"))
    assert "Articles" not in index and "Images" not in index
    assert "Users" in index


def test_anonymous_visitors_are_sent_to_log_in(client):
    article = draft()
    response = run_action(client, "publish_now", [article])
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert Article.objects.get(pk=article.pk).status == Article.Status.DRAFT


def test_editor_is_not_a_superuser_but_runs_the_newsroom(editor):
    assert not editor.is_superuser
    assert editor.has_perm("newsroom.publish_article")
    assert editor.has_perm("newsroom.add_correction")
    assert not editor.has_perm("members.view_user")


def test_anonymous_user_has_no_publish_permission():
    assert not AnonymousUser().has_perm("newsroom.publish_article")


def test_a_contributor_can_neither_pick_nor_read_another_persons_draft_through_a_form(
    client, contributor, other_contributor
):
    """Security sweep, finding 1: the "translation of" field's autocomplete hides other
    people's drafts, and a tampered POST naming one must not save it (and show its headline)."""
    secret = draft(headline="Offshore accounts of the minister", created_by=other_contributor)
    mine = draft(headline="Town council notes", created_by=contributor)
    public = ArticleFactory(headline="Published elsewhere", created_by=other_contributor)
    client.force_login(contributor)

    response = post_change(client, mine, translation_of=str(secret.pk))

    assert response.status_code == 200
    assert "Select a valid choice" in visible_text(response)
    assert "Offshore accounts" not in response.content.decode()
    mine.refresh_from_db()
    assert mine.translation_of_id is None

    # What the contributor may see stays a valid choice.
    assert post_change(client, mine, translation_of=str(public.pk)).status_code == 302
    mine.refresh_from_db()
    assert mine.translation_of == public


def test_putting_the_roles_back_leaves_every_app_able_to_get_its_permissions_again():
    """Tests put the groups back after a transactional test emptied the database, with the
    roles migrations' own functions on the real app registry: those must leave each app's
    models module in place, or the next emptying recreates no permissions for it."""
    from django.apps import apps

    before = {config.label: config.models_module for config in apps.get_app_configs()}
    import_module("newsroom.migrations.0007_roles").create_roles(apps, None)
    import_module("members.migrations.0003_membership_manager_permissions").grant(apps)
    import_module("newsroom.migrations.0010_editors_manage_fundraiser_blocks").grant(apps, None)

    assert {config.label: config.models_module for config in apps.get_app_configs()} == before
