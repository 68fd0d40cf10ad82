from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TranslationAdmin
from simple_history.admin import SimpleHistoryAdmin
from simple_history.utils import get_history_manager_for_model

from members.access import can_read_full

from . import calls_to_action, charts
from .forms import ArticleForm, ImageForm, ScheduleForm, time_zone_note
from .history import ArticleHistoryHelper
from .models import (
    Article,
    ArticleAuthor,
    Author,
    AuthorLink,
    CallToAction,
    CallToActionCopy,
    Campaign,
    Correction,
    Image,
    Page,
    Region,
    Section,
    Tag,
)
from .preview import preview_expires_at, preview_path
from .views import render_article


@admin.register(Section)
class SectionAdmin(TranslationAdmin):
    """Sections with their name and description per language; an empty translation shows the
    English one."""

    list_display = ["name", "slug", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name_en"]}
    search_fields = ["name"]


@admin.register(Region, Tag)
class TaxonomyAdmin(TranslationAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}
    search_fields = ["name"]


class AuthorLinkInline(admin.TabularInline):
    model = AuthorLink
    extra = 0
    fields = ["label", "url", "position"]


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "role", "slug", "user"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "user__email"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["photo"]
    inlines = [AuthorLinkInline]


@admin.register(Page)
class PageAdmin(TranslationAdmin):
    """Static pages with a copy per language; an empty translation shows the English copy."""

    list_display = ["title", "slug", "in_footer", "position", "updated_at", "site_link"]
    list_editable = ["in_footer", "position"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title_en"]}

    @admin.display(description=_("on the site"))
    def site_link(self, obj):
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), _("View"))


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    form = ImageForm
    list_display = ["thumbnail", "alt", "credit", "dimensions", "size", "uploaded_by", "created_at"]
    list_display_links = ["thumbnail", "alt"]
    search_fields = ["alt", "credit", "licence"]
    date_hierarchy = "created_at"
    list_select_related = ["uploaded_by"]
    readonly_fields = ["dimensions", "size", "uploaded_by", "created_at"]

    @admin.display(description=_("dimensions"))
    def dimensions(self, image):
        return f"{image.width} × {image.height}" if image.width else "—"

    @admin.display(description=_("file size"), ordering="file_size")
    def size(self, image):
        return filesizeformat(image.file_size) if image.file_size is not None else "—"

    @admin.display(description=_("picture"))
    def thumbnail(self, image):
        if not image.file:
            return ""
        # The original stands in until the task has built the small rendition.
        src = image.file.card320 if "card320" in image.renditions else image.file.url
        return format_html('<img src="{}" width="96" height="64" alt="" loading="lazy">', src)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)


PUBLISHED = Article.Status.PUBLISHED


def _when(value):
    """A time as editors read it: in the newsroom's time zone (named in the column header)."""
    return date_format(timezone.localtime(value), "j M Y, H:i")


class BylineInline(admin.TabularInline):
    model = ArticleAuthor
    fields = ["author", "position"]
    extra = 1
    autocomplete_fields = ["author"]


class CorrectionInline(admin.StackedInline):
    """Correction and update notes: only for those with permissions on corrections (editors)."""

    model = Correction
    fields = ["text", "created_at", "created_by"]
    readonly_fields = ["created_by"]
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["created_at"].help_text = time_zone_note()
        return formset


