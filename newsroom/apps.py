from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def create_cache_tables(sender, using, **kwargs):
    """The database caches' tables (the page cache without Redis), made by every `migrate`, so
    that no deployment step can be forgotten; Django skips tables that exist."""
    call_command("createcachetable", database=using, verbosity=0)


class NewsroomConfig(AppConfig):
    name = "newsroom"
    verbose_name = _("Newsroom")

    def ready(self):
        # Register the system checks, the receiver that queues renditions when a picture gets a
        # new file, the one that counts the fundraiser blocks' conversions, and those that purge
        # the page cache and mark signed-in readers.
        from . import calls_to_action, checks, page_cache, tasks  # noqa: F401

        post_migrate.connect(create_cache_tables, sender=self)


class NewsroomAdminConfig(AdminConfig):
    default_site = "newsroom.admin_site.NewsroomAdminSite"
