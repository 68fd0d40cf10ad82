"""Region, tag and author pages: what they list, their pager, and the links that lead to them."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsroom.models import Article, AuthorLink
from tests.admin_forms import form_data
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    AuthorLinkFactory,
    ImageFactory,
    RegionFactory,
    SectionFactory,
    TagFactory,
)
from tests.html import parse, visible_text

pytestmark = pytest.mark.django_db

KINDS = ["region", "tag", "author"]


def listing_target(kind, **fields):
    """A region, tag or author to list stories for."""
    factory = {"region": RegionFactory, "tag": TagFactory, "author": AuthorFactory}[kind]
    return factory(**fields)


def story_in(kind, target, **fields):
    """A story filed under the region or tag `target`, or written by the author `target`."""
    key = {"region": "regions", "tag": "tags", "author": "authors"}[kind]
    return ArticleFactory(**{key: [target]}, **fields)


def headlines(response):
    return [visible_text(h) for h in parse(response).select("main .card__headline")]


def archive(kind, target, count, image=None):
    """`count` stories under `target`, one a day, the newest first as "Story 00"."""
    image = image or ImageFactory()
    now = timezone.now()
    return [
        story_in(
            kind,
            target,
            headline=f"Story {n:02d}",
            hero_image=image,
            published_at=now - timedelta(days=n + 1),
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_listing_shows_only_published_stories_of_its_language(client, kind):
    target = listing_target(kind, name="Svaneti")
    story_in(kind, target, headline="Published here")
    story_in(kind, target, headline="A draft", status=Article.Status.DRAFT, published_at=None)
    story_in(kind, target, headline="In review", status=Article.Status.REVIEW, published_at=None)
    story_in(kind, target, headline="Scheduled", published_at=timezone.now() + timedelta(hours=1))
    story_in(kind, target, headline="Русская версия", language="ru")
    ArticleFactory(headline="Filed elsewhere")

    english = client.get(target.get_absolute_url())
    russian = client.get(f"/ru{target.get_absolute_url()}")

    assert english.status_code == 200
    assert visible_text(parse(english).h1) == "Svaneti"
    assert headlines(english) == ["Published here"]
    assert headlines(russian) == ["Русская версия"]


@pytest.mark.parametrize("kind", KINDS)
def test_listing_says_so_when_it_has_no_stories(client, kind):
    target = listing_target(kind)

    response = client.get(target.get_absolute_url())

    assert response.status_code == 200
    assert headlines(response) == []
    assert "published" in visible_text(parse(response).select_one(".empty"))


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_slug_is_not_found(client, kind):
    assert client.get(f"/{kind}/no-such-thing/").status_code == 404


def pager(response):
    """The pager as a reader meets it: its links' texts and targets, and the current page."""
    nav = parse(response).select_one("nav.pagination")
    if nav is None:
        return None
    return {
        "label": nav["aria-label"],
        "prev": nav.select_one("a[rel=prev]") and nav.select_one("a[rel=prev]")["href"],
        "next": nav.select_one("a[rel=next]") and nav.select_one("a[rel=next]")["href"],
        "numbers": [visible_text(li) for li in nav.select(".pagination__pages li")],
        "current": visible_text(nav.select_one("[aria-current=page]")),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_listing_pages_hold_twenty_stories_and_link_to_their_neighbours(client, kind):
    target = listing_target(kind)
    archive(kind, target, 45)
    url = target.get_absolute_url()

    first, second, third = (client.get(url, {"page": n}) for n in (1, 2, 3))

    assert headlines(first) == [f"Story {n:02d}" for n in range(20)]
    assert headlines(second) == [f"Story {n:02d}" for n in range(20, 40)]
    assert headlines(third) == [f"Story {n:02d}" for n in range(40, 45)]
    assert pager(first) == {
        "label": "Pages",
        "prev": None,
        "next": f"{url}?page=2",
        "numbers": ["Page 1", "Page 2", "Page 3"],
        "current": "Page 1",
    }
    assert pager(second)["prev"] == url  # page 1 has one address: the listing's own
    assert pager(second)["next"] == f"{url}?page=3"
    assert pager(second)["current"] == "Page 2"
    assert pager(third)["next"] is None
    assert [a.get_text() for a in parse(second).select("nav.pagination > a")] == [
        "Newer",
        "Older",
    ]
    assert client.get(url, {"page": 4}).status_code == 404


def test_pager_shows_nearby_pages_and_gaps_without_counting_the_listing(client):
    region = listing_target("region")
    archive("region", region, 20 * 8 + 1)  # nine pages

    with CaptureQueriesContext(connection) as queries:
        fifth = client.get(region.get_absolute_url(), {"page": 5})
    first = client.get(region.get_absolute_url())
    second = client.get(region.get_absolute_url(), {"page": 2})

    # The pager knows that more pages follow without knowing how many.
    pages = [f"Page {n}" for n in range(10)]
    assert pager(fifth)["numbers"] == [pages[1], "…", *pages[3:8], "…"]
    assert pager(fifth)["current"] == "Page 5"
    assert pager(first)["numbers"] == [*pages[1:4], "…"]
    assert pager(second)["numbers"] == [*pages[1:5], "…"]
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999999999999", "2", "", "1.5"])
def test_bad_or_missing_pages_are_not_found(client, kind, page):
    target = listing_target(kind)
    story_in(kind, target)

    assert client.get(target.get_absolute_url(), {"page": page}).status_code == 404


def test_listing_query_count_does_not_grow_with_the_archive(client):
    region, tag, author = RegionFactory(), TagFactory(), AuthorFactory()
    image = ImageFactory()

    def add(count):
        for _ in range(count):
            ArticleFactory(hero_image=image, regions=[region], tags=[tag], authors=[author])

    def queries():
        counts = {}
        for target in (region, tag, author):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(target.get_absolute_url()).status_code == 200
            counts[target.get_absolute_url()] = len(captured)
        return counts

    add(30)
    small = queries()
    add(270)
    large = queries()

    assert large == small
    # the listing's owner, its stories' ids and whether more pages follow, what their cards'
    # pictures depend on, the stories and their bylines (no card is kept yet), the
    # navigation, the footer, the fundraiser blocks (and the author's links)
    assert max(small.values()) <= 9


def test_author_page_shows_photo_role_biography_and_links(client):
    author = AuthorFactory(
        name="Nino Kapanadze",
        role="Politics correspondent, Tbilisi",
        bio="<p>Covers the courts. <strong>Reads every budget line twice.</strong></p>",
        photo=ImageFactory(rendered=True),
    )
    AuthorLinkFactory(author=author, label="Website", url="https://nino.example/", position=1)
    AuthorLinkFactory(author=author, label="Mastodon", url="https://social.example/@nino")
    story_in("author", author, headline="Court hears the water case")

    page = parse(client.get(author.get_absolute_url()))

    header = page.select_one("main header")
    assert visible_text(header.h1) == "Nino Kapanadze"
    assert "Politics correspondent, Tbilisi" in visible_text(header)
    assert "Reads every budget line twice." in visible_text(header)
    assert header.select_one(".author__bio strong") is not None
    assert header.select_one("picture img")["src"]
    assert [(a.get_text(), a["href"]) for a in header.select(".author__links a")] == [
        ("Mastodon", "https://social.example/@nino"),
        ("Website", "https://nino.example/"),
    ]
    assert headlines(page) == ["Court hears the water case"]


def test_author_page_without_photo_role_or_links_shows_the_name_only(client):
    author = AuthorFactory(name="Aram Hakobyan", bio="")

    page = parse(client.get(author.get_absolute_url()))

    assert visible_text(page.select_one("main header")) == "Aram Hakobyan"
    assert page.select_one("main header picture") is None


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JavaScript:alert(document.cookie)", "data:text/html,hi", "nino"],
)
def test_author_link_must_be_a_web_address(url):
    link = AuthorLink(author=AuthorFactory(), label="Site", url=url)

    with pytest.raises(ValidationError) as error:
        link.full_clean()

    assert "url" in error.value.message_dict


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,hi"])
def test_admin_refuses_an_author_link_that_is_not_a_web_address(client, editor, url):
    author = AuthorFactory(name="Leyla Huseynova", slug="leyla-huseynova")
    client.force_login(editor)
    change = f"/admin/newsroom/author/{author.pk}/change/"
    data = form_data(
        client.get(change),
        form_id="author_form",
        **{"links-TOTAL_FORMS": "1", "links-0-label": "Site", "links-0-url": url},
        **{"links-0-position": "0", "_save": "Save"},
    )
    response = client.post(change, data)

    assert response.status_code == 200
    assert "Enter a valid URL." in visible_text(response)
    assert not AuthorLink.objects.exists()


