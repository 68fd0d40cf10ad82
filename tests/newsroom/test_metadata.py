"""What pages tell search engines and link previews: canonical addresses, editions in other
languages, OpenGraph, the X card and JSON-LD; and where the header's language links go."""

import io
import json
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image as PillowImage

from newsroom.models import Article, Correction, Page, Region, Section, Tag
from tests.conftest import SignedInClient
from tests.factories import ArticleFactory, AuthorFactory, ImageFactory, jpeg_bytes
from tests.html import parse

pytestmark = pytest.mark.django_db

SENTINEL = "SENTINEL-7f3a9c-gated-body"


def head(response):
    assert response.status_code == 200
    return parse(response).head


def meta(response, name):
    """The content of every <meta property=name> (OpenGraph) or <meta name=name>, in order."""
    tags = head(response).find_all("meta", attrs={"property": name}) or head(response).find_all(
        "meta", attrs={"name": name}
    )
    return [tag["content"] for tag in tags]


def links(response, rel):
    """{hreflang or None: href} of the head's <link rel=rel> elements."""
    return {link.get("hreflang"): link["href"] for link in head(response).find_all("link", rel=rel)}


def json_ld(response):
    [script] = head(response).find_all("script", type="application/ld+json")
    return json.loads(script.string)


def header_languages(response):
    """{language code: href} of the header's language links."""
    return {link["hreflang"]: link["href"] for link in parse(response).select("ul.languages a")}


def story_with_russian_edition(**kwargs):
    original = ArticleFactory(slug="border-reopens", **kwargs)
    russian = ArticleFactory(
        language="ru", slug="granica-otkryta", translation_of=original, section=original.section
    )
    return original, russian


# Canonical address and editions


def test_article_names_its_absolute_canonical_address(client):
    article = ArticleFactory()

    response = client.get(article.get_absolute_url() + "?utm_source=newsletter")

    assert links(response, "canonical") == {None: f"http://testserver{article.get_absolute_url()}"}
    assert meta(response, "og:url") == [f"http://testserver{article.get_absolute_url()}"]


def test_canonical_address_is_https_behind_the_proxy(client):
    article = ArticleFactory()

    response = client.get(
        article.get_absolute_url(), headers={"Host": "testserver", "X-Forwarded-Proto": "https"}
    )

    assert links(response, "canonical")[None].startswith("https://testserver/")


def test_every_edition_names_all_editions_and_the_original_as_x_default(client):
    original, russian = story_with_russian_edition()
    expected = {
        "en": f"http://testserver{original.get_absolute_url()}",
        "ru": f"http://testserver{russian.get_absolute_url()}",
        "x-default": f"http://testserver{original.get_absolute_url()}",
    }

    for edition in (original, russian):
        alternates = links(client.get(edition.get_absolute_url()), "alternate")
        assert {lang: url for lang, url in alternates.items() if lang} == expected


def test_story_without_editions_is_its_own_only_alternate(client):
    article = ArticleFactory()
    url = f"http://testserver{article.get_absolute_url()}"

    alternates = links(client.get(article.get_absolute_url()), "alternate")

    assert alternates == {"en": url, "x-default": url}


def test_unpublished_edition_is_not_named(client):
    original = ArticleFactory()
    ArticleFactory(language="ru", translation_of=original, status=Article.Status.DRAFT)

    response = client.get(original.get_absolute_url())

    assert set(links(response, "alternate")) == {"en", "x-default"}
    assert header_languages(response)["ru"] == "/ru/"


def test_translation_of_an_unpublished_original_names_no_x_default(client):
    original = ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    russian = ArticleFactory(language="ru", translation_of=original)

    response = client.get(russian.get_absolute_url())

    assert links(response, "alternate") == {"ru": f"http://testserver{russian.get_absolute_url()}"}
    assert header_languages(response)["en"] == "/"


# Link previews and structured data


