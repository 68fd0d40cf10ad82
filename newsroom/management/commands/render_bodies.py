"""`manage.py render_bodies`: render every story's body for readers again, with a progress bar."""

import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from newsroom.models import Article
from newsroom.page_cache import purge


class Command(BaseCommand):
    """Store every article's reader rendering again (newsroom.body).

    Saving a story renders it, and a task renders again the stories that show a picture when
    the picture changes; run this after a change to the rendering (`newsroom.body.VERSION`) or
    to where media addresses lead, or after stories were written past `Article.save()` (bulk
    imports). Until then pages render those bodies themselves on every request. Safe to run at
    any time.
    """

    help = "Render every article's body for readers again (figures, renditions, credits)."

    def handle(self, *args, verbosity, **options):
        stories = Article.objects.all()
        with tqdm(
            total=stories.count(),
            desc="Bodies",
            unit="story",
            file=sys.stderr,
            disable=verbosity == 0,
        ) as bar:
            done = stories.render_bodies(progress=bar.update)
        purge()
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Rendered {done} story bodies."))