def test_editor_adds_author_role_and_links_in_the_admin(client, editor):
    author = AuthorFactory(name="Leyla Huseynova", slug="leyla-huseynova")
    client.force_login(editor)
    change = f"/admin/newsroom/author/{author.pk}/change/"
    data = form_data(
        client.get(change),
        form_id="author_form",
        role="Environment reporter, Baku",
        **{"links-TOTAL_FORMS": "1", "links-0-label": "Website"},
        **{"links-0-url": "https://leyla.example/", "links-0-position": "0", "_save": "Save"},
    )
    response = client.post(change, data)

    assert response.status_code == 302
    page = parse(client.get(author.get_absolute_url()))
    assert "Environment reporter, Baku" in visible_text(page.select_one("main header"))
    assert [a["href"] for a in page.select(".author__links a")] == ["https://leyla.example/"]


# The article page leads to the listings.


def test_article_bylines_regions_and_tags_link_to_their_pages(client):
    nino, aram = AuthorFactory(name="Nino Beridze"), AuthorFactory(name="Aram Petrosyan")
    georgia, armenia = RegionFactory(name="Georgia"), RegionFactory(name="Armenia")
    water = TagFactory(name="Water")
    article = ArticleFactory(authors=[nino, aram], regions=[georgia, armenia], tags=[water])

    page = parse(client.get(article.get_absolute_url()))

    byline = page.select_one("article .byline")
    assert visible_text(byline) == "By Nino Beridze and Aram Petrosyan"
    assert [a["href"] for a in byline.select("a")] == [
        nino.get_absolute_url(),
        aram.get_absolute_url(),
    ]
    filed = page.select_one("nav.filed-under")
    assert filed["aria-label"] == "Regions and topics"
    assert [(a.get_text(), a["href"]) for a in filed.select("a")] == [
        ("Armenia", armenia.get_absolute_url()),
        ("Georgia", georgia.get_absolute_url()),
        ("Water", water.get_absolute_url()),
    ]
    for url in [nino.get_absolute_url(), georgia.get_absolute_url(), water.get_absolute_url()]:
        assert article.headline in headlines(client.get(url))