def test_link_preview_describes_the_story(client):
    author = AuthorFactory(name="Giorgi Kapanadze", slug="giorgi-kapanadze")
    article = ArticleFactory(
        headline="Border crossing reopens",
        standfirst="Traders queue through the night.",
        section=Section.objects.create(name="Economy", slug="economy"),
        hero_image=ImageFactory(alt="Lorries on a mountain road", rendered=True),
        hero_alt="Lorries queue at the border at dawn",
        authors=[author],
    )
    article.regions.add(Region.objects.create(name="Georgia", slug="georgia"))
    article.tags.add(Tag.objects.create(name="Trade", slug="trade"))
    correction = Correction.objects.create(
        article=article, text="An earlier version misnamed the crossing."
    )

    response = client.get(article.get_absolute_url())

    assert meta(response, "og:type") == ["article"]
    assert meta(response, "og:site_name") == ["The Highland Courier"]
    assert meta(response, "og:title") == ["Border crossing reopens"]
    assert meta(response, "og:description") == ["Traders queue through the night."]
    assert meta(response, "description") == ["Traders queue through the night."]
    assert meta(response, "og:locale") == ["en"]
    assert meta(response, "og:image") == [f"http://testserver{article.hero_image.file.social_jpeg}"]
    assert meta(response, "og:image:width") == ["1200"]
    assert meta(response, "og:image:height") == ["630"]
    assert meta(response, "og:image:alt") == ["Lorries queue at the border at dawn"]
    assert meta(response, "article:published_time") == [
        timezone.localtime(article.published_at).isoformat(timespec="seconds")
    ]
    assert meta(response, "article:modified_time") == [
        timezone.localtime(correction.created_at).isoformat(timespec="seconds")
    ]
    assert meta(response, "article:section") == ["Economy"]
    assert meta(response, "article:tag") == ["Georgia", "Trade"]
    assert meta(response, "article:author") == ["http://testserver/author/giorgi-kapanadze/"]
    assert meta(response, "twitter:card") == ["summary_large_image"]


def test_seo_title_and_description_replace_headline_and_standfirst(client):
    article = ArticleFactory(
        headline="Border crossing reopens after three weeks of talks between both governments",
        seo_title="Upper Lars crossing reopens",
        seo_description="Lorries move again on the only road between the two countries.",
    )

    response = client.get(article.get_absolute_url())

    assert head(response).title.string == "Upper Lars crossing reopens"
    assert meta(response, "og:title") == ["Upper Lars crossing reopens"]
    assert meta(response, "og:description") == [article.seo_description]
    assert meta(response, "description") == [article.seo_description]
    assert json_ld(response)["headline"] == article.headline


def test_story_without_a_picture_gets_the_small_card(client):
    article = ArticleFactory(hero_image=None)

    response = client.get(article.get_absolute_url())

    assert meta(response, "og:image") == []
    assert meta(response, "twitter:card") == ["summary"]
    assert "image" not in json_ld(response)


def test_json_ld_describes_a_news_article(client):
    author = AuthorFactory(name="Giorgi Kapanadze", slug="giorgi-kapanadze")
    article = ArticleFactory(
        headline="Border crossing reopens",
        standfirst="Traders queue through the night.",
        hero_image=ImageFactory(rendered=True),
        authors=[author],
    )
    article.tags.add(Tag.objects.create(name="Trade", slug="trade"))
    url = f"http://testserver{article.get_absolute_url()}"
    published = timezone.localtime(article.published_at).isoformat(timespec="seconds")

    data = json_ld(client.get(article.get_absolute_url()))

    assert data == {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Border crossing reopens",
        "description": "Traders queue through the night.",
        "url": url,
        "mainEntityOfPage": url,
        "inLanguage": "en",
        "articleSection": "Politics",
        "keywords": ["Trade"],
        "datePublished": published,
        "dateModified": published,
        "image": {
            "@type": "ImageObject",
            "url": f"http://testserver{article.hero_image.file.social_jpeg}",
            "width": 1200,
            "height": 630,
        },
        "author": [
            {
                "@type": "Person",
                "name": "Giorgi Kapanadze",
                "url": "http://testserver/author/giorgi-kapanadze/",
            }
        ],
        "publisher": {
            "@type": "NewsMediaOrganization",
            "name": "The Highland Courier",
            "url": "http://testserver/",
            "logo": {
                "@type": "ImageObject",
                "url": "http://testserver/static/img/logo.png",
                "width": 512,
                "height": 512,
            },
        },
        "isAccessibleForFree": True,
    }


def test_russian_edition_describes_itself_in_russian(client):
    author = AuthorFactory(slug="giorgi-kapanadze")
    _original, russian = story_with_russian_edition()
    russian.bylines.update(author=author)

    response = client.get(russian.get_absolute_url())

    data = json_ld(response)
    assert data["inLanguage"] == "ru"
    assert data["publisher"]["url"] == "http://testserver/ru/"
    assert data["author"][0]["url"] == "http://testserver/ru/author/giorgi-kapanadze/"
    assert meta(response, "og:locale") == ["ru"]


def test_closing_tag_in_a_headline_stays_inside_the_json_string(client):
    headline = 'Why "</script><script>alert(1)</script>" is not news'
    article = ArticleFactory(headline=headline, seo_title="")

    response = client.get(article.get_absolute_url())

    assert json_ld(response)["headline"] == headline
    assert head(response).find_all("script") == head(response).find_all(
        "script", type="application/ld+json"
    )
    assert b"</script><script>alert" not in response.content


