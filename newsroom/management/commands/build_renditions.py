"""`manage.py build_renditions`: build every missing image rendition, with a progress bar."""

import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from newsroom.models import Image
from newsroom.tasks import render_stories_showing


class Command(BaseCommand):
    """Build the renditions that uploads' tasks have not (yet) built, e.g. after adding a size.

    Safe to run at any time and repeatedly: what exists is skipped unless --force is given.
    """

    help = "Build missing image renditions (AVIF, WebP and fallback sizes)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Rebuild every rendition, not only missing ones."
        )

    def handle(self, *args, force, verbosity, **options):
        images = [
            image
            for image in Image.objects.exclude(file="").order_by("pk").iterator()
            if force or image.missing_renditions
        ]
        built = 0
        for image in tqdm(
            images, desc="Renditions", unit="image", file=sys.stderr, disable=verbosity == 0
        ):
            built += image.build_renditions(force=force)
            # The stories that show it now offer its renditions too.
            render_stories_showing(image.pk)
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(f"Built {built} renditions for {len(images)} images.")
                if images
                else "Every image has all its renditions."
            )
