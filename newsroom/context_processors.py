from django.conf import settings

from .models import Section


def site(request):
    """The shared page chrome. Nothing here may depend on the user: anonymous pages are cached."""
    return {
        "newsroom_name": settings.NEWSROOM_NAME,
        "newsroom_tagline": settings.NEWSROOM_TAGLINE,
        "nav_sections": Section.objects.all(),
    }
