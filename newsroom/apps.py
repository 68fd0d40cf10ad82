from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class NewsroomConfig(AppConfig):
    name = "newsroom"
    verbose_name = _("Newsroom")

    def ready(self):
        # Register the system checks, the receiver that queues renditions when a picture gets a
        # new file, and the one that counts the fundraiser blocks' conversions.
        from . import calls_to_action, checks, tasks  # noqa: F401


class NewsroomAdminConfig(AdminConfig):
    default_site = "newsroom.admin_site.NewsroomAdminSite"
