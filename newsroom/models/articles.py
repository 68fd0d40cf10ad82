"""The newsroom's content: sections, regions, tags, authors, images and articles."""

import logging
import re

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.dispatch import Signal
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy
from django_prose_editor.fields import ProseEditorField
from imagefield.fields import ImageField, PPOIField
from simple_history.models import HistoricalRecords

from .. import body as rendering
from ..history import StoryHistory
from ..images import check_storage, image_upload_to
from ..renditions import image_formats
from ..richtext import BIO_EXTENSIONS, BODY_EXTENSIONS, clean_bio, clean_body, figure_image_ids
from ..search import is_full_text, search, search_vectors, stored_search_vectors

logger = logging.getLogger(__name__)


class Taxonomy(models.Model):
    """A named place to file stories under, with its own page at /<kind>/<slug>/."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)

    #: The name of its listing page in newsroom.urls.
    url_name = None

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse(f"newsroom:{self.url_name}", kwargs={"slug": self.slug})


class Section(Taxonomy):
    """A desk of the newsroom (Politics, Business…), shown in the site navigation."""

    description = models.TextField(_("description"), blank=True)
    position = models.PositiveSmallIntegerField(
        _("position"), default=0, help_text=_("Order in the site navigation.")
    )

    url_name = "section_detail"

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")


class Region(Taxonomy):
    """A country or area the newsroom covers; an article may concern several."""

    url_name = "region_detail"

    class Meta(Taxonomy.Meta):
        verbose_name = _("region")
        verbose_name_plural = _("regions")


class Tag(Taxonomy):
    """A subject that runs across sections (elections, water, press freedom…)."""

    url_name = "tag_detail"

    class Meta(Taxonomy.Meta):
        verbose_name = _("tag")
        verbose_name_plural = _("tags")


class Author(models.Model):
    """A person credited in bylines; may be linked to a staff account."""

    name = models.CharField(pgettext_lazy("person", "name"), max_length=150)
    slug = models.SlugField(_("slug"), max_length=150, unique=True)
    role = models.CharField(
        _("role"),
        max_length=150,
        blank=True,
        help_text=_("As readers see it under the name, e.g. “Correspondent in Tbilisi”."),
    )
    bio = ProseEditorField(
        _("biography"), blank=True, config={"extensions": BIO_EXTENSIONS}, sanitize=clean_bio
    )
    photo = models.ForeignKey(
        "Image",
        verbose_name=_("photo"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="author",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("author")
        verbose_name_plural = _("authors")

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.bio = clean_bio(self.bio)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("newsroom:author_detail", kwargs={"slug": self.slug})


class AuthorLink(models.Model):
    """A place to find an author elsewhere (their site, a social profile), on their page."""

    author = models.ForeignKey(
        Author, verbose_name=_("author"), on_delete=models.CASCADE, related_name="links"
    )
    label = models.CharField(_("label"), max_length=100, help_text=_("E.g. “Mastodon”."))
    url = models.URLField(_("address"), max_length=500)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("link")
        verbose_name_plural = _("links")

    def __str__(self):
        return self.label


#: What rendering a figure reads of its image (newsroom.body, newsroom.renditions).
FIGURE_IMAGE_FIELDS = ("file", "width", "height", "ppoi", "renditions", "alt", "credit")

#: Sent once an image saved with a new file is committed (`image_id`); newsroom.tasks listens and
#: queues the building of its renditions.
image_file_saved = Signal()


class Image(models.Model):
    """A picture in the newsroom's library, reusable across articles.

    The caption is not here: it belongs to each placement (an article's hero, a figure in a body),
    because the same photo says different things in different stories.
    """

    file = ImageField(
        _("image file"),
        upload_to=image_upload_to,
        width_field="width",
        height_field="height",
        ppoi_field="ppoi",
        formats=image_formats(),
    )
    width = models.PositiveIntegerField(_("width"), editable=False, null=True)
    height = models.PositiveIntegerField(_("height"), editable=False, null=True)
    file_size = models.PositiveBigIntegerField(_("file size"), null=True, editable=False)
    ppoi = PPOIField(_("focal point"))
    alt = models.CharField(
        _("alternative text"),
        max_length=300,
        help_text=_("What the picture shows, for readers who cannot see it."),
    )
    credit = models.CharField(
        _("credit"), max_length=200, blank=True, help_text=_("The photographer or agency.")
    )
    licence = models.CharField(_("source or licence"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now, editable=False)
    renditions = models.JSONField(_("renditions built"), default=list, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("image")
        verbose_name_plural = _("images")

    def __str__(self):
        return self.alt

    def clean(self):
        super().clean()
        # A new file meets the media storage here, while a refusal can still be a form error.
        check_storage(self)

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        # Remembered so that save() knows when a new file needs its renditions built.
        instance._stored_file_name = instance.__dict__.get("file")
        return instance

    def save(self, *args, **kwargs):
        stored = getattr(self, "_stored_file_name", None)
        file_changed = self._state.adding or stored != self.file.name
        if file_changed:
            self.renditions = []
            self.file_size = self.file.size if self.file else None
        super().save(*args, **kwargs)
        self._stored_file_name = self.file.name
        if file_changed and self.file:
            # After commit, so that whoever builds the renditions finds the row and the file.
            pk = self.pk
            transaction.on_commit(lambda: image_file_saved.send(sender=Image, image_id=pk))

    def build_renditions(self, force=False):
        """Build the renditions that are missing (all of them with `force`); returns how many.

        One rendition failing does not stop the others: pages fall back to what exists.
        """
        built = [] if force else list(self.renditions or [])
        done = 0
        for name in self.file.field.formats:
            if name in built:
                continue
            try:
                self.file.process(name, force=force)
            except Exception:
                logger.exception("Rendition %s of image %s failed", name, self.pk)
                continue
            built.append(name)
            done += 1
        self.renditions = built
        # An update, not save(): it must not look like a new file and enqueue more work.
        Image.objects.filter(pk=self.pk).update(renditions=built)
        return done

    @classmethod
    def for_figures(cls, ids):
        """{id: Image} of the library images `ids` with what rendering a figure reads of them
        (no query for no ids)."""
        return cls.objects.only(*FIGURE_IMAGE_FIELDS).in_bulk(ids) if ids else {}

    @property
    def missing_renditions(self):
        return [name for name in self.file.field.formats if name not in (self.renditions or ())]


#: How many stories the home page features under the lead, per language.
HOME_FEATURED_MAX = 4
# Stories whose search columns one UPDATE fills (ArticleQuerySet.index_for_search).
SEARCH_BATCH = 2000


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """What the public may see listed: published, and its publication time has come.

        Computed at query time, so a story scheduled for 09:00 appears at 09:00 with no worker.
        """
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=timezone.now())

    def owned_by(self, user):
        """Stories a contributor may call theirs: created by them, or carrying their byline."""
        return self.filter(
            Q(created_by=user)
            | Q(pk__in=ArticleAuthor.objects.filter(author__user=user).values("article_id"))
        )

    def visible_to(self, user):
        """What `user` may open: editors every story, other staff also their own unpublished
        work, everyone else what is published. Other people's drafts can name sources."""
        if not (user.is_authenticated and user.is_staff):
            return self.published()
        if user.has_perm("newsroom.publish_article"):
            return self.all()
        return self.published() | self.owned_by(user)

    def with_last_change(self):
        """Annotate `last_changed`: the latest of the last save and the last correction, the
        time a feed or sitemap reports the story as updated."""
        last_correction = Correction.objects.filter(article=OuterRef("pk")).order_by("-created_at")
        return self.annotate(
            last_changed=Greatest(
                "updated_at",
                # SQLite's MAX() is NULL if any argument is: a story without corrections.
                Coalesce(Subquery(last_correction.values("created_at")[:1]), "updated_at"),
            )
        )

    def for_listing(self, *fields):
        """What a listing card shows and nothing more (never the body, its rendering or the
        search columns), with its section, picture and bylines: two queries. `fields` adds
        columns (of the article, or `hero_image__…`) for other uses."""
        bylines = ArticleAuthor.objects.select_related("author").only(
            "article", "position", "author__name", "author__slug"
        )
        return (
            self.select_related("section", "hero_image")
            .only(*Article.CARD_FIELDS, *fields)
            .prefetch_related(models.Prefetch("bylines", queryset=bylines))
        )

    def showing_image(self, image_id):
        """Stories whose body has a figure of the library image `image_id`."""
        return self.filter(body__contains=f'data-image-id="{int(image_id)}"')

    def render_bodies(self, progress=None):
        """Render these stories' bodies for readers again and store them (newsroom.body),
        `BATCH_SIZE` at a time with one query for their figures' images; returns how many.
        `progress(n)` is told each batch's size."""
        return store_renderings(
            Article, self.order_by("pk").values_list("pk", "body", "language"), progress
        )

    def index_for_search(self, progress=None):
        """Fill the search columns of these stories where they are empty (stories written past
        `Article.save()`, as the demo and bulk imports write them), as a save would fill them,
        one UPDATE per `SEARCH_BATCH` stories and language; returns how many. Nothing to do
        where search is not full-text (SQLite). `progress(n)` is told each batch's size."""
        if not is_full_text(self.db):
            return 0
        todo = self.filter(search_document__isnull=True).order_by("pk")
        ids = list(todo.values_list("pk", flat=True))
        languages = list(todo.order_by().values_list("language", flat=True).distinct())
        for first in range(0, len(ids), SEARCH_BATCH):
            batch = ids[first : first + SEARCH_BATCH]
            for language in languages:
                Article.objects.filter(pk__in=batch, language=language).update(
                    **stored_search_vectors(language)
                )
            if progress:
                progress(len(batch))
        return len(ids)

    def search(self, terms, *, readable):
        """These stories matching `terms` (what a reader typed), best first, each with its
        `search_snippet`. Bodies are matched and quoted only where `readable`
        (`members.access.readable_in_full`) holds. See newsroom.search."""
        language = translation.get_language() or settings.LANGUAGE_CODE
        return search(self, terms, language=language, readable=readable)


class Article(models.Model):
    """A story in one language."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEW = "review", _("In review")
        PUBLISHED = "published", _("Published")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public")
        MEMBERS = "members", _("Members only")
        EARLY_ACCESS = "early_access", _("Early access for members")

    class HomePlacement(models.TextChoices):
        NONE = "", _("By date")
        LEAD = "lead", _("Lead story")
        FEATURED = "featured", _("Featured")

    headline = models.CharField(_("headline"), max_length=300)
    slug = models.SlugField(_("slug"), max_length=300, allow_unicode=True)
    standfirst = models.TextField(
        _("standfirst"), blank=True, help_text=_("The summary shown under the headline.")
    )
    # The editor's extensions and the sanitiser come from one place (newsroom.richtext).
    body = ProseEditorField(
        _("body"), blank=True, config={"extensions": BODY_EXTENSIONS}, sanitize=clean_body
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    section = models.ForeignKey(
        Section,
        verbose_name=_("section"),
        on_delete=models.PROTECT,
        related_name="articles",
    )
    regions = models.ManyToManyField(
        Region, verbose_name=_("regions"), blank=True, related_name="articles"
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="articles")
    authors = models.ManyToManyField(
        Author,
        verbose_name=_("authors"),
        through="ArticleAuthor",
        related_name="articles",
        blank=True,
    )
    hero_image = models.ForeignKey(
        Image,
        verbose_name=_("hero image"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="hero_of",
    )
    hero_caption = models.CharField(_("hero caption"), max_length=500, blank=True)
    hero_alt = models.CharField(
        _("hero alternative text"),
        max_length=300,
        blank=True,
        help_text=_("Only when this story needs a different description than the library's."),
    )
    translation_of = models.ForeignKey(
        "self",
        verbose_name=_("translation of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="translations",
        help_text=_("The original edition, when this story is a translation."),
    )
    seo_title = models.CharField(
        _("SEO title"), max_length=70, blank=True, help_text=_("For search engines and sharing.")
    )
    seo_description = models.CharField(_("SEO description"), max_length=160, blank=True)
    visibility = models.CharField(
        _("visibility"), max_length=20, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    public_from = models.DateTimeField(
        _("public from"),
        null=True,
        blank=True,
        help_text=_("For early-access stories: when everyone may read them in full."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    home_placement = models.CharField(
        _("home page"),
        max_length=10,
        choices=HomePlacement.choices,
        default=HomePlacement.NONE,
        blank=True,
        help_text=_(
            "Pin the story on its language's home page while it is published: one lead story, "
            "up to four featured; the rest follow by date."
        ),
    )
    published_at = models.DateTimeField(
        _("publication time"),
        null=True,
        blank=True,
        help_text=_("A time in the future schedules the story."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Incremented on every save; a form that carries an older number was opened before someone
    # else saved, and must not overwrite their work.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    # Text-search vectors (newsroom.search), filled by save() on PostgreSQL only: the headline
    # and standfirst apart from the body, so that a gated body is searched only for readers
    # who may read it.
    search_document = SearchVectorField(null=True, editable=False)
    search_body = SearchVectorField(null=True, editable=False)
    # The body as readers get it, rendered by save() (newsroom.body): its HTML, the offsets
    # just after its top-level paragraphs, and the fingerprint of what it was rendered from.
    rendered_body = models.TextField(blank=True, editable=False)
    rendered_breaks = models.JSONField(default=list, blank=True, editable=False)
    rendered_from = models.CharField(max_length=32, blank=True, editable=False)

    objects = ArticleQuerySet.as_manager()
    history = StoryHistory(
        m2m_fields=[regions, tags],
        excluded_fields=[
            *("search_document", "search_body"),
            *("rendered_body", "rendered_breaks", "rendered_from"),
        ],
    )

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        # Given to the Editors group (migration 0007); contributors never have it.
        permissions = [("publish_article", _("Can publish, schedule and unpublish articles"))]
        constraints = [
            models.UniqueConstraint(
                fields=["language", "slug"], name="newsroom_article_slug_unique_per_language"
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="newsroom_article_published_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(visibility="early_access") | Q(public_from__isnull=False),
                name="newsroom_article_early_access_has_public_from",
            ),
            models.UniqueConstraint(
                fields=["language"],
                condition=Q(home_placement="lead"),
                name="newsroom_article_one_lead_per_language",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="newsroom_article_pub_idx"),
            # The latest save of a published story (the stories' sitemap's date).
            models.Index(fields=["status", "-updated_at"], name="newsroom_article_saved_idx"),
            # In the order of the listings (newsroom.pagination), so that a deep page's ids
            # come from the index alone: the home page (home_placement, last, keeps the scan
            # in the index), regions, tags and authors (joined to it)…
            models.Index(
                fields=["language", "status", "-published_at", "-id", "home_placement"],
                name="newsroom_article_listing_idx",
            ),
            # …and a section's page.
            models.Index(
                fields=["section", "language", "status", "-published_at", "-id"],
                name="newsroom_article_section_idx",
            ),
        ]

    def __str__(self):
        return self.headline

    SEARCH_FIELDS = ["search_document", "search_body"]
    # What a listing card needs: its link (language, slug and the month of publication), its
    # texts, its section's label and its picture (newsroom.renditions.picture).
    CARD_FIELDS = [
        *("headline", "slug", "standfirst", "language", "published_at", "created_at"),
        # The section's name in every language (django-modeltranslation; newsroom.translation).
        *(f"section__name_{code}" for code, _name in settings.LANGUAGES),
        "section__slug",
        *("hero_image__file", "hero_image__width", "hero_image__height"),
        # Rendition names depend on the focal point (django-imagefield).
        *("hero_image__renditions", "hero_image__ppoi"),
    ]
    RENDERED_FIELDS = ["rendered_body", "rendered_breaks", "rendered_from"]
    # What the search vectors are built from.
    SEARCHED_FIELDS = {"language", "headline", "standfirst", "body"}

    # What the publication checks and the redirects compare with the stored row.
    STORED_FIELDS = [
        *("version", "slug", "language", "published_at"),
        *("status", "hero_image", "hero_alt", "body"),
    ]

    def clean(self):
        """The publication checks, for forms (the admin's); `save()` applies them too."""
        super().clean()
        if self.home_placement == self.HomePlacement.FEATURED:
            featured = list(
                Article.objects.filter(
                    language=self.language, home_placement=self.HomePlacement.FEATURED
                )
                .exclude(pk=self.pk)
                .values_list("headline", flat=True)
            )
            if len(featured) >= HOME_FEATURED_MAX:
                # Pins of stories that are not out yet count too: naming them lets the editor
                # find the one to unpin.
                message = ngettext(
                    "The home page already features %(count)d story in this language "
                    "(%(headlines)s); unpin it first.",
                    "The home page already features %(count)d stories in this language "
                    "(%(headlines)s); unpin one first.",
                    HOME_FEATURED_MAX,
                )
                headlines = "; ".join(f"“{headline}”" for headline in featured)
                raise ValidationError(
                    {"home_placement": message % {"count": len(featured), "headlines": headlines}}
                )
        stored = None
        if self.pk is not None:
            stored = Article.objects.filter(pk=self.pk).values(*self.STORED_FIELDS).first()
        self._check_publishable(stored)

    def validate_constraints(self, exclude=None):
        # A new lead story is not refused for the one it replaces: save() hands the lead over.
        if self.home_placement == self.HomePlacement.LEAD:
            exclude = {*(exclude or ()), "home_placement"}
        super().validate_constraints(exclude)

    def save(self, *args, **kwargs):
        """Save, refusing with a `ValidationError` a story that goes out (or whose pictures
        change while it is out) with the problems `publication_problems()` lists.

        The body is sanitised, and rendered for readers when it (or its language) is saved or
        its stored rendering no longer matches it (newsroom.body)."""
        self.body = clean_body(self.body)
        update_fields = kwargs.get("update_fields")
        if (
            update_fields is None
            or {"body", "language"} & set(update_fields)
            or self.rendered_from != rendering.fingerprint(self.body, self.language)
        ):
            self.store_rendering()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, *self.RENDERED_FIELDS}
        # One transaction: a refused save leaves the previous lead story in place.
        with transaction.atomic():
            if self.home_placement == self.HomePlacement.LEAD:
                # One lead story per language: the new one takes the place of the old.
                Article.objects.filter(
                    language=self.language, home_placement=self.HomePlacement.LEAD
                ).exclude(pk=self.pk).update(home_placement=self.HomePlacement.NONE)
            if self._state.adding or self.pk is None:
                self._check_publishable(None)
                super().save(*args, **kwargs)
                self._index_for_search(kwargs.get("update_fields"))
                return
            # The stored row is read under a lock, so two saves cannot both start from the
            # same version (SQLite ignores the lock but writes one transaction at a time).
            stored = (
                Article.objects.select_for_update()
                .filter(pk=self.pk)
                .values(*self.STORED_FIELDS)
                .first()
            )
            self._check_publishable(stored)
            if stored is not None:
                expected = self.__dict__.pop("_expected_version", None)
                if expected is not None and expected != stored["version"]:
                    raise EditConflict(
                        f"Article {self.pk} is at version {stored['version']}, not {expected}"
                    )
                self.version = stored["version"] + 1
                if kwargs.get("update_fields") is not None:
                    kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
            super().save(*args, **kwargs)
            self._index_for_search(kwargs.get("update_fields"))
            if stored is not None:
                self._redirect_old_url(stored)

    @property
    def rendering_is_current(self):
        """Whether `rendered_body` was rendered from this row's body as it is (newsroom.body)."""
        fingerprint = rendering.fingerprint(self.body, self.language)
        return bool(fingerprint) and self.rendered_from == fingerprint

    def reader_body(self):
        """The body as readers get it (newsroom.body): the stored rendering while it matches
        this row's body, else rendered now (one query for its figures' images), not stored."""
        if self.rendering_is_current:
            return rendering.Rendered(
                self.rendered_body, tuple(self.rendered_breaks), self.rendered_from
            )
        return rendering.render(
            self.body, self.language, Image.for_figures(figure_image_ids(self.body))
        )

    def store_rendering(self):
        """Render the body for readers into `rendered_body` and its companions (not saved)."""
        rendered = rendering.render(
            self.body, self.language, Image.for_figures(figure_image_ids(self.body))
        )
        self.rendered_body = rendered.html
        self.rendered_breaks = list(rendered.breaks)
        self.rendered_from = rendered.fingerprint

    def _index_for_search(self, update_fields):
        """Rebuild the search vectors from the text just saved (on PostgreSQL; the fallback
        search reads the columns themselves)."""
        if not is_full_text(self._state.db):
            return
        if update_fields is not None and not self.SEARCHED_FIELDS & set(update_fields):
            return
        Article.objects.filter(pk=self.pk).update(
            **search_vectors(
                language=self.language,
                headline=self.headline,
                standfirst=self.standfirst,
                body=self.body,
            )
        )

    def get_absolute_url(self):
        # The URL carries the year and month of publication in the newsroom's time zone.
        when = timezone.localtime(self.published_at or self.created_at or timezone.now())

        # In the edition's own language: a Russian story lives under /ru/ whatever the page
        # linking to it is in.
        with translation.override(self.language):
            return reverse(
                "newsroom:article_detail",
                kwargs={"year": when.year, "month": f"{when.month:02d}", "slug": self.slug},
            )

    @property
    def is_published(self):
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    @property
    def description(self):
        """What describes the story away from its page (search results, link previews): the
        SEO description or the standfirst, at most 160 characters. Never the body, which
        may be for members only."""
        return Truncator(self.seo_description or self.standfirst).chars(160)

    @property
    def byline_authors(self):
        """Authors in byline order (uses the prefetch from `for_listing()` when present)."""
        return [byline.author for byline in self.bylines.all()]

    # Workflow. Who may call what is the admin's business (newsroom.admin); these only change
    # the story, and each save leaves a revision.

    def submit_for_review(self):
        self.status = self.Status.REVIEW
        self.save(update_fields=["status", "updated_at"])

    def publish(self, at=None):
        """Publish now, or at `at` (a future time schedules the story).

        Publishing now keeps an earlier publication time, so a story that was taken down and
        put back keeps its date and its URL. Raises `ValidationError` (and changes nothing)
        when `publication_problems()` lists any.
        """
        # Whole seconds: what the admin's fields can show, so a later save changes nothing.
        now = timezone.now().replace(microsecond=0)
        before = self.status, self.published_at
        if at is not None:
            self.published_at = at
        elif self.published_at is None or self.published_at > now:
            self.published_at = now
        self.status = self.Status.PUBLISHED
        try:
            self.save(update_fields=["status", "published_at", "updated_at"])
        except ValidationError:
            self.status, self.published_at = before
            raise

    def unpublish(self):
        """Back to draft; the publication time stays, so putting it back keeps its URL."""
        self.status = self.Status.DRAFT
        self.save(update_fields=["status", "updated_at"])

    def _check_publishable(self, stored):
        """Raise a `ValidationError` listing the publication problems, when they matter.

        They are checked when a story goes out and when the pictures of a published one change,
        so that a correction to an older story is never blocked by a picture problem nobody is
        touching.
        """
        if self.status != self.Status.PUBLISHED:
            return
        if stored is not None and stored["status"] == self.Status.PUBLISHED:
            # The body is clean by now: save() cleans it first, and full_clean() runs the
            # field's own sanitiser before clean().
            pictures = (self.hero_image_id, self.hero_alt, self.body)
            if pictures == (stored["hero_image"], stored["hero_alt"], stored["body"]):
                return
        problems = self.publication_problems()
        if problems:
            raise ValidationError([ValidationError(p, code="publication") for p in problems])

    def publication_problems(self):
        """Why this story may not be published yet: a list of messages, empty when it may.

        It needs a headline and an address (slug). Every picture a reader sees needs alternative
        text and a credit: the hero image and each figure in the body (whose image must still be
        in the library).
        """
        problems = []
        if not self.headline.strip():
            problems.append(_("The story has no headline."))
        if not self.slug.strip():
            problems.append(_("The story has no slug, the last part of its address."))
        if self.hero_image_id:
            image = self.hero_image
            if not (self.hero_alt.strip() or image.alt.strip()):
                problems.append(
                    _("The hero image has no alternative text: describe it in the library.")
                )
            if not image.credit.strip():
                problems.append(
                    _(
                        "The hero image “%(alt)s” has no credit: add the photographer or agency "
                        "in the library."
                    )
                    % {"alt": image.alt or image.pk}
                )
        ids = list(dict.fromkeys(int(i) for i in FIGURE_IMAGE_ID.findall(self.body or "")))
        images = Image.objects.in_bulk(ids)
        for image_id in ids:
            image = images.get(image_id)
            if image is None:
                problems.append(
                    _(
                        "A figure in the body shows image #%(id)s, which is no longer in the "
                        "library: remove the figure or choose another picture."
                    )
                    % {"id": image_id}
                )
                continue
            if not image.alt.strip():
                problems.append(
                    _(
                        "The figure with image #%(id)s has no alternative text: describe it in "
                        "the library."
                    )
                    % {"id": image_id}
                )
            if not image.credit.strip():
                problems.append(
                    _(
                        "The figure with image “%(alt)s” has no credit: add the photographer or "
                        "agency in the library."
                    )
                    % {"alt": image.alt or image_id}
                )
        return problems

    def other_editions(self):
        """The same story in other languages that readers may see (original and translations)."""
        original = self.translation_of_id or self.pk
        return (
            Article.objects.published()
            .filter(Q(pk=original) | Q(translation_of=original))
            .exclude(pk=self.pk)
            .exclude(language=self.language)
            .order_by("language")
        )

    @staticmethod
    def url_path(language, year, month, slug):
        """The path of an edition's page without the script prefix (for redirects)."""
        with translation.override(language):
            path = reverse(
                "newsroom:article_detail",
                kwargs={"year": year, "month": f"{month:02d}", "slug": slug},
            )
        return "/" + path.removeprefix(get_script_prefix())

    def _redirect_old_url(self, stored):
        """After a save: keep a 301 from the URL the story had, if readers may have seen it.

        A publication time in the past means the URL was public (unpublishing keeps the time);
        drafts' URLs never were.
        """
        published_at = stored["published_at"]
        if published_at is None or published_at > timezone.now():
            return
        before = timezone.localtime(published_at)
        now = timezone.localtime(self.published_at or self.created_at)
        old_path = self.url_path(stored["language"], before.year, before.month, stored["slug"])
        new_path = self.url_path(self.language, now.year, now.month, self.slug)
        if old_path == new_path:
            return
        # Back at an address it had before: the page itself answers there again.
        ArticleRedirect.objects.filter(old_path=new_path).delete()
        ArticleRedirect.objects.update_or_create(old_path=old_path, defaults={"article": self})


def store_renderings(model, rows, progress=None):
    """Render (pk, body, language) `rows` and store the results on `model` (the Article
    model, or its historical version in a migration); returns how many.

    A story saved meanwhile may get the rendering of its previous body: its fingerprint then
    no longer matches, and pages render the new body themselves until the next save.
    """
    done, batch = 0, []
    for pk, rendered in rendering.render_many(rows, Image.for_figures):
        batch.append(
            model(
                pk=pk,
                rendered_body=rendered.html,
                rendered_breaks=list(rendered.breaks),
                rendered_from=rendered.fingerprint,
            )
        )
        if len(batch) == rendering.BATCH_SIZE:
            done += _store(model, batch, progress)
            batch = []
    return done + _store(model, batch, progress)


def _store(model, batch, progress):
    model.objects.bulk_update(batch, Article.RENDERED_FIELDS)
    if progress:
        progress(len(batch))
    return len(batch)


#: How an inline figure names its library image in a stored body (newsroom.richtext).
FIGURE_IMAGE_ID = re.compile(r'data-image-id="(\d+)"')


class EditConflict(Exception):
    """`Article.save()` was given a version that is no longer the stored one."""


class ArticleAuthor(models.Model):
    """One name in an article's byline, in order."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="bylines"
    )
    author = models.ForeignKey(
        Author, verbose_name=_("author"), on_delete=models.PROTECT, related_name="bylines"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("byline")
        verbose_name_plural = _("bylines")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "author"], name="newsroom_byline_author_once"
            ),
        ]

    def __str__(self):
        return str(self.author)


class Correction(models.Model):
    """A correction or update note, shown on the article with its date."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="corrections"
    )
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("correction")
        verbose_name_plural = _("corrections")
        indexes = [
            # The latest correction of any published story (the sitemap index's date of the
            # stories): walked from the newest, where a join read every published story (61 ms
            # at 100,000 stories, against 1 ms).
            models.Index(fields=["-created_at"], name="newsroom_correction_latest_idx"),
        ]

    def __str__(self):
        return self.text[:80]


class ArticleRedirect(models.Model):
    """An address a published story had before its slug (or month) changed: answers 301.

    Consulted only when no story lives at the requested address; each old address points to
    the article, whose current URL is computed at request time, so any number of renames chain.
    """

    old_path = models.CharField(_("old path"), max_length=500, unique=True)
    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="redirects"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("article redirect")
        verbose_name_plural = _("article redirects")

    def __str__(self):
        return self.old_path