@admin.register(Article)
class ArticleAdmin(SimpleHistoryAdmin):
    """Articles, their workflow and their revisions.

    Roles (groups from migration 0007) are enforced here, on the server:

    - holders of `newsroom.publish_article` (Editors, superusers) see and change every story and
      alone may publish, schedule and unpublish;
    - everyone else with article permissions (Contributors) sees their own stories (created by
      them or with their byline) and published ones, and changes only their own while
      unpublished. "Published" is not a status they can choose, the publication time is
      read-only for them, and the publishing actions are neither offered nor accepted.
    """

    form = ArticleForm
    list_display = [
        "headline",
        "status",
        "section",
        "byline",
        "language",
        "visibility",
        "publication_time",
        "site_link",
    ]
    list_filter = [
        *("status", "section", "bylines__author", "language", "visibility"),
        "home_placement",
    ]
    search_fields = ["headline", "standfirst", "slug"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["headline"]}
    autocomplete_fields = ["hero_image", "regions", "tags", "translation_of"]
    list_select_related = ["section"]
    inlines = [BylineInline, CorrectionInline]
    actions = ["submit_for_review", "publish_now", "schedule", "unpublish"]
    object_history_template = "admin/newsroom/article/object_history.html"
    object_history_list_template = "admin/newsroom/article/object_history_list.html"

    # Who may do what.

    def has_publish_permission(self, request):
        return request.user.has_perm("newsroom.publish_article")

    @staticmethod
    def _own(user):
        return Q(pk__in=Article.objects.owned_by(user).values("pk"))

    def get_queryset(self, request):
        queryset = super().get_queryset(request).prefetch_related("bylines__author")
        if self.has_publish_permission(request):
            return queryset
        # Other people's drafts stay with them and the editors: unpublished work can name
        # sources.
        return queryset.filter(self._own(request.user) | Q(status=PUBLISHED))

    def has_view_permission(self, request, obj=None):
        if not super().has_view_permission(request, obj):
            return False
        if obj is None or self.has_publish_permission(request):
            return True
        # By the stored row: `obj` may be an old revision (history pages).
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or self.has_publish_permission(request):
            return True
        # Judged on the stored row, never on what a form or an old revision says.
        cache = request.__dict__.setdefault("_newsroom_may_change", {})
        if obj.pk not in cache:
            cache[obj.pk] = (
                Article.objects.filter(self._own(request.user), pk=obj.pk)
                .exclude(status=PUBLISHED)
                .exists()
            )
        return cache[obj.pk]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # The autocomplete limits what the search box offers, not what the form accepts: a
        # crafted POST could name anyone's draft, and the form shown again would print its
        # headline. Only what this user may see is a valid choice.
        if db_field.related_model is Article:
            kwargs["queryset"] = self.get_queryset(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        readonly = ["hero_thumbnail", "created_by", "created_at", "updated_at"]
        if not self.has_publish_permission(request):
            # The front page is the editors' to arrange.
            readonly += ["published_at", "home_placement"]
        return readonly

    def get_fieldsets(self, request, obj=None):
        main = ["headline", "slug", "standfirst", "body"]
        if obj is not None:
            main.append("opened_version")  # optimistic locking (ArticleForm)
        return [
            (None, {"fields": main}),
            (
                _("Hero image"),
                {"fields": ["hero_image", "hero_thumbnail", "hero_caption", "hero_alt"]},
            ),
            (_("Filing"), {"fields": ["language", "translation_of", "section", "regions", "tags"]}),
            (
                _("Publication"),
                {
                    "fields": [
                        *("status", "published_at", "visibility", "public_from"),
                        "home_placement",
                    ],
                    "description": time_zone_note(),
                },
            ),
            (
                _("Search engines and sharing"),
                {"fields": ["seo_title", "seo_description"], "classes": ["collapse"]},
            ),
            (
                _("Record"),
                {
                    "fields": ["created_by", "created_at", "updated_at"],
                    "classes": ["collapse"],
                    "description": time_zone_note(),
                },
            ),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # modelform_factory made a new class for this request: the flag stays with it.
        form.can_publish = self.has_publish_permission(request)
        return form

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        if obj.status == PUBLISHED and not self.has_publish_permission(request):
            raise PermissionDenied  # the form refuses it first; this is the last line
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is Correction:
            for correction_form in formset.forms:
                if correction_form.instance.pk is None:
                    correction_form.instance.created_by = request.user
        super().save_formset(request, form, formset, change)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["preview_url"] = request.build_absolute_uri(preview_path(obj))
            context["preview_expires"] = _when(preview_expires_at())
            context["time_zone"] = settings.TIME_ZONE
        return super().render_change_form(request, context, add, change, form_url, obj)

    # Columns and read-only fields.

    @admin.display(description=_("byline"))
    def byline(self, article):
        return ", ".join(str(byline.author) for byline in article.bylines.all())

    @admin.display(
        description=format_lazy("{} ({})", _("published"), settings.TIME_ZONE),
        ordering="published_at",
    )
    def publication_time(self, article):
        if article.published_at is None:
            return "—"
        if article.status == PUBLISHED and article.published_at > timezone.now():
            return format_lazy("{}: {}", _("scheduled"), _when(article.published_at))
        return _when(article.published_at)

    @admin.display(description=_("on the site"))
    def site_link(self, article):
        if article.is_published:
            return format_html('<a href="{}">{}</a>', article.get_absolute_url(), _("View"))
        return format_html('<a href="{}">{}</a>', preview_path(article), _("Preview"))

    @admin.display(description=_("hero image as shown"))
    def hero_thumbnail(self, article):
        image = article.hero_image if article else None
        if image is None or not image.file:
            return "—"
        # The original stands in until the task has built the small rendition.
        src = image.file.card320 if "card320" in (image.renditions or ()) else image.file.url
        return format_html('<img src="{}" width="240" alt="{}">', src, image.alt)

    # Workflow actions. The admin offers an action only to those with its permission, and each
    # action checks again: a crafted POST reaches the action itself.

    def _require_publish_permission(self, request):
        if not self.has_publish_permission(request):
            raise PermissionDenied

    def _done(self, request, count, message):
        if count:
            self.message_user(request, message)

    def _refuse(self, request, article, reason):
        self.message_user(
            request,
            _("“%(headline)s”: %(reason)s") % {"headline": article.headline, "reason": reason},
            level=messages.ERROR,
        )

    def _save_step(self, request, article, change_reason, method, *args):
        """Take one workflow step; False (and the reasons, to the editor) when the story
        refuses it (`Article.publish()` lists what stops a story from going out)."""
        article._change_reason = change_reason
        try:
            method(*args)
        except ValidationError as error:
            self._refuse(
                request,
                article,
                _("not published: %(problems)s") % {"problems": " ".join(error.messages)},
            )
            return False
        self.log_change(request, article, change_reason)
        return True

    @admin.action(description=_("Submit for review"), permissions=["change"])
    def submit_for_review(self, request, queryset):
        count = 0
        for article in queryset:
            if article.status != Article.Status.DRAFT:
                self._refuse(request, article, _("only drafts can be submitted for review."))
            elif not self.has_change_permission(request, article):
                self._refuse(request, article, _("you may not change this story."))
            else:
                self._save_step(request, article, "Submitted for review", article.submit_for_review)
                count += 1
        self._done(
            request,
            count,
            ngettext(
                "%(count)d story submitted for review.",
                "%(count)d stories submitted for review.",
                count,
            )
            % {"count": count},
        )

    @admin.action(description=_("Publish now"), permissions=["publish"])
    def publish_now(self, request, queryset):
        self._require_publish_permission(request)
        count = 0
        for article in queryset:
            if article.is_published:
                continue
            if self._save_step(request, article, "Published", article.publish):
                count += 1
        self._done(
            request,
            count,
            ngettext("%(count)d story published.", "%(count)d stories published.", count)
            % {"count": count},
        )

    @admin.action(description=_("Schedule…"), permissions=["publish"])
    def schedule(self, request, queryset):
        self._require_publish_permission(request)
        form = ScheduleForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            publish_at = form.cleaned_data["publish_at"]
            count = 0
            for article in queryset:
                if article.is_published:
                    self._refuse(
                        request, article, _("it is already on the site; unpublish it first.")
                    )
                elif self._save_step(request, article, "Scheduled", article.publish, publish_at):
                    count += 1
            self._done(
                request,
                count,
                ngettext(
                    "%(count)d story scheduled for %(when)s (%(zone)s).",
                    "%(count)d stories scheduled for %(when)s (%(zone)s).",
                    count,
                )
                % {"count": count, "when": _when(publish_at), "zone": settings.TIME_ZONE},
            )
            return None
        # The intermediate page, like Django's delete confirmation.
        context = {
            **self.admin_site.each_context(request),
            "title": _("Schedule stories"),
            "opts": self.model._meta,
            "articles": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/newsroom/article/schedule.html", context)

    @admin.action(description=_("Unpublish (back to draft)"), permissions=["publish"])
    def unpublish(self, request, queryset):
        self._require_publish_permission(request)
        count = 0
        for article in queryset.filter(status=PUBLISHED):
            self._save_step(request, article, "Unpublished", article.unpublish)
            count += 1
        self._done(
            request,
            count,
            ngettext("%(count)d story unpublished.", "%(count)d stories unpublished.", count)
            % {"count": count},
        )

    # Revisions (django-simple-history).

    def get_historical_record_context_helper(self, request, historical_record):
        return ArticleHistoryHelper(self.model, historical_record)

    def history_view(self, request, object_id, extra_context=None):
        if not str(object_id).isdigit():
            raise Http404
        bylines = (
            get_history_manager_for_model(ArticleAuthor)
            .filter(article_id=object_id)
            .select_related("history_user", "author")
            .order_by("-history_date", "-history_id")
        )
        extra_context = {
            **(extra_context or {}),
            "byline_history": bylines,
            "time_zone": settings.TIME_ZONE,
        }
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        current = self.get_object(request, unquote(object_id))
        if current is None and not self.has_publish_permission(request):
            raise Http404
        # simple_history checks only view permission before saving a revert: reverting is a
        # change to the story as it is now.
        if (
            request.method == "POST"
            and current is not None
            and not self.has_change_permission(request, current)
        ):
            raise PermissionDenied
        with transaction.atomic():
            response = super().history_form_view(request, object_id, version_id, extra_context)
            if request.method == "POST" and response.status_code == 302 and current is not None:
                self._revert_links(current, version_id)
            return response

    @staticmethod
    def _revert_links(article, version_id):
        """Put back the bylines, regions and tags the story had in the reverted revision:
        simple_history's revert restores the article's own fields only."""
        record = article.history.get(history_id=version_id)
        # The admin saves the inline bylines just after the article, so the bylines of a revision
        # are those standing when the next revision began.
        following = article.history.filter(history_date__gt=record.history_date)
        until = following.order_by("history_date").values_list("history_date", flat=True).first()
        bylines = ArticleAuthor.history.as_of(until or timezone.now()).filter(article_id=article.pk)
        article.bylines.all().delete()
        ArticleAuthor.objects.bulk_create(
            ArticleAuthor(article=article, author_id=b.author_id, position=b.position)
            for b in bylines
        )
        article.regions.set([row.region_id for row in record.regions.all()])
        article.tags.set([row.tag_id for row in record.tags.all()])

    def revert_disabled(self, request, obj=None):
        if super().revert_disabled(request, obj):
            return True
        return obj is not None and not self.has_change_permission(request, obj)


# Fundraising: campaigns and their blocks (Editors; newsroom.calls_to_action chooses them).

PREVIEW_AUDIENCE_NAMES = {
    "anonymous": _("not signed in"),
    "registered": _("signed in, not a member"),
    "member": _("a member"),
    "lapsed": _("a lapsed member"),
    "donor": _("a donor"),
}


def render_results(blocks):
    """The views, clicks and conversions of `blocks`, with charts of the last 30 days."""
    counted = calls_to_action.results(blocks)
    # Every day is a bar; a week's first day is labelled under the axis.
    days = [
        ([date_format(row["day"], "j M")] if index % 7 == 0 else [], date_format(row["day"], "j M"))
        for index, row in enumerate(counted["daily"])
    ]
    drawn = [
        charts.bar_chart(
            chart_id=f"cta-{name}",
            title=title,
            description=_("One bar a day over the last 30 days; the table below gives each day."),
            categories=days,
            series=[(title, [row[name] for row in counted["daily"]], charts.BLUE)],
            width=420,
            height=160,
        )
        for name, title in [
            ("views", _("Views a day")),
            ("clicks", _("Clicks a day")),
            ("conversions", _("Conversions a day")),
        ]
    ]
    return render_to_string(
        "admin/newsroom/call_to_action_results.html", {**counted, "charts": drawn}
    )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Fundraising drives; a goal's progress is counted from real memberships and payments."""

    list_display = ["name", "goal", "progress", "starts_at", "deadline"]
    list_filter = ["goal"]
    search_fields = ["name"]
    readonly_fields = ["results"]
    fields = [
        *("name", "goal", "goal_members", "goal_amount", "goal_currency"),
        *("starts_at", "deadline", "results"),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).with_progress()

    @admin.display(description=_("results of its blocks"))
    def results(self, campaign):
        return (
            render_results(CallToAction.objects.filter(campaign=campaign)) if campaign.pk else "—"
        )

    @admin.display(description=_("progress"))
    def progress(self, campaign):
        progress = campaign.progress()
        if progress is None:
            return "—"
        return _("%(current)s of %(target)s") % {
            "current": progress.shown_current,
            "target": progress.shown_target,
        }


class CallToActionCopyInline(admin.StackedInline):
    model = CallToActionCopy
    extra = 1
    max_num = len(settings.LANGUAGES)
    fields = ["language", "heading", "body", "button_label"]


@admin.register(CallToAction)
class CallToActionAdmin(admin.ModelAdmin):
    """Fundraiser blocks: where, for whom, when, where the button leads, and their words in
    each language (a page in a language without a copy shows no such block)."""

    list_display = [
        *("name", "placement", "audience", "target", "priority"),
        *("starts_at", "ends_at", "campaign", "languages"),
    ]
    list_filter = ["placement", "audience", "target", "campaign"]
    search_fields = ["name", "copies__heading"]
    autocomplete_fields = ["sections", "campaign"]
    readonly_fields = ["results", "preview_links"]
    inlines = [CallToActionCopyInline]
    fieldsets = [
        (None, {"fields": ["name", "placement", "position", "sections", "audience"]}),
        (_("When"), {"fields": ["starts_at", "ends_at", "priority"]}),
        (
            _("Button"),
            {
                "fields": [
                    "target",
                    "donate_amount",
                    "external_url",
                    "external_progress",
                    "external_progress_on",
                ]
            },
        ),
        (_("Campaign and look"), {"fields": ["campaign", "style", "dismissible", "dismiss_days"]}),
        (_("Preview on the newest story, as a reader who is…"), {"fields": ["preview_links"]}),
        (_("Results"), {"fields": ["results"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("campaign").prefetch_related("copies")

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("<path:object_id>/preview/", preview, name="newsroom_calltoaction_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id):
        """The block on a published story (`?article=`, else the newest one in a language the
        block speaks), as a reader of `?audience=` would see the page if the block ran now."""
        block = self.get_object(request, unquote(object_id))
        if block is None or not self.has_view_permission(request, block):
            raise Http404
        audience = request.GET.get("audience")
        if audience not in calls_to_action.PREVIEW_AUDIENCES:
            audience = "anonymous"
        articles = Article.objects.published().select_related("section", "hero_image")
        chosen = request.GET.get("article", "")
        article = (articles.filter(pk=chosen).first() if chosen.isdecimal() else None) or (
            articles.filter(language__in=block.copies.values("language")).first()
        )
        if article is None:
            raise Http404("No published story to preview the block on.")
        with translation.override(article.language):
            readable = audience == "member" or can_read_full(AnonymousUser(), article)
            blocks = calls_to_action.blocks_for_page(
                request,
                article=article,
                readable=readable,
                audiences=calls_to_action.PREVIEW_AUDIENCES[audience],
                preview=block,
            )
            response = render_article(
                request,
                article,
                readable=readable,
                blocks=blocks,
                preview_block=block,
                preview_audience=PREVIEW_AUDIENCE_NAMES[audience],
            )
        add_never_cache_headers(response)
        return response

    @admin.display(description=_("preview"))
    def preview_links(self, block):
        if not block.pk:
            return "—"
        return format_html_join(
            " · ",
            '<a href="{}?audience={}" target="_blank" rel="noopener">{}</a>',
            (
                (reverse("admin:newsroom_calltoaction_preview", args=[block.pk]), key, name)
                for key, name in PREVIEW_AUDIENCE_NAMES.items()
            ),
        )

    @admin.display(description=_("views, clicks and conversions"))
    def results(self, block):
        return render_results(CallToAction.objects.filter(pk=block.pk)) if block.pk else "—"

    @admin.display(description=_("languages"))
    def languages(self, block):
        return ", ".join(sorted(copy.language for copy in block.copies.all())) or "—"
