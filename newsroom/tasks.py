"""Background tasks (Django's task framework, the database queue in production)."""

from django.tasks import task

from .models import Image


@task()
def build_renditions(image_id):
    """Build the missing renditions of one library image; a deleted image is skipped."""
    image = Image.objects.filter(pk=image_id).first()
    if image is None or not image.file:
        return 0
    return image.build_renditions()
