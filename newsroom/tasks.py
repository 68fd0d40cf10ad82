"""Background tasks (Django's task framework, the database queue in production).

Imported when the app is ready (newsroom.apps), so that its receivers listen from the start.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.tasks import task

from .models import Article, Image, image_file_saved
from .page_cache import purge


@task()
def build_renditions(image_id):
    """Build the missing renditions of one library image, then render again the stories whose
    body shows it; a deleted image is skipped."""
    image = Image.objects.filter(pk=image_id).first()
    if image is None or not image.file:
        return 0
    built = image.build_renditions()
    render_stories_showing(image_id)
    return built


@receiver(image_file_saved)
def queue_renditions(sender, image_id, **kwargs):
    """A picture has a new file: its renditions are built off the request path."""
    build_renditions.enqueue(image_id)


def render_stories_showing(image_id):
    """Render again the bodies that show the library image `image_id` (newsroom.body: the
    figure has new renditions, alternative text or credit, or disappears with a deleted
    image), and retire the pages that show the old ones; returns how many stories."""
    rendered = Article.objects.showing_image(image_id).render_bodies()
    if rendered:
        # As for a save: now, and again once this is committed.
        purge()
        transaction.on_commit(purge)
    return rendered


@task()
def render_bodies_showing(image_id):
    """`render_stories_showing()` off the request path."""
    return render_stories_showing(image_id)


@receiver(post_save, sender=Image, dispatch_uid="render-bodies-after-image-save")
def _image_saved(sender, instance, created, raw=False, **kwargs):
    # A new picture is in no story yet. Queued in the saving transaction: the database queue
    # makes the task run only if the change is committed.
    if not created and not raw:
        render_bodies_showing.enqueue(instance.pk)


@receiver(post_delete, sender=Image, dispatch_uid="render-bodies-after-image-delete")
def _image_deleted(sender, instance, **kwargs):
    render_bodies_showing.enqueue(instance.pk)
