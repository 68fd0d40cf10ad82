"""The newsroom's models: its content (articles.py) and its fundraising (fundraising.py)."""

from .articles import (
    FIGURE_IMAGE_ID,
    Article,
    ArticleAuthor,
    ArticleQuerySet,
    ArticleRedirect,
    Author,
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

__all__ = [
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
    "Correction",
    "EditConflict",
    "Image",
    "Region",
    "Section",
    "Tag",
    "Taxonomy",
    "image_file_saved",
]
