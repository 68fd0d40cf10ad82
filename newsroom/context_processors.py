from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .calls_to_action import blocks_for_page
from .metadata import language_links
from .object_cache import footer_pages, nav_sections


def site(request):
    """The shared page chrome. Nothing here may depend on the user: anonymous pages are cached.

    The sections and the footer's pages come from the object cache (newsroom.object_cache),
    looked up only if the page shows them. `call_to_action_blocks` is the site banner of pages
    whose view chose no blocks itself (article and listing views do), looked up only if the
    page shows it. `language_links` lead to this address in each language (an article's view
    gives its editions instead); `canonical_url` is this page's absolute address without its
    query string.
    """
    return {
        "newsroom_name": settings.NEWSROOM_NAME,
        "newsroom_tagline": settings.NEWSROOM_TAGLINE,
        "nav_sections": SimpleLazyObject(lambda: nav_sections(request)),
        "footer_pages": SimpleLazyObject(lambda: footer_pages(request)),
        "call_to_action_blocks": SimpleLazyObject(lambda: blocks_for_page(request)),
        "language_links": SimpleLazyObject(lambda: language_links(request)),
        "canonical_url": SimpleLazyObject(lambda: request.build_absolute_uri(request.path)),
    }
