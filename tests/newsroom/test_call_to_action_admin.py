"""Editors make fundraiser blocks in the admin; what a block may hold (issue 10)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from newsroom.models import CallToAction, CallToActionCopy, Campaign
from tests import corpus
from tests.admin_forms import form_data
from tests.factories import ArticleFactory, CallToActionFactory
from tests.html import parse, visible_text

pytestmark = pytest.mark.django_db

ADD = "/admin/newsroom/calltoaction/add/"


def block_form(client, **changes):
    """The add form as an editor's browser submits it, with one English copy."""
    fields = {
        "name": "Inline fundraiser",
        "placement": "article_inline",
        "position": "3",
        "audience": "everyone",
        "starts_at_0": "2026-01-01",
        "starts_at_1": "00:00:00",
        "priority": "0",
        "target": "external",
        "external_url": "https://collective.example/georgia",
        "style": "standard",
        "dismiss_days": "7",
        "copies-0-language": "en",
        "copies-0-heading": "Safety equipment for Georgian newsrooms",
        "copies-0-body": "<p>Support small, <strong>independent</strong> outlets.</p>",
        "copies-0-button_label": "Give to the fundraiser",
        "_save": "Save",
    }
    return form_data(client.get(ADD), "calltoaction_form", **(fields | changes))


def test_an_editor_makes_a_block_with_its_copy_and_readers_see_it(client, editor):
    client.force_login(editor)

    response = client.post(ADD, block_form(client))

    assert response.status_code == 302, visible_text(response)
    block = CallToAction.objects.get()
    assert block.copies.get().heading == "Safety equipment for Georgian newsrooms"
    client.logout()
    story = ArticleFactory(body="".join(f"<p>P{n}</p>" for n in range(5)))
    page = parse(client.get(story.get_absolute_url()))
    assert page.select_one("aside.cta h2").get_text() == "Safety equipment for Georgian newsrooms"


def test_contributors_can_neither_open_nor_make_blocks_and_campaigns(client, contributor):
    client.force_login(contributor)
    assert client.get(ADD).status_code == 403
    assert client.get("/admin/newsroom/campaign/add/").status_code == 403
    assert client.post(ADD, {"name": "Sneaky"}).status_code == 403
    assert not CallToAction.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"external_url": "javascript:alert(1)"}, "external_url", "Enter a valid URL."),
        (
            {"external_url": "data:text/html,<script>alert(1)</script>"},
            "external_url",
            "Enter a valid URL.",
        ),
        ({"external_url": "http://collective.example/"}, "external_url", "Only https:// addresses"),
        ({"external_url": ""}, "external_url", "Give the address of the other site."),
        ({"target": "join"}, "external_url", "Only blocks that lead to another site"),
        (
            {"ends_at_0": "2025-12-31", "ends_at_1": "00:00:00"},
            "ends_at",
            "The end must come after",
        ),
        ({"position": "0"}, "position", "greater than or equal to 1"),
    ],
)
def test_bad_targets_and_schedules_are_form_errors_and_store_nothing(
    client, editor, changes, field, message
):
    client.force_login(editor)
    response = client.post(ADD, block_form(client, **changes))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors
    assert not CallToAction.objects.exists()


def test_a_campaign_goal_needs_its_figures(client, editor):
    client.force_login(editor)
    form = form_data(client.get("/admin/newsroom/campaign/add/"), "campaign_form")
    form |= {
        "name": ["Winter drive"],
        "goal": ["amount"],
        "goal_amount": ["5000"],
        "_save": ["Save"],
    }
    response = client.post("/admin/newsroom/campaign/add/", form)
    assert "Choose the currency" in visible_text(response)
    form["goal_currency"] = ["eur"]
    assert client.post("/admin/newsroom/campaign/add/", form).status_code == 302
    assert Campaign.objects.get().goal_amount == 5000


def test_hostile_text_in_a_block_is_escaped_or_sanitised_on_the_page(client):
    story = ArticleFactory()
    block = CallToActionFactory(name="Hostile")
    copy = block.copies.get()
    for line in corpus.xss_payloads()[::4]:
        copy.heading = line[:200]
        copy.button_label = line[:80]
        copy.body = line
        copy.save()
        copy.refresh_from_db()
        page = parse(client.get(story.get_absolute_url()))
        aside = page.select_one("aside.cta")
        assert aside.select_one("h2").get_text() == copy.heading
        assert aside.select_one("a.cta__button").get_text() == copy.button_label
        assert not aside.select("script, iframe, object, embed, svg, style, img")
        for element in aside.find_all(True):
            assert not [name for name in element.attrs if name.lower().startswith("on")], line
            href = element.get("href", "")
            assert not href.lower().startswith(("javascript:", "data:")), line


def test_every_naughty_string_reads_back_from_a_copys_plain_fields():
    block = CallToActionFactory(name="Strings")
    for line in corpus.naughty_strings():
        copy = CallToActionCopy.objects.get(block=block)
        copy.heading = line[:200]
        copy.button_label = line[:80]
        copy.save()
        copy.refresh_from_db()
        assert (copy.heading, copy.button_label) == (line[:200], line[:80])


def test_an_editor_previews_a_future_block_as_each_audience_would_see_it(client, editor):
    story = ArticleFactory(body="".join(f"<p>P{n}</p>" for n in range(6)))
    later = timezone.now() + timedelta(days=3)
    block = CallToActionFactory(name="Join our winter drive", target="join", starts_at=later)
    client.force_login(editor)
    change = parse(client.get(f"/admin/newsroom/calltoaction/{block.pk}/change/"))
    links = [a["href"] for a in change.select("a[href*='/preview/']")]
    assert len(links) == 5

    seen = {}
    for audience in ("anonymous", "registered", "member", "lapsed", "donor"):
        page = client.get(
            f"/admin/newsroom/calltoaction/{block.pk}/preview/",
            {"audience": audience, "article": story.pk},
        )
        assert page.status_code == 200
        assert "no-cache" in page["Cache-Control"]
        seen[audience] = [h.get_text() for h in parse(page).select("aside.cta h2")]
        assert "Preview of the fundraiser block" in visible_text(page)
    # Members are never asked to join; everyone else would see it once it starts.
    assert seen == {
        "anonymous": ["Join our winter drive"],
        "registered": ["Join our winter drive"],
        "member": [],
        "lapsed": ["Join our winter drive"],
        "donor": ["Join our winter drive"],
    }
    client.logout()
    assert headings_of(client.get(story.get_absolute_url())) == []


def test_contributors_cannot_preview_blocks(client, contributor):
    block = CallToActionFactory()
    ArticleFactory()
    client.force_login(contributor)
    assert client.get(f"/admin/newsroom/calltoaction/{block.pk}/preview/").status_code in (403, 404)


def headings_of(response):
    return [h.get_text() for h in parse(response).select("aside.cta h2")]
