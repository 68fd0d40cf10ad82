"""Fundraiser blocks on the reader's pages: which block shows where, for whom, and how the page
stays the same for every anonymous reader (issue 10; newsroom.calls_to_action)."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.access import audiences_of
from members.models import Donation, Payment
from newsroom.calls_to_action import blocks_for_page
from newsroom.models import Article, CallToAction
from tests.factories import (
    ArticleFactory,
    CallToActionFactory,
    CampaignFactory,
    ImageFactory,
    MembershipFactory,
    SectionFactory,
)
from tests.html import parse, visible_text

pytestmark = pytest.mark.django_db

Audience, Placement, Target = CallToAction.Audience, CallToAction.Placement, CallToAction.Target
PARAGRAPHS = "".join(f"<p>Paragraph {n}.</p>" for n in range(1, 7))


def headings(response):
    """The headings of the fundraiser blocks on a page, in order."""
    return [node.get_text(strip=True) for node in parse(response).select("aside.cta h2")]


@pytest.fixture
def donor(reader):
    Donation.objects.create(user=reader, amount=1000, currency="eur", status="paid")
    return reader


@pytest.fixture
def article(db):
    return ArticleFactory(body=PARAGRAPHS, hero_image=None)


# Audiences ----------------------------------------------------------------------------------------

PERSONAS = ["anonymous", "reader", "member", "lapsed_member", "donor"]


def log_in(client, request, persona):
    if persona == "anonymous":
        return None
    user = request.getfixturevalue(persona)
    client.force_login(user)
    return user


@pytest.mark.parametrize("placement", Placement.values)
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("audience", Audience.values)
def test_a_block_shows_to_exactly_the_readers_of_its_audience(
    client, request, article, persona, audience, placement
):
    for name, aimed_at, priority in [("Aimed", audience, 1), ("Fallback", Audience.EVERYONE, 0)]:
        # Between the front page's first and second story, or after paragraph 1 of 6.
        CallToActionFactory(
            name=name, audience=aimed_at, priority=priority, placement=placement, position=1
        )
    ArticleFactory(slug="another-story")
    user = log_in(client, request, persona)
    page = "/" if placement == Placement.LISTING else article.get_absolute_url()

    shown = headings(client.get(page))

    belongs = audience in audiences_of(user)
    assert shown == (["Aimed"] if belongs else ["Fallback"]), (persona, audience, placement)


def test_readers_in_several_audiences_match_each_of_them(client, lapsed_member, member, article):
    for giver in (lapsed_member, member):
        Donation.objects.create(user=giver, amount=500, currency="eur", status="paid")
    CallToActionFactory(
        name="Welcome back", audience=Audience.LAPSED, placement=Placement.SITE_BANNER
    )
    CallToActionFactory(
        name="Join again",
        audience=Audience.REGISTERED,
        placement=Placement.ARTICLE_INLINE,
        target=Target.JOIN,
    )
    CallToActionFactory(name="Thank you for giving", audience=Audience.DONORS)

    client.force_login(lapsed_member)
    assert headings(client.get(article.get_absolute_url())) == [
        "Welcome back",
        "Join again",
        "Thank you for giving",
    ]
    client.force_login(member)
    assert headings(client.get(article.get_absolute_url())) == ["Thank you for giving"]


@pytest.mark.parametrize("placement", [Placement.SITE_BANNER, Placement.ARTICLE_END])
@pytest.mark.parametrize("audience", [Audience.EVERYONE, Audience.MEMBERS])
def test_members_are_never_asked_to_become_members(client, member, article, placement, audience):
    CallToActionFactory(
        name="Join us", target=Target.JOIN, audience=audience, placement=placement, priority=5
    )
    CallToActionFactory(name="Give", target=Target.DONATE, audience=audience, placement=placement)
    client.force_login(member)

    shown = headings(client.get(article.get_absolute_url()))

    assert shown == ["Give"]
    client.logout()
    if audience == Audience.EVERYONE:
        assert headings(client.get(article.get_absolute_url())) == ["Join us"]


def test_a_gated_story_shows_its_own_prompt_and_no_second_invitation_to_join(client):
    story = ArticleFactory(visibility=Article.Visibility.MEMBERS, body=PARAGRAPHS)
    CallToActionFactory(name="Join at the end", target=Target.JOIN, priority=5)
    CallToActionFactory(name="Or give", target=Target.DONATE)

    page = client.get(story.get_absolute_url())

    assert "This story is for members" in visible_text(page)
    assert headings(page) == ["Or give"]


# When, where, which language ------------------------------------------------------------------


def test_expired_and_future_blocks_never_show(client, article):
    now = timezone.now()
    CallToActionFactory(name="Over", ends_at=now - timedelta(minutes=1))
    CallToActionFactory(name="Not yet", starts_at=now + timedelta(minutes=1))
    assert headings(client.get(article.get_absolute_url())) == []

    CallToActionFactory(name="Now", ends_at=now + timedelta(days=1))
    assert headings(client.get(article.get_absolute_url())) == ["Now"]


def test_a_block_for_some_sections_shows_only_on_their_stories_and_pages(client):
    politics = SectionFactory(slug="politics", name="Politics")
    climate = SectionFactory(slug="climate", name="Climate")
    block = CallToActionFactory(name="Climate desk", placement=Placement.LISTING, position=1)
    block.sections.set([climate])
    for section in (politics, climate, climate):
        ArticleFactory(section=section)

    assert headings(client.get("/section/climate/")) == ["Climate desk"]
    assert headings(client.get("/section/politics/")) == []
    assert headings(client.get("/")) == []


def test_a_page_in_a_language_without_a_copy_shows_none_of_that_block(client):
    english = ArticleFactory(body=PARAGRAPHS)
    russian = ArticleFactory(body=PARAGRAPHS, language="ru", slug="russkaya-istoriya")
    CallToActionFactory(name="Both", languages=["en", "ru"], priority=1)
    CallToActionFactory(name="English only", priority=9)

    assert headings(client.get(english.get_absolute_url())) == ["English only"]
    assert headings(client.get(russian.get_absolute_url())) == ["Both (ru)"]


def test_ties_are_broken_by_the_page_the_same_way_every_time(client):
    stories = [ArticleFactory(body=PARAGRAPHS) for _ in range(4)]
    first = CallToActionFactory(name="First")
    second = CallToActionFactory(name="Second")
    tied = sorted([first, second], key=lambda block: block.pk)

    for story in stories:
        expected = tied[story.pk % 2].name
        for _ in range(2):
            assert headings(client.get(story.get_absolute_url())) == [expected]
    assert {tied[story.pk % 2].name for story in stories} == {"First", "Second"}


# Placements ---------------------------------------------------------------------------------------


def test_the_banner_heads_every_page_and_the_end_block_follows_the_story(client, article):
    CallToActionFactory(name="Banner", placement=Placement.SITE_BANNER, target=Target.JOIN)
    CallToActionFactory(name="The end", placement=Placement.ARTICLE_END)

    page = parse(client.get(article.get_absolute_url()))

    banner, end = page.select("aside.cta")
    assert banner.find_parent("main") is None and banner.find_next("main") is not None
    assert end.find_previous("div", class_="article-body") is not None
    click = client.get(banner.select_one("a")["href"])
    assert click.status_code == 302
    assert click["Location"] == f"/membership/?cta={CallToAction.objects.get(name='Banner').pk}"
    for path in ("/", "/section/politics/", "/donate/", "/accounts/login/"):
        assert headings(client.get(path))[:1] == ["Banner"], path


def test_the_inline_block_comes_after_its_paragraph_and_never_inside_a_figure_or_list(client):
    image = ImageFactory()
    body = (
        "<p>One.</p><ul><li><p>Listed.</p></li></ul><blockquote><p>Quoted.</p></blockquote>"
        f'<p>Two.</p><figure data-image-id="{image.pk}"><figcaption>Cap</figcaption></figure>'
        "<p>Three.</p><p>Four.</p>"
    )
    story = ArticleFactory(body=body)
    CallToActionFactory(name="Inline", placement=Placement.ARTICLE_INLINE, position=3)

    content = parse(client.get(story.get_absolute_url())).select_one("div.article-body")

    block = content.select_one("aside.cta")
    assert block.parent is content
    assert block.find_previous_sibling().get_text() == "Three."
    assert block.find_next_sibling().get_text() == "Four."


@pytest.mark.parametrize(("paragraphs", "shown"), [(3, False), (4, True)])
def test_a_story_too_short_for_the_inline_block_gets_none(client, paragraphs, shown):
    story = ArticleFactory(body="".join(f"<p>P{n}.</p>" for n in range(paragraphs)))
    CallToActionFactory(name="Inline", placement=Placement.ARTICLE_INLINE, position=3)
    assert headings(client.get(story.get_absolute_url())) == (["Inline"] if shown else [])


def test_the_listing_block_stands_between_stories_on_the_front_and_section_pages(client):
    for _ in range(5):
        ArticleFactory()
    CallToActionFactory(name="Between", placement=Placement.LISTING, position=2)

    for path in ("/", "/section/politics/"):
        cards = parse(client.get(path)).select_one("div.cards")
        children = [child for child in cards.children if getattr(child, "name", None)]
        assert [child.name for child in children][:4] == ["article", "article", "aside", "article"]


# Goals ----------------------------------------------------------------------------------------


def noon_in_days(days):
    """Noon, `days` days from today in the newsroom's time zone: "N days left" whatever the
    time of day the test runs at (now + N days could cross midnight there)."""
    return timezone.make_aware(
        datetime.combine(timezone.localdate() + timedelta(days=days), time(12))
    )


def test_a_members_goal_counts_new_current_memberships_since_the_start(client, article):
    campaign = CampaignFactory(goal="members", goal_members=500)
    campaign.deadline = noon_in_days(18)
    campaign.save()
    for _ in range(2):
        MembershipFactory()
    MembershipFactory(status="canceled")  # not current
    # Recorded since the start (by reconciliation, say), but it started before: not new.
    MembershipFactory(started_at=campaign.starts_at - timedelta(days=1))
    CallToActionFactory(name="Goal", campaign=campaign, target=Target.JOIN)

    page = parse(client.get(article.get_absolute_url()))

    bar = page.select_one("aside.cta progress")
    assert (bar["value"], bar["max"]) == ("2", "500")
    assert "2 of 500 members — 18 days left" in visible_text(page.select_one("aside.cta"))


def test_an_amount_goal_counts_payments_in_its_currency_net_of_refunds(client, article):
    campaign = CampaignFactory(goal="amount", goal_amount=5000, goal_currency="eur")
    now = timezone.now()
    for stripe_id, amount, currency, refunded, status in [
        ("in_1", 5000, "eur", 0, "paid"),
        ("in_2", 2500, "eur", 500, "partially_refunded"),
        ("in_3", 9900, "usd", 0, "paid"),
        ("in_4", 7000, "eur", 0, "disputed"),
    ]:
        Payment.objects.create(
            stripe_id=stripe_id,
            amount=amount,
            currency=currency,
            amount_refunded=refunded,
            status=status,
            kind="donation",
            paid_at=now,
        )
    Payment.objects.create(
        stripe_id="in_0",
        amount=100000,
        currency="eur",
        kind="donation",
        paid_at=now - timedelta(days=30),
    )
    CallToActionFactory(name="Goal", campaign=campaign)

    block = parse(client.get(article.get_absolute_url())).select_one("aside.cta")

    assert block.select_one("progress")["value"] == "7000"
    assert "€70 of €5,000 raised" in visible_text(block)


def test_an_external_fundraiser_shows_its_typed_figure_never_our_progress(client, article):
    campaign = CampaignFactory(goal="members", goal_members=10)
    MembershipFactory()
    CallToActionFactory(
        name="Georgia",
        campaign=campaign,
        target=Target.EXTERNAL,
        external_url="https://collective.example/georgia",
        external_progress="€12,400 raised",
        external_progress_on=timezone.localdate().replace(day=1),
    )

    block = parse(client.get(article.get_absolute_url())).select_one("aside.cta")

    assert block.select_one("progress") is None
    assert "€12,400 raised (as of 1 " in visible_text(block)
    link = block.select_one("a")
    assert link["rel"] == "noopener"
    assert client.get(link["href"])["Location"] == "https://collective.example/georgia"


# Cache safety and cost --------------------------------------------------------------------------


def test_an_anonymous_page_with_blocks_is_the_same_for_everyone_and_sets_nothing(client, article):
    CallToActionFactory(name="Banner", placement=Placement.SITE_BANNER, target=Target.JOIN)
    CallToActionFactory(name="Inline", placement=Placement.ARTICLE_INLINE)
    CallToActionFactory(name="End", campaign=CampaignFactory(goal="members", goal_members=9))

    first = client.get(article.get_absolute_url())
    second = client.get(article.get_absolute_url())

    assert headings(first) == ["Banner", "Inline", "End"]
    assert first.content == second.content
    assert not first.cookies
    assert "Cookie" not in first.get("Vary", "")
    assert "private" not in first.get("Cache-Control", "")


def test_a_signed_in_readers_page_with_blocks_is_private(client, reader, article):
    CallToActionFactory(name="For registered readers", audience=Audience.REGISTERED)
    client.force_login(reader)
    response = client.get(article.get_absolute_url())
    assert headings(response) == ["For registered readers"]
    assert "private" in response["Cache-Control"]


def count_queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", ["article", "/", "/section/politics/"])
def test_blocks_cost_one_query_whatever_their_number_and_the_archives(client, path):
    # More than a page, so that every count includes the pager's look ahead.
    stories = [ArticleFactory(body=PARAGRAPHS) for _ in range(25)]
    url = stories[0].get_absolute_url() if path == "article" else path
    without = count_queries(client, url)
    campaign = CampaignFactory(goal="amount", goal_amount=100, goal_currency="eur")
    for placement in Placement.values:
        CallToActionFactory(placement=placement, campaign=campaign)
    some = count_queries(client, url)
    for placement in Placement.values * 5:
        CallToActionFactory(
            placement=placement, campaign=CampaignFactory(goal="members", goal_members=3)
        )
    for _ in range(20):
        ArticleFactory(body=PARAGRAPHS)
    many = count_queries(client, url)

    # The banner of a page without blocks is looked for too: the one query is always there.
    assert some == many == without


def test_the_choice_says_until_when_it_holds(rf):
    now = timezone.now()
    story = ArticleFactory()
    CallToActionFactory(name="Ends soon", ends_at=now + timedelta(hours=2))
    CallToActionFactory(name="Starts later", starts_at=now + timedelta(hours=1))
    CallToActionFactory(
        name="Other placement",
        placement=Placement.LISTING,
        starts_at=now + timedelta(minutes=5),
    )
    request = rf.get("/")

    blocks = blocks_for_page(request, article=story)

    assert blocks["article_end"].name == "Ends soon"
    assert abs(blocks.valid_until() - (now + timedelta(hours=1))) < timedelta(seconds=5)

    Article.objects.all().delete()
    CallToAction.objects.all().delete()
    campaign = CampaignFactory(goal="members", goal_members=5, deadline=now + timedelta(days=9))
    CallToActionFactory(name="Countdown", campaign=campaign)
    story = ArticleFactory()
    # A new request: one request sees one state of the site (newsroom.object_cache).
    until = blocks_for_page(rf.get("/"), article=story).valid_until()
    assert until == timezone.make_aware(
        timezone.datetime.combine(
            timezone.localdate(now) + timedelta(days=1), timezone.datetime.min.time()
        )
    )


def test_the_header_says_your_membership_to_a_member_only(client, member, reader):
    assert "Become a member" in visible_text(client.get("/"))
    client.force_login(member)
    assert "Your membership" in visible_text(client.get("/donate/"))
    client.force_login(reader)
    assert "Become a member" in visible_text(client.get("/donate/"))


def test_a_russian_page_tells_the_goal_in_russian(client):
    campaign = CampaignFactory(goal="members", goal_members=500)
    campaign.deadline = noon_in_days(18)
    campaign.save()
    for _ in range(2):
        MembershipFactory()
    CallToActionFactory(name="Goal", campaign=campaign, target=Target.JOIN, languages=["ru"])
    story = ArticleFactory(body=PARAGRAPHS, language="ru", slug="russkaya-istoriya")

    block = parse(client.get(story.get_absolute_url())).select_one("aside.cta")

    assert "2 из 500 подписчиков — осталось 18 дней" in visible_text(block)
