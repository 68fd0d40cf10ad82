"""The newsroom's models: its content (articles.py, with the listings' filings in listings.py) and
its fundraising (fundraising.py)."""

from .articles import (
    FIGURE_IMAGE_ID,
    HOME_FEATURED_MAX,
    Article,
    ArticleAuthor,
    ArticleQuerySet,
    ArticleRedirect,
    Author,
    AuthorLink,
    Correction,
    EditConflict,
    Image,
    Region,
    Section,
    Tag,
    Taxonomy,
    image_file_saved,
)
from .fundraising import (
    CallToAction,
    CallToActionCopy,
    CallToActionCount,
    Campaign,
    GoalProgress,
    campaign_progress,
)
from .listings import Filing, listed_under, refile
from .pages import Page

__all__ = [
    "Filing",
    "listed_under",
    "refile",
    "CallToAction",
    "CallToActionCopy",
    "CallToActionCount",
    "Campaign",
    "GoalProgress",
    "campaign_progress",
    "FIGURE_IMAGE_ID",
    "Article",
    "ArticleAuthor",
    "ArticleQuerySet",
    "ArticleRedirect",
    "Author",
    "AuthorLink",
    "HOME_FEATURED_MAX",
    "Page",
    "Correction",
    "EditConflict",
    "Image",
    "Region",
    "Section",
    "Tag",
    "Taxonomy",
    "image_file_saved",
]
