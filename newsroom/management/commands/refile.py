"""`manage.py refile`: rebuild every story's filings (its region, tag and author listings), with
a progress bar."""

import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from newsroom.models import Article, refile
from newsroom.page_cache import purge


class Command(BaseCommand):
    """Rewrite the filings of every story from its rows and links (newsroom.models.listings).

    Saves and link changes keep them; run this after stories or their links were written past
    the ORM (a bulk import, a restore of a table on its own). Safe to run at any time.
    """

    help = "Rebuild the listings of regions, tags and authors from the stories and their links."

    def handle(self, *args, verbosity, **options):
        ids = list(Article.objects.order_by("pk").values_list("pk", flat=True))
        with tqdm(
            total=len(ids), desc="Filings", unit="story", file=sys.stderr, disable=verbosity == 0
        ) as bar:
            refile(ids, progress=bar.update)
        purge()
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Refiled {len(ids)} stories."))
