"""Background tasks (Django's task framework, the database queue in production).

Imported when the app is ready (newsroom.apps), so that its receivers listen from the start.
"""

from django.dispatch import receiver
from django.tasks import task

from .models import Image, image_file_saved


@task()
def build_renditions(image_id):
    """Build the missing renditions of one library image; a deleted image is skipped."""
    image = Image.objects.filter(pk=image_id).first()
    if image is None or not image.file:
        return 0
    return image.build_renditions()


@receiver(image_file_saved)
def queue_renditions(sender, image_id, **kwargs):
    """A picture has a new file: its renditions are built off the request path."""
    build_renditions.enqueue(image_id)
