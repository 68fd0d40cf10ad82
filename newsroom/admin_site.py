from functools import wraps

from allauth.account.decorators import secure_admin_login
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csp import csp_override


def must_activate_totp(user):
    """Whether this staff member must activate an authenticator app before using the admin."""
    return (
        settings.STAFF_REQUIRE_MFA
        and user.is_active
        and user.is_staff
        and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    )


class NewsroomAdminSite(admin.AdminSite):
    """The editors' admin: its own CSP, log-in through allauth (rate limits, 2FA), and, when
    STAFF_REQUIRE_MFA is on, no admin page for staff without an authenticator app."""

    site_header = _("Newsroom administration")
    site_title = _("Newsroom admin")
    index_title = _("Newsroom")

    def each_context(self, request):
        context = super().each_context(request)
        context["site_header"] = settings.NEWSROOM_NAME
        return context

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def require_totp(request, *args, **kwargs):
            # A stolen staff password must not be enough to publish or to read member data, so
            # staff set up two-factor log-in first; logging out stays possible.
            if view != self.logout and must_activate_totp(request.user):
                messages.warning(
                    request,
                    _(
                        "Staff accounts must use two-factor log-in: activate an authenticator "
                        "app for your account, and the admin opens as soon as it is active."
                    ),
                )
                return redirect("mfa_activate_totp")
            return inner(request, *args, **kwargs)

        # The public policy forbids inline styles, which the admin's widgets use.
        return csp_override(settings.ADMIN_CSP)(require_totp)

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
            path(
                "newsroom/page-cache/purge/",
                self.admin_view(admin_views.purge_page_cache),
                name="newsroom_purge_page_cache",
            ),
            *super().get_urls(),
        ]

    def login(self, request, extra_context=None):
        # Staff sign in on allauth's page, so its rate limits and two-factor step apply.
        return secure_admin_login(super().login)(request, extra_context)
