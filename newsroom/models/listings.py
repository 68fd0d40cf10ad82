"""Where each published story is listed under a region, a tag or an author: `Filing`.

A section's listing is ordered by an index of the stories themselves (section, language, time).
Regions, tags and authors reach their stories through link tables, and no index can order a
join: a deep page of a tag with 13,000 stories took 70 ms at 100,000 stories, since the database
sorted every story of the tag to skip to it. A filing copies, for each link of a published story,
what its listings filter and order by (the story's language and publication time), so that the
ids of any page of such a listing come from one index, as the home page's do (newsroom.pagination).

Filings are derived: `refile()` rewrites those of some stories from their rows and links, and is
called from every path that changes them (a story's save, its regions and tags changing, a
byline added or removed; bulk writers such as the demo call it themselves). A filing holds no
more than its story's links say: `manage.py refile` rebuilds them all.
"""

from itertools import batched

from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .articles import Article, ArticleAuthor, Author, Region, Tag

# How many stories `refile()` rewrites per round of queries.
BATCH = 500


class Filing(models.Model):
    """A published story listed under a region, tag or author (`kind`, `subject_id`), with its
    language and publication time (a scheduled story's is in the future: listings ask for
    those up to now, as `Article.objects.published()` does)."""

    class Kind(models.TextChoices):
        REGION = "region", _("region")
        TAG = "tag", _("tag")
        AUTHOR = "author", _("author")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=6, choices=Kind)
    subject_id = models.BigIntegerField()
    language = models.CharField(max_length=10)
    published_at = models.DateTimeField()

    class Meta:
        verbose_name = _("filing")
        verbose_name_plural = _("filings")
        indexes = [
            # A listing's page in its order (newsroom.views._listing).
            models.Index(
                fields=["kind", "subject_id", "language", "-published_at", "-article"],
                name="newsroom_filing_listing_idx",
            ),
            # Each subject's latest story, whatever its language (the sitemaps' dates).
            models.Index(
                fields=["kind", "subject_id", "-published_at"],
                name="newsroom_filing_latest_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "kind", "subject_id"], name="newsroom_filing_once"
            ),
        ]

    def __str__(self):
        return f"{self.article_id} under {self.kind} {self.subject_id}"


KIND_OF = {Region: Filing.Kind.REGION, Tag: Filing.Kind.TAG, Author: Filing.Kind.AUTHOR}


def listed_under(subject):
    """The ids of the published stories in this language listed under `subject` (a region, tag
    or author), newest first: the order of `Article.objects.published()` listings."""
    return (
        Filing.objects.filter(
            kind=KIND_OF[type(subject)],
            subject_id=subject.pk,
            language=get_language(),
            published_at__lte=timezone.now(),
        )
        .order_by("-published_at", "-article_id")
        .values_list("article_id", flat=True)
    )


def refile(article_ids, progress=None):
    """Rewrite the filings of the stories `article_ids` from their rows and links: a story
    whose status is published gets one per region, tag and byline; any other, none.
    `progress(n)` is called after each batch of n stories."""
    for batch in batched(article_ids, BATCH):
        with transaction.atomic():
            Filing.objects.filter(article_id__in=batch).delete()
            stories = {
                pk: (language, published_at)
                for pk, language, published_at in Article.objects.filter(
                    pk__in=batch,
                    status=Article.Status.PUBLISHED,
                    published_at__isnull=False,
                ).values_list("pk", "language", "published_at")
            }
            links = [
                (Filing.Kind.REGION, Article.regions.through.objects, "region_id"),
                (Filing.Kind.TAG, Article.tags.through.objects, "tag_id"),
                (Filing.Kind.AUTHOR, ArticleAuthor.objects, "author_id"),
            ]
            Filing.objects.bulk_create(
                Filing(
                    article_id=article_id,
                    kind=kind,
                    subject_id=subject_id,
                    language=stories[article_id][0],
                    published_at=stories[article_id][1],
                )
                for kind, rows, subject in links
                for article_id, subject_id in rows.filter(article_id__in=stories)
                .order_by()
                .values_list("article_id", subject)
            )
        if progress is not None:
            progress(len(batch))


# Every path that changes what a filing copies --------------------------------------------------


@receiver(post_save, sender=Article, dispatch_uid="refile-article")
def _article_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        refile([instance.pk])


@receiver(post_save, sender=ArticleAuthor, dispatch_uid="refile-byline-saved")
def _byline_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        refile([instance.article_id])


@receiver(post_delete, sender=ArticleAuthor, dispatch_uid="unfile-byline")
def _byline_deleted(sender, instance, **kwargs):
    # Only this filing: the byline may be going with its story, which must not be refiled.
    Filing.objects.filter(
        article_id=instance.article_id, kind=Filing.Kind.AUTHOR, subject_id=instance.author_id
    ).delete()


@receiver(m2m_changed, sender=Article.regions.through, dispatch_uid="refile-regions")
@receiver(m2m_changed, sender=Article.tags.through, dispatch_uid="refile-tags")
def _links_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        refile([instance.pk])
    elif pk_set:
        # From a region's or tag's side (`tag.articles.add(…)`): the stories named.
        refile(sorted(pk_set))
    else:
        # `tag.articles.clear()`: every story that was filed under it.
        Filing.objects.filter(kind=KIND_OF[type(instance)], subject_id=instance.pk).delete()


@receiver(post_delete, sender=Region, dispatch_uid="unfile-region")
@receiver(post_delete, sender=Tag, dispatch_uid="unfile-tag")
@receiver(post_delete, sender=Author, dispatch_uid="unfile-author")
def _subject_deleted(sender, instance, **kwargs):
    Filing.objects.filter(kind=KIND_OF[sender], subject_id=instance.pk).delete()
