"""The newsroom's content: sections, regions, tags, authors, images and articles."""

import logging

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from imagefield.fields import ImageField, PPOIField
from simple_history.models import HistoricalRecords

from .images import image_upload_to
from .renditions import image_formats
from .richtext import clean_html

logger = logging.getLogger(__name__)


class Section(models.Model):
    """A desk of the newsroom (Politics, Business…), shown in the site navigation."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveSmallIntegerField(
        _("position"), default=0, help_text=_("Order in the site navigation.")
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")

    def __str__(self):
        return self.name


class Region(models.Model):
    """A country or area the newsroom covers; an article may concern several."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self):
        return self.name


class Author(models.Model):
    """A person credited in bylines; may be linked to a staff account."""

    name = models.CharField(_("name"), max_length=150)
    slug = models.SlugField(_("slug"), max_length=150, unique=True)
    bio = models.TextField(_("biography"), blank=True)
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
    renditions = models.JSONField(
        _("renditions built"), default=list, blank=True, editable=False
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("image")
        verbose_name_plural = _("images")

    def __str__(self):
        return self.alt

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
            from .tasks import build_renditions

            # After commit, so the worker finds the row and the file.
            pk = self.pk
            transaction.on_commit(lambda: build_renditions.enqueue(pk))

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

    @property
    def missing_renditions(self):
        return [name for name in self.file.field.formats if name not in (self.renditions or ())]


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """What the public may see listed: published, and its publication time has come.

        Computed at query time, so a story scheduled for 09:00 appears at 09:00 with no worker.
        """
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=timezone.now())

    def visible_to(self, user):
        """What `user` may open: staff may preview every story, everyone else what is published."""
        if user.is_authenticated and user.is_staff:
            return self.all()
        return self.published()

    def for_listing(self):
        """Everything a listing card shows, in a constant number of queries."""
        return self.select_related("section", "hero_image").prefetch_related(
            models.Prefetch(
                "bylines", queryset=ArticleAuthor.objects.select_related("author")
            )
        )


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

    headline = models.CharField(_("headline"), max_length=300)
    slug = models.SlugField(_("slug"), max_length=300, allow_unicode=True)
    standfirst = models.TextField(
        _("standfirst"), blank=True, help_text=_("The summary shown under the headline.")
    )
    body = models.TextField(_("body"), blank=True)
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

    objects = ArticleQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[regions, tags])

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
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
        ]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="newsroom_article_pub_idx"),
        ]

    def __str__(self):
        return self.headline

    def save(self, *args, **kwargs):
        self.body = clean_html(self.body)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        # The URL carries the year and month of publication in the newsroom's time zone.
        when = timezone.localtime(self.published_at or self.created_at or timezone.now())

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
    def byline_authors(self):
        """Authors in byline order (uses the prefetch from `for_listing()` when present)."""
        return [byline.author for byline in self.bylines.all()]


class ArticleAuthor(models.Model):
    """One name in an article's byline, in order."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="bylines")
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

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="corrections")
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

    def __str__(self):
        return self.text[:80]
