"""An editor sets up the three fundraiser blocks of a typical story in the admin, and readers
meet them (issue 10), in a real browser."""

import re

import pytest

from newsroom.calls_to_action import flush_counts
from newsroom.models import CallToAction, CallToActionCopy, Campaign
from tests import corpus
from tests.browser.conftest import logged_in_context
from tests.browser.test_editor import choose
from tests.factories import (
    ArticleFactory,
    CallToActionFactory,
    MembershipFactory,
    SectionFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STORY = "".join(f"<p>Paragraph {n} of the story.</p>" for n in range(1, 7))


def add_block(page, live_server, *, name, placement, target, heading, text, button, **more):
    """Fill the admin's "add fundraiser block" form, with its English text, and save it."""
    page.goto(live_server.url + "/admin/newsroom/calltoaction/add/")
    page.get_by_label("Internal name").fill(name)
    page.get_by_label("Placement").select_option(placement)
    page.get_by_label("Button leads to").select_option(target)
    if "external_url" in more:
        page.get_by_label("External address").fill(more["external_url"])
    if more.get("dismissible"):
        page.get_by_label("Readers may close it").check()
    if "campaign" in more:
        choose(page, page.locator(".field-campaign"), more["campaign"], more["campaign"])
    copy = page.locator("#copies-0")
    copy.get_by_label("Language").select_option("en")
    copy.get_by_label("Heading").fill(heading)
    copy.locator(".tiptap").click()
    page.keyboard.type(text)
    copy.get_by_label("Button label").fill(button)
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was added successfully").wait_for()


def headings(page):
    return page.locator("aside.cta:visible h2").all_inner_texts()


def test_an_editor_sets_up_three_blocks_and_readers_meet_them(
    live_server, chromium, editor_page, member
):
    page = editor_page
    SectionFactory(slug="politics", name="Politics")
    story = ArticleFactory(body=STORY, hero_image=None)
    for _ in range(2):
        MembershipFactory()  # with `member`, three memberships since the campaign began

    page.goto(live_server.url + "/admin/newsroom/campaign/add/")
    page.get_by_label("Name").fill("Winter drive")
    page.get_by_label("Goal").select_option("members")
    page.get_by_label("Members wanted").fill("100")
    page.locator("#id_starts_at_0").fill("2020-01-01")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was added successfully").wait_for()
    add_block(
        page,
        live_server,
        name="Banner",
        placement="site_banner",
        target="join",
        heading="Become a member",
        text="Support independent journalism in the Caucasus: Join today",
        button="Become a member",
        dismissible=True,
    )
    add_block(
        page,
        live_server,
        name="Collective fundraiser",
        placement="article_inline",
        target="external",
        external_url="https://fundraiser.example/georgia",
        heading="Safety equipment for Georgian media",
        text="Support small, independent media outlets in Georgia via our collective fundraiser.",
        button="Give to the fundraiser",
    )
    add_block(
        page,
        live_server,
        name="End of story",
        placement="article_end",
        target="join",
        campaign="Winter drive",
        heading="Interested in directly assisting us?",
        text="Consider becoming a member.",
        button="Become a member",
    )
    assert CallToAction.objects.count() == 3
    assert Campaign.objects.get().goal_members == 100
    assert page.errors == []

    reader = chromium.new_context()
    reader_page = reader.new_page()
    reader_page.goto(live_server.url + story.get_absolute_url())
    assert headings(reader_page) == [
        "Become a member",
        "Safety equipment for Georgian media",
        "Interested in directly assisting us?",
    ]
    inline = reader_page.locator(".article-body > aside.cta")
    previous = inline.evaluate("el => el.previousElementSibling.textContent")
    assert previous == "Paragraph 3 of the story."
    goal = reader_page.locator("aside.cta", has_text="Interested").inner_text()
    assert re.search(r"3 of 100 members", goal)

    reader_page.get_by_role("button", name="Close").click()
    assert headings(reader_page)[0] == "Safety equipment for Georgian media"
    reader_page.goto(live_server.url + "/")
    assert reader_page.locator("aside.cta:visible").count() == 0
    reader_page.goto(live_server.url + story.get_absolute_url())
    assert "Become a member" not in headings(reader_page)
    reader.close()
    flush_counts()
    assert sum(CallToAction.objects.get(name="End of story").counts.values_list("views", flat=True))

    member_context = logged_in_context(chromium, live_server, member)
    member_page = member_context.new_page()
    member_page.goto(live_server.url + story.get_absolute_url())
    assert headings(member_page) == ["Safety equipment for Georgian media"]
    assert member_page.get_by_role("link", name="Your membership").is_visible()
    member_context.close()


def test_hostile_text_in_blocks_never_runs_in_the_readers_browser(live_server, page):
    story = ArticleFactory(body=STORY, hero_image=None)
    blocks = [
        CallToActionFactory(placement=placement)
        for placement in ("site_banner", "article_inline", "article_end")
    ]
    ran = []
    page.on("dialog", lambda dialog: (ran.append(dialog.message), dialog.dismiss()))
    payloads = corpus.xss_payloads()
    for start in range(0, 60, 3):
        for block, line in zip(blocks, payloads[start : start + 3], strict=True):
            CallToActionCopy.objects.filter(block=block).update(
                heading=line[:200], body=line, button_label=line[:80]
            )
        page.goto(live_server.url + story.get_absolute_url())
        page.wait_for_load_state("load")
        assert page.locator("aside.cta").count() == 3
    assert ran == []
