"""Static pages' titles and text in each site language (django-modeltranslation)."""

from modeltranslation.translator import TranslationOptions, register

from .models import Page


@register(Page)
class PageTranslationOptions(TranslationOptions):
    fields = ["title", "body"]
