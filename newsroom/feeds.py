"""RSS 2.0 and Atom 1.0 feeds of the latest stories, in each language: of the whole site, or of
one section, region, tag or author.

A feed reader is an anonymous reader: a story it may not read in full (members only, or early
access before `public_from`) is in the feed by headline and standfirst only, as on the listings.
Stories readers may read get their whole text, rendered as the page renders it (the rendering
stored at save, newsroom.body) but with plain `<img>` figures at absolute addresses and without
fundraiser blocks.
"""

import mimetypes
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Enclosure
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import get_text_list
from django.utils.translation import get_language, gettext, pgettext

from members.access import can_read_full

from . import body as rendering
from .models import Article, Author, Image, Region, Section, Tag
from .object_cache import listing_subject
from .renditions import Picture, picture
from .richtext import FIGURE_TAG, figure_image_ids

#: Stories in a feed.
FEED_LENGTH = 20

#: What an item needs beyond a listing card: who may read the body, the body as readers get it
#: (newsroom.body) and the enclosure's size.
ITEM_FIELDS = (
    *("visibility", "public_from", "body", *Article.RENDERED_FIELDS),
    "hero_image__file_size",
)

#: The width of the hero rendition a feed item encloses: big enough for a reader's full view.
ENCLOSURE_WIDTH = 1280

# How each kind of feed narrows the stories, as its listing page does.
STORIES_OF = {
    Section: "section",
    Region: "regions",
    Tag: "tags",
    Author: "bylines__author",
}


@dataclass(frozen=True)
class Channel:
    """What a feed lists: the whole site (`subject` None) or one section, region, tag or author.

    It carries the request because items need absolute addresses (images, enclosures), and a
    feed object serves every request: nothing per request may be kept on it.
    """

    request: HttpRequest
    subject: Section | Region | Tag | Author | None = None


@dataclass(frozen=True)
class Item:
    """One story as a feed gives it."""

    article: Article
    description: str
    enclosure: Enclosure | None


class StoryFeed(Feed):
    """The latest published stories in the request's language, as RSS 2.0 (or Atom 1.0).

    `model` is Section, Region, Tag or Author for the feed of one of them (found by the URL's
    slug, 404 when there is none), or None for the whole site.
    """

    def __init__(self, model=None, *, atom=False):
        self.model = model
        if atom:
            self.feed_type = Atom1Feed

    def get_object(self, request, slug=None):
        subject = listing_subject(request, self.model, slug) if self.model else None
        return Channel(request, subject)

    def title(self, channel):
        if channel.subject is None:
            return settings.NEWSROOM_NAME
        return f"{channel.subject} — {settings.NEWSROOM_NAME}"

    def link(self, channel):
        if channel.subject is None:
            return reverse("newsroom:home")
        return channel.subject.get_absolute_url()

    def description(self, channel):
        if channel.subject is None:
            return settings.NEWSROOM_TAGLINE or gettext("The latest stories")
        return getattr(channel.subject, "description", "") or gettext(
            "The latest stories: %(name)s"
        ) % {"name": channel.subject}

    def subtitle(self, channel):
        return self.description(channel)

    def author_name(self, channel):
        # Atom wants an author for the feed when an entry may have none (a story with no byline).
        return settings.NEWSROOM_NAME

    def items(self, channel):
        stories = Article.objects.published().filter(language=get_language())
        if channel.subject is not None:
            stories = stories.filter(**{STORIES_OF[self.model]: channel.subject})
        articles = list(
            stories.for_listing(*ITEM_FIELDS)
            .prefetch_related("tags")
            .with_last_change()[:FEED_LENGTH]
        )
        anonymous = AnonymousUser()
        readable = {article.pk for article in articles if can_read_full(anonymous, article)}
        # The figures of every story in the feed, in one query (none without figures).
        ids = {i for a in articles if a.pk in readable for i in figure_image_ids(a.body)}
        images = Image.for_figures(ids)
        render_figure = partial(_figure, channel.request)
        return [
            Item(
                article=article,
                description=render_to_string(
                    "newsroom/feeds/description.html",
                    {
                        "article": article,
                        "body": (
                            _body(article, images, render_figure)
                            if article.pk in readable
                            else None
                        ),
                        "link": channel.request.build_absolute_uri(article.get_absolute_url()),
                    },
                ),
                enclosure=_enclosure(channel.request, article.hero_image),
            )
            for article in articles
        ]

    def item_title(self, item):
        # An Atom title is plain text; RSS readers take a title for HTML, so it is escaped
        # once more (Django's default) to read as written.
        if self.feed_type is Atom1Feed:
            return item.article.headline
        return escape(item.article.headline)

    def item_link(self, item):
        return item.article.get_absolute_url()

    def item_description(self, item):
        return item.description

    def item_pubdate(self, item):
        return item.article.published_at

    def item_updateddate(self, item):
        return item.article.last_changed

    def item_author_name(self, item):
        names = [author.name for author in item.article.byline_authors]
        return get_text_list(names, pgettext("byline", "and")) or None

    def item_categories(self, item):
        article = item.article
        return [article.section.name, *(tag.name for tag in article.tags.all())]

    def item_enclosures(self, item):
        return [item.enclosure] if item.enclosure else []


def _body(article, images, render_figure):
    """A story's body for feeds: the page's stored rendering when it is current and has no
    figure (the feed's figures differ from the page's), else rendered here (newsroom.body)."""
    if article.rendering_is_current and not FIGURE_TAG.search(article.body):
        return mark_safe(article.rendered_body)
    return mark_safe(rendering.render(article.body, article.language, images, render_figure).html)


def _figure(request, image, caption):
    """A body figure for feeds: a plain `<img>` at an absolute address (readers show neither
    `<picture>` sources nor relative links), with the page's caption line."""
    shown = picture(image, "w", preferred=960)
    return render_to_string(
        "newsroom/feeds/figure.html",
        {
            "image": image,
            "caption": caption,
            "picture": Picture(
                src=request.build_absolute_uri(shown.src), width=shown.width, height=shown.height
            ),
        },
    )


def _enclosure(request, image):
    """The hero picture as an enclosure: its rendition nearest `ENCLOSURE_WIDTH`, else the
    original.

    The original's size in bytes is stored (`Image.file_size`); a rendition's is not, and
    asking the storage would cost a request per story on S3. Its length is then 0, which is
    what the RSS Best Practices Profile asks for when the size is not known.
    """
    if image is None:
        return None
    url = picture(image, "w", preferred=ENCLOSURE_WIDTH).src
    length = image.file_size if url == image.file.url else None
    return Enclosure(
        url=request.build_absolute_uri(url),
        length=str(length or 0),
        mime_type=mimetypes.guess_type(url)[0] or "image/jpeg",
    )
