"""Filling in admin forms as a browser would: what the page offers, plus what the person types."""

from newsroom.models import Article
from tests import html

ARTICLES = "/admin/newsroom/article/"


def form_data(response, form_id="article_form", **changes):
    """The fields a browser would submit from the page's form, with `changes` applied.

    Values are lists (as Django's test client accepts them); a change of None removes a field.
    """
    data = html.form_data(response, form_id)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value if isinstance(value, list) else [value]
    return data


def change_url(article):
    return f"{ARTICLES}{article.pk}/change/"


def post_change(client, article, **changes):
    """Open an article's change page and save it with `changes`, as its user would."""
    page = client.get(change_url(article))
    assert page.status_code == 200, page.status_code
    return client.post(change_url(article), form_data(page, _save="Save", **changes))


def new_article_data(section, **fields):
    """What the add form posts for a minimal new story (no bylines, no corrections)."""
    data = {
        "headline": "A new story",
        "slug": "a-new-story",
        "standfirst": "",
        "body": "<p>Text.</p>",
        "hero_image": "",
        "hero_caption": "",
        "hero_alt": "",
        "language": "en",
        "translation_of": "",
        "section": section.pk,
        "status": Article.Status.DRAFT,
        "published_at_0": "",
        "published_at_1": "",
        "visibility": Article.Visibility.PUBLIC,
        "public_from_0": "",
        "public_from_1": "",
        "seo_title": "",
        "seo_description": "",
        "_save": "Save",
    }
    for prefix in ("bylines", "corrections"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(fields)
    return data


def run_action(client, action, articles, **extra):
    """POST an admin action on the changelist, as its "Go" button does."""
    return client.post(
        ARTICLES,
        {"action": action, "_selected_action": [a.pk for a in articles], **extra},
    )
