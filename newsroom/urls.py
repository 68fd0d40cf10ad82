from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path, register_converter

from . import preview, views
from .feeds import StoryFeed
from .models import Author, Region, Section, Tag
from .page_cache import shared_page
from .sitemaps import SITEMAPS, NewsSitemap


class YearConverter:
    regex = "[0-9]{4}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return f"{int(value):04d}"


class MonthConverter:
    regex = "0[1-9]|1[0-2]"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return f"{int(value):02d}"


register_converter(YearConverter, "yyyy")
register_converter(MonthConverter, "mm")

newsroom_patterns = (
    [
        path("", views.home, name="home"),
        path("section/<slug:slug>/", views.section_detail, name="section_detail"),
        path("region/<slug:slug>/", views.region_detail, name="region_detail"),
        path("tag/<slug:slug>/", views.tag_detail, name="tag_detail"),
        path("author/<slug:slug>/", views.author_detail, name="author_detail"),
        path("search/", views.search, name="search"),
        # RSS and Atom: the whole site's, and each listing's next to its page.
        path("feed/", shared_page(StoryFeed()), name="feed"),
        path("feed/atom/", shared_page(StoryFeed(atom=True)), name="feed_atom"),
        *(
            path(
                f"{kind}/<slug:slug>/feed/{atom}",
                shared_page(StoryFeed(model, atom=bool(atom))),
                name=f"{kind}_feed{'_atom' if atom else ''}",
            )
            for kind, model in [
                ("section", Section),
                ("region", Region),
                ("tag", Tag),
                ("author", Author),
            ]
            for atom in ("", "atom/")
        ),
        path("fundraising/seen/", views.call_to_action_seen, name="call_to_action_seen"),
        path(
            "fundraising/go/<int:block_id>/",
            views.call_to_action_click,
            name="call_to_action_click",
        ),
        path("<yyyy:year>/<mm:month>/<str:slug>/", views.article_detail, name="article_detail"),
        # Last: static pages (about, contact…) take any address nothing else answers.
        path("<slug:slug>/", views.page_detail, name="page_detail"),
    ],
    "newsroom",
)

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    # Sitemaps cover every language, so they live outside the language prefixes.
    path(
        "sitemap.xml",
        shared_page(sitemap_views.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-news.xml",
        shared_page(sitemap_views.sitemap),
        {"sitemaps": {"news": NewsSitemap}, "template_name": "newsroom/sitemap_news.xml"},
        name="sitemap_news",
    ),
    path(
        "sitemap-<section>.xml",
        shared_page(sitemap_views.sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap_section",
    ),
    # Outside the language prefixes: a preview shows the story in its own language.
    path("preview/<str:token>/", preview.article_preview, name="article_preview"),
    path("i18n/", include("django.conf.urls.i18n")),
]

# A database that is down answers the branded 503 (views.server_error).
handler500 = views.server_error

# English lives at the root, other languages under their prefix (/ru/…).
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # Membership, donations and the Stripe webhook (/membership/stripe/webhook/).
    path("", include("members.urls")),
    path("", include(newsroom_patterns)),
    prefix_default_language=False,
)

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
