"""What readers see of the newsroom's own texts in each site language (django-modeltranslation):
static pages' titles and text, and the names of sections, regions and tags (with a section's
description). An empty translation shows the English text."""

from django.conf import settings
from django.db.models import F, TextField, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import get_language
from modeltranslation.translator import TranslationOptions, register

from .models import Page, Region, Section, Tag


@register(Page)
class PageTranslationOptions(TranslationOptions):
    fields = ["title", "body"]


@register(Section)
class SectionTranslationOptions(TranslationOptions):
    fields = ["name", "description"]


@register([Region, Tag])
class TaxonomyTranslationOptions(TranslationOptions):
    fields = ["name"]


def localized(field):
    """An expression of a translated `field` in the active language, or in English where that is
    empty: what the model's attribute shows, for `values_list()` and unions, which the
    translated managers do not rewrite."""
    language = get_language() or settings.LANGUAGE_CODE
    default = F(f"{field}_{settings.MODELTRANSLATION_DEFAULT_LANGUAGE}")
    if language == settings.MODELTRANSLATION_DEFAULT_LANGUAGE:
        return default
    return Coalesce(NullIf(f"{field}_{language}", Value("")), default, output_field=TextField())
