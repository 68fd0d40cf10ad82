"""The demo newsroom that `make run` shows."""

import random

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.db.models import Q
from django.tasks import default_task_backend
from django.test import override_settings
from PIL import Image as PillowImage

from members.models import Membership, Plan, Price, User
from newsroom.demo.membership_history import remove_membership_history
from newsroom.demo.pictures import draw_picture
from newsroom.demo.writing import REGIONS, StoryWriter
from newsroom.models import (
    Article,
    Author,
    AuthorLink,
    CallToAction,
    Campaign,
    Correction,
    Image,
    Page,
    Region,
    Section,
    Tag,
)
from newsroom.search import is_full_text, plain_text
from tests.html import parse, visible_text

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One demo newsroom for the module: drawing its 30 pictures takes a while.

    Rendition tasks are only recorded (the dummy backend): building them is tested elsewhere.
    """
    dummy = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    with django_db_blocker.unblock(), override_settings(TASKS=dummy):
        call_command("demo", articles=80, seed=3, verbosity=0)
        yield
        Article.objects.all().delete()
        remove_membership_history()  # Its memberships hold on to the plans.
        Plan.objects.all().delete()  # The demo's membership plans; their prices go with them.
        CallToAction.objects.all().delete()
        Campaign.objects.all().delete()
        Page.objects.all().delete()
        for image in Image.objects.all():
            image.file.delete(save=False)
        for model in (Image, Author, Tag, Region, Section):
            model.objects.all().delete()


def test_demo_builds_a_realistic_newsroom(demo):
    assert 5 <= Section.objects.count() <= 8
    assert Region.objects.count() >= 6
    assert Author.objects.count() >= 10
    assert all(author.bio for author in Author.objects.all())
    assert Image.objects.count() == 30
    english = Article.objects.filter(language="en")
    assert english.count() == 80
    statuses = set(english.values_list("status", flat=True))
    assert statuses == {"published", "draft", "review"}
    assert english.published().count() >= 60


def test_demo_has_gated_corrected_and_translated_stories(demo):
    visibilities = set(Article.objects.values_list("visibility", flat=True))
    assert visibilities == {"public", "members", "early_access"}
    assert Correction.objects.exists()
    for edition in Article.objects.filter(language="ru"):
        assert edition.translation_of.language == "en"
        assert edition.get_absolute_url().startswith("/ru/")


def test_demo_text_is_plain_where_plain_text_belongs(demo):
    for article in Article.objects.all():
        assert "<" not in article.headline + article.standfirst + article.hero_caption
        assert article.body.startswith("<")
        assert article.bylines.exists()


def test_demo_queues_the_renditions_of_each_picture_once(demo):
    queued = [result.args[0] for result in default_task_backend.results]
    assert sorted(queued) == sorted(Image.objects.values_list("pk", flat=True))


def test_demo_pictures_are_shared_and_described(demo):
    with_hero = Article.objects.exclude(hero_image=None)
    assert with_hero.count() > Image.objects.count()
    for image in Image.objects.all():
        assert image.alt and image.credit
        with PillowImage.open(image.file) as picture:
            assert picture.size == (1600, 1067)
            assert not picture.getexif()


def test_demo_offers_membership_plans_in_english_and_russian(demo):
    assert list(Plan.objects.values_list("slug", flat=True)) == ["supporter", "sustainer", "patron"]
    assert Plan.objects.get(slug="sustainer").name_ru == "Опора"
    assert set(Price.objects.values_list("currency", "interval")) == {
        ("eur", "month"),
        ("eur", "year"),
        ("usd", "month"),
        ("usd", "year"),
    }
    assert Price.objects.count() == 12


def test_demo_asks_for_support_on_its_pages_in_both_languages(demo, client):
    long_story = next(
        article
        for article in Article.objects.published().filter(language="en", visibility="public")
        if article.body.count("<p>") >= 5
    )
    page = parse(client.get(long_story.get_absolute_url()))
    headings = [node.get_text() for node in page.select("aside.cta h2")]
    assert headings == [
        "Become a member",
        "Safety equipment for Georgian newsrooms",
        "Interested in directly assisting us?",
    ]
    # The goal counts the members of the demo's history who joined since the drive began.
    campaign = Campaign.objects.get()
    joined = (
        Membership.objects.active()
        .filter(kind="subscription", started_at__gte=campaign.starts_at)
        .count()
    )
    assert joined > 0
    assert f"{joined} of 500 members — 18 days left" in visible_text(page.select("aside.cta")[-1])
    assert "€12,400 raised" in visible_text(page.select("aside.cta")[1])
    front = parse(client.get("/"))
    assert "Every story here was paid for by readers" in visible_text(front)

    russian = Article.objects.published().filter(language="ru").first()
    headings = [h.get_text() for h in parse(client.get(russian.get_absolute_url())).select("h2")]
    assert "Оформите подписку" in headings


def test_demo_has_the_newsrooms_pages_in_english_and_russian(demo, client):
    pages = Page.objects.all()
    assert [page.slug for page in pages] == ["about", "contact", "terms", "privacy", "corrections"]
    for page in pages:
        assert page.title_en and page.title_ru and page.title_en != page.title_ru
        assert len(page.body_en) > 300 and len(page.body_ru) > 300
        assert "<h2>" in page.body_en and "<h2>" in page.body_ru
    english = [a.get_text() for a in parse(client.get("/")).select("footer nav a")]
    russian = [a.get_text() for a in parse(client.get("/ru/")).select("footer nav a")]
    assert english == ["About us", "Contact", "Terms of use", "Privacy", "Corrections policy"]
    assert russian[0] == "О нас" and len(russian) == 5


def test_demo_privacy_page_says_what_the_site_stores(demo, client):
    english = visible_text(client.get("/privacy/"))
    for promise in [
        "We set no cookies.",
        "We do not store your IP address",
        "tracking identifiers",
        "local storage",
        "a session cookie, a security (CSRF) cookie",
        "marker that tells our pages you are signed in",
        "Stripe holds your card details; we never see or store them.",
        "your email address",
    ]:
        assert promise in english, promise
    russian = visible_text(client.get("/ru/privacy/"))
    for promise in ["Мы не устанавливаем cookie.", "IP-адрес", "Stripe", "локальном хранилище"]:
        assert promise in russian, promise


def test_demo_authors_have_roles_and_links(demo, client):
    assert all(author.role for author in Author.objects.all())
    nino = Author.objects.get(slug="nino-kapanadze")
    assert nino.role == "Politics correspondent, Tbilisi"
    header = parse(client.get(nino.get_absolute_url())).select_one("main header")
    assert "Politics correspondent, Tbilisi" in visible_text(header)
    assert [a["href"] for a in header.select(".author__links a")] == [
        "https://social.example/@nino_kapanadze"
    ]


def test_demo_pins_a_lead_and_three_featured_stories_per_language(demo, client):
    for language, home in [("en", "/"), ("ru", "/ru/")]:
        stories = Article.objects.filter(language=language)
        pinnable = stories.published().filter(visibility="public").exclude(hero_image=None)
        expected = ["lead", "featured", "featured", "featured"][: pinnable.count()]
        pinned = stories.exclude(home_placement="").order_by("-home_placement", "-published_at")
        assert [story.home_placement for story in pinned] == expected
        assert all(story.is_published for story in pinned)
        page = parse(client.get(home))
        shown = [visible_text(h) for h in page.select(".cards--pinned .card__headline")]
        assert shown == [story.headline for story in pinned]
    assert Article.objects.filter(language="en").exclude(home_placement="").count() == 4


def test_running_the_demo_again_adds_stories_but_no_duplicates(demo):
    call_command("demo", articles=5, seed=3, verbosity=0)
    assert Article.objects.filter(language="en").count() == 85
    assert Image.objects.count() == 30
    assert Section.objects.count() <= 8
    total = Article.objects.count()
    call_command("demo", if_empty=True, verbosity=0)
    assert Article.objects.count() == total
    assert Plan.objects.count() == 3
    assert CallToAction.objects.count() == 4
    assert Page.objects.count() == 5
    assert AuthorLink.objects.filter(author__slug="levan-chikhradze").count() == 2
    assert Article.objects.filter(home_placement="lead").count() == 2
    assert Article.objects.filter(home_placement="featured", language="en").count() == 3


def test_the_same_seed_writes_the_same_stories():
    def stories(seed):
        writer = StoryWriter(random.Random(seed))
        region = REGIONS["georgia"]
        context = writer.context("politics", region)
        return writer.headline("politics", context), writer.body("politics", context, region)

    assert stories(11) == stories(11)
    assert stories(11) != stories(12)


def test_the_same_picture_is_drawn_identically():
    assert draw_picture(4) == draw_picture(4)


def test_negative_article_count_is_refused_with_an_explanation():
    with pytest.raises(CommandError, match="--articles must be 0 or more"):
        call_command("demo", articles=-1, verbosity=0)


def test_demo_login_makes_a_verified_editor(settings, capsys):
    settings.DEBUG = True
    call_command("demo_login")
    user = User.objects.get(email="editor@example.com")
    assert user.is_staff
    assert EmailAddress.objects.get(user=user).verified
    assert "editor@example.com /" in capsys.readouterr().out


def test_demo_login_refuses_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only runs with DJANGO_DEBUG=1"):
        call_command("demo_login")
    assert not User.objects.filter(is_staff=True).exists()


def test_demo_stories_can_be_found_by_search(demo):
    """On PostgreSQL the demo fills the search columns that its bulk writes skip."""
    story = Article.objects.published().filter(language="en").order_by("pk").first()
    word = max(plain_text(story.body).split()[:40], key=len).strip(".,;:")
    found = Article.objects.published().search(word, readable=Q(pk__isnull=False))
    assert story in found
    assert not Article.objects.filter(search_document=None).exists() or not is_full_text()
