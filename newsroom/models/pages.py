"""The newsroom's static pages: about, contact, terms, privacy, corrections policy."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django_prose_editor.fields import ProseEditorField

from ..richtext import PAGE_EXTENSIONS, clean_page

BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|blockquote)>")


class Page(models.Model):
    """A page that changes rarely, at /<slug>/ in each language (title and text translated
    with django-modeltranslation; a language without its own copy shows the English one)."""

    slug = models.SlugField(
        _("slug"), max_length=100, unique=True, help_text=_("The page's address: /slug/.")
    )
    title = models.CharField(_("title"), max_length=200)
    body = ProseEditorField(
        _("text"), blank=True, config={"extensions": PAGE_EXTENSIONS}, sanitize=clean_page
    )
    in_footer = models.BooleanField(
        _("linked from the footer"), default=True, help_text=_("Every page's footer links here.")
    )
    position = models.PositiveSmallIntegerField(
        _("position"), default=0, help_text=_("Order of the footer's links.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("page")
        verbose_name_plural = _("pages")

    def __str__(self):
        return self.title

    def clean(self):
        super().clean()
        if self.slug and self.slug_is_taken(self.slug):
            raise ValidationError({"slug": _("This address is taken by another page of the site.")})

    @staticmethod
    def slug_is_taken(slug):
        """Whether /<slug>/ already leads somewhere else: static pages come after every other
        address of the site, so such a page could never be opened."""
        # A language prefix (/ru/) and the static and media files are answered before the
        # URLconf; the rest is whatever the URLconf resolves, in the default language so
        # that an editor working in the Russian admin is checked against the same addresses.
        reserved = {code for code, _name in settings.LANGUAGES}
        reserved |= {settings.STATIC_URL.strip("/"), settings.MEDIA_URL.strip("/")}
        if slug.lower() in reserved:
            return True
        with translation.override(settings.LANGUAGE_CODE):
            try:
                match = resolve(f"/{slug}/")
            except Resolver404:
                return False
        return match.view_name != "newsroom:page_detail"

    def save(self, *args, **kwargs):
        # Every language's copy is cleaned, whichever path the text came by.
        for field in self._meta.concrete_fields:
            if field.name.startswith("body"):
                setattr(self, field.attname, clean_page(getattr(self, field.attname)))
        super().save(*args, **kwargs)

    @property
    def description(self):
        """The start of the text as plain text, for search engines and link previews."""
        # Blocks end in a space, so that a heading and the paragraph after it stay two words.
        text = strip_tags(BLOCK_END.sub(r"\g<0> ", self.body or ""))
        return Truncator(" ".join(text.split())).chars(160)

    def get_absolute_url(self):
        return reverse("newsroom:page_detail", kwargs={"slug": self.slug})