def test_card_bylines_on_listings_link_to_the_authors(client):
    author = AuthorFactory(name="Ani Sargsyan")
    ArticleFactory(authors=[author])

    page = parse(client.get("/"))

    assert [a["href"] for a in page.select(".card .byline a")] == [author.get_absolute_url()]


def test_russian_edition_links_to_russian_listings(client):
    region = RegionFactory(name="Georgia", slug="georgia")
    author = AuthorFactory(slug="nino")
    edition = ArticleFactory(language="ru", slug="istoriya", regions=[region], authors=[author])

    page = parse(client.get(edition.get_absolute_url()))

    assert page.select_one("nav.filed-under a")["href"] == "/ru/region/georgia/"
    assert page.select_one(".byline a")["href"] == "/ru/author/nino/"


# Related stories under the article.


def related(response):
    return [visible_text(h) for h in parse(response).select("aside.related h3")]


def test_related_stories_share_the_section_a_region_or_a_tag(client):
    politics, culture = SectionFactory(slug="politics"), SectionFactory(slug="culture")
    georgia, water = RegionFactory(), TagFactory()
    article = ArticleFactory(section=politics, regions=[georgia], tags=[water])
    hours = iter(range(2, 100))

    def story(headline, **fields):
        fields.setdefault("published_at", timezone.now() - timedelta(hours=next(hours)))
        return ArticleFactory(headline=headline, **fields)

    story("Same section", section=politics)
    story("Same region", section=culture, regions=[georgia])
    story("Same tag", section=culture, tags=[water])
    story("Unrelated", section=culture, regions=[RegionFactory()], tags=[TagFactory()])
    story("A draft", section=politics, status=Article.Status.DRAFT, published_at=None)
    story("Scheduled", section=politics, published_at=timezone.now() + timedelta(hours=1))
    story("Russian", section=politics, language="ru")

    response = client.get(article.get_absolute_url())

    assert related(response) == ["Same section", "Same region", "Same tag"]
    aside = parse(response).select_one("aside.related")
    assert visible_text(aside.h2) == "Related stories"


def test_at_most_four_related_stories_the_latest_first(client):
    article = ArticleFactory(published_at=timezone.now() - timedelta(days=30))
    for n in range(6):
        ArticleFactory(
            headline=f"Related {n}",
            published_at=timezone.now() - timedelta(days=n + 1),
            regions=[RegionFactory(slug="shared")],
            tags=[TagFactory(slug="also-shared")],
        )

    assert related(client.get(article.get_absolute_url())) == [f"Related {n}" for n in range(4)]


def test_a_story_with_nothing_related_shows_no_related_block(client):
    article = ArticleFactory()

    assert parse(client.get(article.get_absolute_url())).select_one("aside.related") is None


def test_article_query_count_does_not_grow_with_related_stories(client):
    region, tag, image = RegionFactory(), TagFactory(), ImageFactory()
    article = ArticleFactory(regions=[region], tags=[tag])

    def add(count):
        for _ in range(count):
            ArticleFactory(hero_image=image, regions=[region], tags=[tag])

    add(30)
    with CaptureQueriesContext(connection) as small:
        assert client.get(article.get_absolute_url()).status_code == 200
    add(270)
    with CaptureQueriesContext(connection) as large:
        assert client.get(article.get_absolute_url()).status_code == 200

    assert len(large) == len(small)
    assert len(related(client.get(article.get_absolute_url()))) == 4


def test_region_and_tag_pages_describe_themselves(client):
    region, tag = RegionFactory(name="Armenia"), TagFactory(name="Water")

    region_page, tag_page = (
        parse(client.get(region.get_absolute_url())),
        parse(client.get(tag.get_absolute_url())),
    )

    assert region_page.select_one("meta[name=description]")["content"].startswith(
        "Stories from Armenia — "
    )
    assert tag_page.select_one("meta[name=description]")["content"].startswith(
        "Stories about Water — "
    )
    assert region_page.title.get_text().startswith("Armenia — ")
