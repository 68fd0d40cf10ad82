from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csp import csp_override


class NewsroomAdminSite(admin.AdminSite):
    """The editors' admin: its own CSP, and log-in through allauth (rate limits, 2FA)."""

    site_header = _("Newsroom administration")
    site_title = _("Newsroom admin")
    index_title = _("Newsroom")

    def each_context(self, request):
        context = super().each_context(request)
        context["site_header"] = settings.NEWSROOM_NAME
        return context

    def admin_view(self, view, cacheable=False):
        # The public policy forbids inline styles, which the admin's widgets use.
        return csp_override(settings.ADMIN_CSP)(super().admin_view(view, cacheable))

    def get_urls(self):
        from . import admin_views

        # Before the admin's own patterns, whose catch-all would answer first.
        return [
            path(
                "newsroom/image-library/images/",
                self.admin_view(admin_views.image_list),
                name="newsroom_image_library",
            ),
            path(
                "newsroom/image-library/images/<int:pk>/",
                self.admin_view(admin_views.image_detail),
                name="newsroom_image_library_detail",
            ),
            *super().get_urls(),
        ]

    def login(self, request, extra_context=None):
        # Staff sign in on allauth's page, so its rate limits and two-factor step apply.
        return secure_admin_login(super().login)(request, extra_context)