@pytest.mark.parametrize(
    ("visibility", "public_from", "free"),
    [
        (Article.Visibility.PUBLIC, None, True),
        (Article.Visibility.MEMBERS, None, False),
        (Article.Visibility.EARLY_ACCESS, timedelta(days=2), False),
        (Article.Visibility.EARLY_ACCESS, -timedelta(minutes=1), True),
    ],
    ids=["public", "members", "early-access-before", "early-access-after"],
)
def test_json_ld_says_whether_the_story_is_free_to_read(client, visibility, public_from, free):
    article = ArticleFactory(
        visibility=visibility,
        public_from=timezone.now() + public_from if public_from is not None else None,
    )

    data = json_ld(client.get(article.get_absolute_url()))

    assert data["isAccessibleForFree"] is free
    assert "hasPart" not in data
    assert "articleBody" not in data


@pytest.fixture(params=["anonymous", "reader", "lapsed_member"])
def non_member_client(request, client):
    if request.param != "anonymous":
        client.force_login(request.getfixturevalue(request.param))
    return client


@pytest.mark.parametrize(
    "gate",
    [
        {"visibility": Article.Visibility.MEMBERS},
        {"visibility": Article.Visibility.EARLY_ACCESS, "public_from": timedelta(days=2)},
    ],
    ids=["members", "early-access"],
)
@pytest.mark.parametrize("standfirst", ["", "Traders queue through the night."])
def test_gated_body_reaches_no_metadata_for_readers_who_may_not_read_it(
    non_member_client, member, gate, standfirst
):
    if "public_from" in gate:
        gate = {**gate, "public_from": timezone.now() + gate["public_from"]}
    article = ArticleFactory(
        standfirst=standfirst, body=f"<p>{SENTINEL} was the source's name.</p>", **gate
    )

    response = non_member_client.get(article.get_absolute_url())

    # Nowhere in the page: not in its head, its link preview, its JSON-LD or its text.
    assert response.status_code == 200
    assert SENTINEL.encode() not in response.content
    assert json_ld(response)["isAccessibleForFree"] is False
    member_client = SignedInClient()
    member_client.force_login(member)
    assert SENTINEL.encode() in member_client.get(article.get_absolute_url()).content


# The social picture


def test_social_picture_is_a_1200_by_630_jpeg_even_from_a_transparent_png(
    django_capture_on_commit_callbacks,
):
    buffer = io.BytesIO()
    PillowImage.new("RGBA", (1600, 1000), (200, 30, 30, 0)).save(buffer, "PNG")
    with django_capture_on_commit_callbacks(execute=True):
        image = ImageFactory(file=ContentFile(buffer.getvalue(), name="logo.png"))
    image.refresh_from_db()
    assert "social_jpeg" in image.renditions

    path = image.file._process_context(image.file.field.formats["social_jpeg"]).name
    with default_storage.open(path) as stored, PillowImage.open(stored) as social:
        assert (social.format, social.size) == ("JPEG", (1200, 630))
        # Transparency becomes white, not the black of the hidden pixels.
        assert social.convert("RGB").getpixel((600, 315)) == (255, 255, 255)


def test_link_preview_uses_the_widest_card_until_the_social_picture_is_built(client):
    image = ImageFactory(file=ContentFile(jpeg_bytes(1800, 1200), name="wide.jpg"))
    article = ArticleFactory(hero_image=image)

    response = client.get(article.get_absolute_url())
    assert meta(response, "og:image") == [f"http://testserver{image.file.url}"]
    assert meta(response, "og:image:width") == ["1800"]
    assert meta(response, "og:image:height") == ["1200"]

    image.build_renditions()
    image.renditions = [name for name in image.renditions if name != "social_jpeg"]
    image.save()

    response = client.get(article.get_absolute_url())
    assert meta(response, "og:image") == [f"http://testserver{image.file.card960}"]
    assert meta(response, "og:image:width") == ["960"]
    assert meta(response, "og:image:height") == ["640"]


# Listing and static pages


