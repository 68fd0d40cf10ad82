"""Plan names, descriptions and benefits in each site language (django-modeltranslation)."""

from modeltranslation.translator import TranslationOptions, register

from .models import Plan


@register(Plan)
class PlanTranslationOptions(TranslationOptions):
    fields = ["name", "description", "benefits"]
