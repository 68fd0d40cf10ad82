"""What a page tells search engines and link previews about itself, and where the header's
language links go.

Everything here is built from what the views already loaded: metadata costs no query. A story is
described by its SEO description or its standfirst (`Article.description`), never by its body,
so a gated story's body cannot leak through a link preview or a search result snippet.
"""

from dataclasses import dataclass, field, replace

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.templatetags.static import static
from django.urls import reverse, translate_url
from django.utils import timezone, translation
from django.utils.text import capfirst

from members.access import can_read_full

from .renditions import Picture, social_picture

# The publisher's logo in JSON-LD: a square PNG, which search engines accept where SVG is not.
LOGO = ("img/logo.png", 512, 512)


@dataclass
class LanguageLink:
    code: str
    name: str  # the language's name in that language
    url: str
    is_current: bool


def language_links(request, editions=None):
    """The header's link to each language: this page in that language.

    On an article, `editions` are the story's other published editions: a language's link goes
    to the edition in that language, or to that language's home page when there is none. Other
    pages link to the same address in the other language (sections, regions, tags, authors and
    static pages exist in every language), or to its home page when the address has no
    counterpart there.
    """
    current = translation.get_language()
    edition_urls = {edition.language: edition.get_absolute_url() for edition in editions or ()}
    links = []
    for code, _name in settings.LANGUAGES:
        if code == current:
            url = request.path
        elif editions is not None:
            url = edition_urls.get(code) or _home(code)
        else:
            url = translate_url(request.path, code)
            if url == request.path:
                url = _home(code)
        name = capfirst(translation.get_language_info(code)["name_local"])
        links.append(LanguageLink(code, name, url, is_current=code == current))
    return links


def _home(language):
    with translation.override(language):
        return reverse("newsroom:home")


@dataclass
class Alternate:
    language: str
    url: str


@dataclass
class ArticleMetadata:
    """The article page's head: canonical and alternate addresses, OpenGraph and JSON-LD."""

    canonical_url: str
    title: str
    description: str
    locale: str
    alternates: list[Alternate]  # every edition readers may see, this one included
    x_default: str | None  # the original edition, for readers of any other language
    image: Picture | None  # the social picture, its `src` absolute
    image_alt: str
    published: str | None
    modified: str | None
    keywords: list[str]
    author_urls: list[str]
    json_ld: dict = field(default_factory=dict)  # schema.org NewsArticle


def article_metadata(request, article, *, authors, editions, filed_under, corrections):
    """The metadata of `article`'s page from what its view loaded: its `authors`, its other
    published `editions`, the (name, url) pairs it is `filed_under` and its `corrections`."""
    absolute = request.build_absolute_uri
    canonical_url = absolute(article.get_absolute_url())
    alternates = [
        Alternate(edition.language, absolute(edition.get_absolute_url()))
        for edition in sorted([article, *editions], key=lambda edition: edition.language)
    ]
    original_pk = article.translation_of_id or article.pk
    x_default = next(
        (absolute(e.get_absolute_url()) for e in [article, *editions] if e.pk == original_pk),
        None,
    )

    image = None
    if article.hero_image:
        image = social_picture(article.hero_image)
        image = replace(image, src=absolute(image.src))
    # The page shows a correction's time as "Updated"; search engines should read the same.
    published = _timestamp(article.published_at)
    modified = _timestamp(corrections[-1].created_at) if corrections else published
    keywords = [name for name, _url in filed_under]
    author_urls = [absolute(author.get_absolute_url()) for author in authors]

    metadata = ArticleMetadata(
        canonical_url=canonical_url,
        title=article.seo_title or article.headline,
        description=article.description,
        locale=translation.to_locale(article.language),
        alternates=alternates,
        x_default=x_default,
        image=image,
        image_alt=(article.hero_alt or article.hero_image.alt) if image else "",
        published=published,
        modified=modified,
        keywords=keywords,
        author_urls=author_urls,
    )
    metadata.json_ld = _news_article(request, article, metadata, authors)
    return metadata


def _timestamp(moment):
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def _news_article(request, article, metadata, authors):
    """The schema.org `NewsArticle` of the page. It never carries the body (`articleBody`) or
    `hasPart`: crawlers get the page an anonymous reader gets, and for a gated story that has
    no body to mark up."""
    absolute = request.build_absolute_uri
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.headline,
        "url": metadata.canonical_url,
        "mainEntityOfPage": metadata.canonical_url,
        "inLanguage": article.language,
        "articleSection": article.section.name,
        "author": [
            {"@type": "Person", "name": author.name, "url": url}
            for author, url in zip(authors, metadata.author_urls, strict=True)
        ],
        "publisher": {
            "@type": "NewsMediaOrganization",
            "name": settings.NEWSROOM_NAME,
            "url": absolute(_home(article.language)),
            "logo": {
                "@type": "ImageObject",
                "url": absolute(static(LOGO[0])),
                "width": LOGO[1],
                "height": LOGO[2],
            },
        },
        # About the story, not this reader: may anyone read it whole without paying?
        "isAccessibleForFree": can_read_full(AnonymousUser(), article),
    }
    if metadata.description:
        data["description"] = metadata.description
    if metadata.published:
        data["datePublished"] = metadata.published
        data["dateModified"] = metadata.modified
    if metadata.image:
        data["image"] = {
            "@type": "ImageObject",
            "url": metadata.image.src,
            "width": metadata.image.width,
            "height": metadata.image.height,
        }
    if metadata.keywords:
        data["keywords"] = metadata.keywords
    return data