def test_listing_pages_name_their_canonical_page_and_neighbours(client):
    section = Section.objects.create(name="Economy", slug="economy", description="Money.")
    ArticleFactory.create_batch(45, section=section, hero_image=None)

    first = client.get("/section/economy/?utm_source=x")
    second = client.get("/section/economy/?page=2&utm_source=x")
    last = client.get("/section/economy/?page=3")

    assert links(first, "canonical") == {None: "http://testserver/section/economy/"}
    assert links(first, "prev") == {}
    assert links(first, "next") == {None: "http://testserver/section/economy/?page=2"}
    assert links(second, "canonical") == {None: "http://testserver/section/economy/?page=2"}
    assert links(second, "prev") == {None: "http://testserver/section/economy/"}
    assert links(second, "next") == {None: "http://testserver/section/economy/?page=3"}
    assert links(last, "prev") == {None: "http://testserver/section/economy/?page=2"}
    assert links(last, "next") == {}
    assert meta(first, "og:type") == ["website"]
    assert meta(first, "og:title") == ["Economy"]
    assert meta(first, "og:description") == ["Money."]


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/", "The Highland Courier"),
        ("/ru/", "The Highland Courier"),
        ("/region/georgia/", "Georgia"),
        ("/tag/trade/", "Trade"),
        ("/author/giorgi-kapanadze/", "Giorgi Kapanadze"),
        ("/about/", "About us"),
    ],
)
def test_other_reader_pages_name_their_canonical_address(client, path, title):
    Region.objects.create(name="Georgia", slug="georgia")
    Tag.objects.create(name="Trade", slug="trade")
    AuthorFactory(name="Giorgi Kapanadze", slug="giorgi-kapanadze")
    Page.objects.create(slug="about", title="About us", body="<p>Who we are.</p>")

    response = client.get(path + "?utm_campaign=spring")

    assert links(response, "canonical") == {None: f"http://testserver{path}"}
    assert meta(response, "og:title") == [title]
    assert meta(response, "og:url") == [f"http://testserver{path}"]
    assert meta(response, "og:locale") == ["ru" if path.startswith("/ru/") else "en"]


# The header's language links


def test_language_link_leads_to_the_storys_edition_in_that_language(client):
    original, russian = story_with_russian_edition()

    assert header_languages(client.get(original.get_absolute_url())) == {
        "en": original.get_absolute_url(),
        "ru": russian.get_absolute_url(),
    }
    assert header_languages(client.get(russian.get_absolute_url())) == {
        "en": original.get_absolute_url(),
        "ru": russian.get_absolute_url(),
    }


def test_language_link_leads_home_when_the_story_has_no_edition_there(client):
    article = ArticleFactory()

    response = client.get(article.get_absolute_url())

    assert header_languages(response) == {"en": article.get_absolute_url(), "ru": "/ru/"}
    [current] = parse(response).select("ul.languages a[aria-current]")
    assert current["lang"] == "en"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", {"en": "/", "ru": "/ru/"}),
        ("/section/politics/?page=1", {"en": "/section/politics/", "ru": "/ru/section/politics/"}),
        ("/ru/region/georgia/", {"en": "/region/georgia/", "ru": "/ru/region/georgia/"}),
        ("/tag/trade/", {"en": "/tag/trade/", "ru": "/ru/tag/trade/"}),
        ("/author/nino/", {"en": "/author/nino/", "ru": "/ru/author/nino/"}),
        ("/ru/about/", {"en": "/about/", "ru": "/ru/about/"}),
        ("/membership/", {"en": "/membership/", "ru": "/ru/membership/"}),
    ],
)
def test_language_links_lead_to_the_same_page_in_each_language(client, path, expected):
    Section.objects.create(name="Politics", slug="politics")
    Region.objects.create(name="Georgia", slug="georgia")
    Tag.objects.create(name="Trade", slug="trade")
    AuthorFactory(slug="nino")
    Page.objects.create(slug="about", title="About us")

    assert header_languages(client.get(path)) == expected


# Cost


@pytest.mark.parametrize("archive", [30, 300])
def test_article_page_queries_stay_the_same_as_the_archive_grows(
    client, django_assert_num_queries, archive
):
    region = Region.objects.create(name="Georgia", slug="georgia")
    tag = Tag.objects.create(name="Trade", slug="trade")
    authors = AuthorFactory.create_batch(2)
    stories = ArticleFactory.create_batch(archive, authors=authors, hero_image=ImageFactory())
    Article.regions.through.objects.bulk_create(
        Article.regions.through(article=story, region=region) for story in stories
    )
    Article.tags.through.objects.bulk_create(
        Article.tags.through(article=story, tag=tag) for story in stories
    )
    original, russian = story_with_russian_edition(authors=authors)
    original.regions.add(region)
    original.tags.add(tag)
    Correction.objects.create(article=original, text="A name was misspelt.")

    # The story, the fundraiser blocks, bylines, corrections, editions, regions and tags,
    # related stories, the chrome's sections and static pages, and the page cache's next
    # scheduled change (once per purge): metadata adds none.
    with django_assert_num_queries(10):
        response = client.get(original.get_absolute_url())

    assert len(json_ld(response)["author"]) == 2
    assert set(links(response, "alternate")) == {"en", "ru", "x-default"}
