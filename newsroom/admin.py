from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .forms import ImageForm
from .models import Article, ArticleAuthor, Author, Image, Region, Section, Tag


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Region, Tag)
class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "user"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "user__email"]
    raw_id_fields = ["user"]


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


class BylineInline(admin.TabularInline):
    model = ArticleAuthor
    extra = 1
    autocomplete_fields = ["author"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["headline", "status", "section", "language", "published_at"]
    list_filter = ["status", "section", "language"]
    search_fields = ["headline", "standfirst"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["headline"]}
    autocomplete_fields = ["hero_image", "regions", "tags"]
    list_select_related = ["section"]
    inlines = [BylineInline]
    fieldsets = [
        (None, {"fields": ["headline", "slug", "standfirst", "body"]}),
        (_("Hero image"), {"fields": ["hero_image", "hero_caption"]}),
        (_("Filing"), {"fields": ["language", "section", "regions", "tags"]}),
        (_("Publication"), {"fields": ["status", "published_at"]}),
    ]
