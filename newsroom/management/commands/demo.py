"""`manage.py demo`: fill the database with a fictional newsroom to develop and demonstrate against.

Everything is invented (newsroom.demo): the outlet ("The Highland Courier"), its reporters, its
stories and its photographs, which are drawn with Pillow. Nothing is copied from real journalism.
"""

import random
import sys
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from tqdm import tqdm

from newsroom.demo.fundraising import create_demo_blocks
from newsroom.demo.membership import create_demo_plans
from newsroom.demo.membership_history import (
    HistoryError,
    build_membership_history,
    has_membership_history,
    remove_membership_history,
)
from newsroom.demo.pages import create_demo_pages, describe_authors, pin_home_stories
from newsroom.demo.pictures import (
    PHOTOGRAPHERS,
    PICTURE_COUNT,
    PICTURE_KINDS,
    PICTURE_NAME,
    draw_picture,
)
from newsroom.demo.writing import (
    AUTHORS,
    CORRECTIONS,
    REGIONS,
    RUSSIAN_PLACES,
    RUSSIAN_SECTIONS,
    RUSSIAN_TAGS,
    SECTION_TAGS,
    SECTIONS,
    TAGS,
    RussianWriter,
    StoryWriter,
)
from newsroom.models import (
    Article,
    ArticleAuthor,
    Author,
    Correction,
    Image,
    Region,
    Section,
    Tag,
    refile,
)
from newsroom.richtext import clean_body
from newsroom.search import is_full_text

PUBLISHED, SCHEDULED, DRAFT, REVIEW = "published", "scheduled", "draft", "review"
STATUS_WEIGHTS = {PUBLISHED: 88, DRAFT: 5, REVIEW: 3, SCHEDULED: 4}
# A scheduled story is a published one whose time has not come yet.
STATUS_VALUES = {
    PUBLISHED: Article.Status.PUBLISHED,
    SCHEDULED: Article.Status.PUBLISHED,
    DRAFT: Article.Status.DRAFT,
    REVIEW: Article.Status.REVIEW,
}
PUBLISHED_SPAN = timedelta(days=730)
VISIBILITY_WEIGHTS = {
    Article.Visibility.PUBLIC: 90,
    Article.Visibility.MEMBERS: 6,
    Article.Visibility.EARLY_ACCESS: 4,
}
RUSSIAN_SHARE = 0.06
CORRECTED_SHARE = 0.03
BATCH_SIZE = 500


class Command(BaseCommand):
    """Build a deterministic demo newsroom: taxonomy, authors, a picture library and articles.

    Without --reset it adds articles to what is there and reuses the taxonomy, authors and pool
    pictures, so running it twice never duplicates those. The same seed on the same database state
    writes the same stories; publication times are relative to the moment it runs.
    """

    help = "Fill the database with The Highland Courier, a fictional demo newsroom."

    def add_arguments(self, parser):
        parser.add_argument(
            "--articles", type=int, default=200, help="How many articles to add (default 200)."
        )
        parser.add_argument(
            "--seed", type=int, default=2026, help="Seed for the invented content (default 2026)."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete all articles and the demo's pictures, authors, tags, regions and "
            "sections first.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if there are articles already (for `make run`).",
        )

    def handle(self, *args, articles, seed, reset, if_empty, verbosity, **options):
        if articles < 0:
            raise CommandError(
                f"--articles must be 0 or more, got {articles}. "
                "Use --reset to remove the existing articles."
            )
        if reset and if_empty:
            raise CommandError("--reset and --if-empty contradict each other; choose one.")
        if if_empty and Article.objects.exists():
            if verbosity >= 1:
                self.stdout.write("There are articles already; the demo newsroom is left as it is.")
            return
        self.verbosity = verbosity

        if reset:
            self.reset()
        with transaction.atomic():
            sections, regions, tags, authors = self.build_taxonomy()
        describe_authors(authors)
        pages = create_demo_pages()
        if verbosity >= 1:
            self.stdout.write(f"Pages: {', '.join(page.title for page in pages)}.")
        plans = create_demo_plans()
        if plans and verbosity >= 1:
            self.stdout.write(
                f"Membership plans: {', '.join(plan.name for plan in plans)}. "
                "Run `python manage.py stripe_setup` to create them in Stripe."
            )
        blocks = create_demo_blocks()
        if blocks and verbosity >= 1:
            self.stdout.write(f"Fundraiser blocks: {', '.join(block.name for block in blocks)}.")
        self.build_membership_history(seed)
        pictures = self.build_pictures()
        existing = Article.objects.count()
        # Mixing in the number of articles already there keeps a second run from repeating the
        # first run's stories, and the result is still the same for the same starting point.
        rng = random.Random(seed if not existing else f"{seed}:{existing}")
        with transaction.atomic():
            counts = self.build_articles(rng, articles, sections, regions, tags, authors, pictures)
        self.index_for_search()
        pinned = pin_home_stories()
        if pinned and verbosity >= 1:
            self.stdout.write(f"Home pages: {len(pinned)} stories pinned by the editors.")

        if verbosity >= 1:
            total = existing + articles
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo newsroom ready: {articles} articles ({counts[PUBLISHED]} published, "
                    f"{counts[SCHEDULED]} scheduled, {counts[DRAFT]} drafts, {counts[REVIEW]} in "
                    f"review; {counts['members']} members-only, {counts['early_access']} early "
                    f"access, {counts['corrected']} corrected) and {counts['russian']} Russian "
                    f"editions, {len(pictures)} images, {len(sections)} sections, {len(regions)} "
                    f"regions, {len(tags)} tags, {len(authors)} authors."
                    + (f" The newsroom now has {total} articles in all." if existing else "")
                )
            )

    def build_membership_history(self, seed):
        """A year of members, payments and gifts for the membership dashboard, once: a second
        run keeps the history there (`manage.py demo_membership_history --reset` rebuilds it)."""
        if has_membership_history():
            return
        try:
            summary = build_membership_history(seed=seed)
        except HistoryError as error:
            if self.verbosity >= 1:
                self.stdout.write(f"Membership history: not written. {error}")
            return
        if self.verbosity >= 1:
            self.stdout.write(f"Membership history over 12 months: {summary}.")

    def reset(self):
        """Delete every article, the pictures, authors and taxonomy this command makes, and
        the demo membership history."""
        remove_membership_history()
        pictures = [
            image
            for image in Image.objects.filter(file__contains="demo-")
            if PICTURE_NAME.search(image.file.name)
        ]
        with transaction.atomic():
            # Articles first: bylines protect authors and articles protect sections.
            ArticleAuthor.objects.all().delete()
            Article.regions.through.objects.all().delete()
            Article.tags.through.objects.all().delete()
            Article.objects.all().delete()
            Image.objects.filter(pk__in=[image.pk for image in pictures]).delete()
            Author.objects.filter(slug__in=[slug for slug, *_rest in AUTHORS]).delete()
            Tag.objects.filter(slug__in=[slug for slug, _name in TAGS]).delete()
            Region.objects.filter(slug__in=list(REGIONS)).delete()
            Section.objects.filter(slug__in=[slug for slug, *_rest in SECTIONS]).delete()
        # Files only once the rows are gone for good; this also removes the renditions.
        for image in pictures:
            image.file.delete(save=False)

    def build_taxonomy(self):
        """Sections, regions and tags with their English and Russian names."""
        sections = {
            slug: Section.objects.update_or_create(
                slug=slug,
                defaults={
                    "name_en": name,
                    "description_en": description,
                    "name_ru": RUSSIAN_SECTIONS[slug][0],
                    "description_ru": RUSSIAN_SECTIONS[slug][1],
                    "position": position,
                },
            )[0]
            for position, (slug, name, description) in enumerate(SECTIONS, start=1)
        }
        regions = {
            slug: Region.objects.update_or_create(
                slug=slug, defaults={"name_en": region["name"], "name_ru": RUSSIAN_PLACES[slug][0]}
            )[0]
            for slug, region in REGIONS.items()
        }
        tags = {
            slug: Tag.objects.update_or_create(
                slug=slug, defaults={"name_en": name, "name_ru": RUSSIAN_TAGS[slug]}
            )[0]
            for slug, name in TAGS
        }
        authors = {
            slug: Author.objects.update_or_create(slug=slug, defaults={"name": name, "bio": bio})[0]
            for slug, name, _desks, bio in AUTHORS
        }
        return sections, regions, tags, authors

    def build_pictures(self):
        """The pool of pictures, as [(Image, kind)] in pool order; draws only the missing ones."""
        found = {}
        for image in Image.objects.filter(file__contains="demo-").order_by("pk"):
            match = PICTURE_NAME.search(image.file.name)
            if match:
                found.setdefault(int(match[1]), image)
        missing = [k for k in range(PICTURE_COUNT) if k not in found]
        for k in self.progress(missing, "Pictures", "picture", total=len(missing)):
            data, alt, _kind = draw_picture(k)
            credit, licence = PHOTOGRAPHERS[k % len(PHOTOGRAPHERS)]
            image = Image(alt=alt, credit=credit, licence=licence)
            image.file.save(f"demo-{k:02d}.jpg", ContentFile(data), save=False)
            image.save()  # Queues the building of its renditions, as for any upload.
            found[k] = image
        return [(found[k], PICTURE_KINDS[k % len(PICTURE_KINDS)]) for k in range(PICTURE_COUNT)]

    def build_articles(self, rng, count, sections, regions, tags, authors, pictures):
        """Add `count` articles with bylines, regions and tags; return how many of each status."""
        now = timezone.now()
        writer = StoryWriter(rng)
        used_slugs = set(Article.objects.filter(language="en").values_list("slug", flat=True))
        next_suffix = {}
        desks = {
            section: [
                authors[slug] for slug, _name, writes_for, _bio in AUTHORS if section in writes_for
            ]
            for section in sections
        }
        everyone = list(authors.values())
        region_slugs = list(REGIONS)

        def unique_slug(headline):
            base = slugify(headline)[:290].strip("-") or "story"
            slug = base
            while slug in used_slugs:
                next_suffix[base] = next_suffix.get(base, 1) + 1
                slug = f"{base}-{next_suffix[base]}"
            used_slugs.add(slug)
            return slug

        statuses = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()), k=count)
        # Publication ages, popped oldest first so that ids grow with time as in a real newsroom.
        # Squaring crowds them towards the present: the front page has this week's news, the
        # archive reaches back two years.
        ages = sorted(
            rng.random() ** 2 * PUBLISHED_SPAN + timedelta(minutes=10)
            for status in statuses
            if status == PUBLISHED
        )
        counts = dict.fromkeys([*STATUS_WEIGHTS, *VISIBILITY_WEIGHTS, "russian", "corrected"], 0)
        self.russian = RussianWriter(rng)
        used_ru_slugs = set(Article.objects.filter(language="ru").values_list("slug", flat=True))

        bar = self.progress(None, "Articles", "article", total=count)
        for start in range(0, count, BATCH_SIZE):
            batch, links = [], []
            for status in statuses[start : start + BATCH_SIZE]:
                counts[status] += 1
                if status == PUBLISHED:
                    published_at = (now - ages.pop()).replace(second=0, microsecond=0)
                elif status == SCHEDULED:
                    published_at = now + timedelta(days=rng.uniform(1, 14))
                    published_at = published_at.replace(second=0, microsecond=0)
                else:
                    published_at = None
                section_slug = rng.choice(list(sections))
                region_slug = rng.choice(region_slugs)
                region = REGIONS[region_slug]
                context = writer.context(section_slug, region)
                headline = writer.headline(section_slug, context)
                picture, caption = None, ""
                if rng.random() < 0.9:
                    picture, kind = rng.choice(pictures)
                    caption = writer.caption(kind, context)
                visibility, public_from = Article.Visibility.PUBLIC, None
                if status in (PUBLISHED, SCHEDULED):
                    visibility = rng.choices(
                        list(VISIBILITY_WEIGHTS), list(VISIBILITY_WEIGHTS.values())
                    )[0]
                    if visibility == Article.Visibility.EARLY_ACCESS:
                        # Members read it for three days before everyone does.
                        public_from = published_at + timedelta(days=3)
                batch.append(
                    Article(
                        headline=headline,
                        slug=unique_slug(headline),
                        standfirst=writer.standfirst(section_slug, context),
                        # bulk_create skips Article.save(), which is where bodies are cleaned
                        # and rendered for readers (below).
                        body=clean_body(writer.body(section_slug, context, region)),
                        language="en",
                        section=sections[section_slug],
                        hero_image=picture,
                        hero_caption=caption,
                        status=STATUS_VALUES[status],
                        published_at=published_at,
                        visibility=visibility,
                        public_from=public_from,
                    )
                )
                links.append(self.pick_links(rng, section_slug, region_slug, desks, everyone))
            for article in batch:
                article.store_rendering()
            Article.objects.bulk_create(batch, batch_size=BATCH_SIZE)
            self.link(batch, links, regions, tags)
            editions = self.add_editions(rng, batch, links, used_ru_slugs)
            self.link(
                editions, [links[batch.index(e.translation_of)] for e in editions], regions, tags
            )
            counts["russian"] += len(editions)
            counts["corrected"] += self.add_corrections(rng, batch, now)
            for article in batch:
                counts[article.visibility] += 1
            bar.update(len(batch))
        bar.close()
        return counts

    def add_editions(self, rng, batch, links, used_slugs):
        """Russian editions of some published stories, each its own row linked to the original."""
        editions = []
        for article, (_byline, region_slugs, _tags) in zip(batch, links, strict=True):
            if article.status != Article.Status.PUBLISHED or rng.random() >= RUSSIAN_SHARE:
                continue
            headline, standfirst, body, caption = self.russian.edition(region_slugs[0])
            base = slugify(headline, allow_unicode=True)[:280].strip("-") or "statya"
            slug, n = base, 1
            while slug in used_slugs:
                n += 1
                slug = f"{base}-{n}"
            used_slugs.add(slug)
            editions.append(
                Article(
                    headline=headline,
                    slug=slug,
                    standfirst=standfirst,
                    body=clean_body(body),
                    language="ru",
                    section=article.section,
                    hero_image=article.hero_image,
                    hero_caption=caption if article.hero_image else "",
                    status=article.status,
                    published_at=article.published_at + timedelta(hours=rng.randint(2, 30)),
                    visibility=article.visibility,
                    public_from=article.public_from,
                    translation_of=article,
                )
            )
        for edition in editions:
            edition.store_rendering()
        Article.objects.bulk_create(editions, batch_size=BATCH_SIZE)
        return editions

    def add_corrections(self, rng, batch, now):
        """Correction notes on a few published stories, dated after publication."""
        corrections = [
            Correction(
                article=article,
                text=rng.choice(CORRECTIONS),
                created_at=min(now, article.published_at + timedelta(hours=rng.randint(3, 72))),
            )
            for article in batch
            if article.status == Article.Status.PUBLISHED
            and article.published_at <= now
            and rng.random() < CORRECTED_SHARE
        ]
        Correction.objects.bulk_create(corrections)
        return len(corrections)

    def pick_links(self, rng, section_slug, region_slug, desks, everyone):
        """Byline authors, region slugs and tag slugs for one article."""
        desk = desks[section_slug]
        lead = rng.choice(desk) if desk and rng.random() < 0.75 else rng.choice(everyone)
        extra = 0 if section_slug == "opinion" else rng.choices([0, 1, 2], weights=[70, 22, 8])[0]
        byline = [lead, *rng.sample([a for a in everyone if a != lead], extra)]
        region_slugs = [region_slug]
        if rng.random() < 0.3:
            region_slugs.append(rng.choice([slug for slug in REGIONS if slug != region_slug]))
        tag_count = rng.choices([0, 1, 2, 3, 4], weights=[10, 25, 35, 20, 10])[0]
        tag_slugs = rng.sample(SECTION_TAGS[section_slug], tag_count)
        return byline, region_slugs, tag_slugs

    def link(self, batch, links, regions, tags):
        """Write the bylines and the region and tag through rows of a batch of saved articles."""
        bylines, article_regions, article_tags = [], [], []
        RegionLink, TagLink = Article.regions.through, Article.tags.through
        for article, (byline, region_slugs, tag_slugs) in zip(batch, links, strict=True):
            bylines += [
                ArticleAuthor(article_id=article.pk, author=author, position=position)
                for position, author in enumerate(byline)
            ]
            article_regions += [
                RegionLink(article_id=article.pk, region_id=regions[slug].pk)
                for slug in region_slugs
            ]
            article_tags += [
                TagLink(article_id=article.pk, tag_id=tags[slug].pk) for slug in tag_slugs
            ]
        ArticleAuthor.objects.bulk_create(bylines, batch_size=1000)
        RegionLink.objects.bulk_create(article_regions, batch_size=1000)
        TagLink.objects.bulk_create(article_tags, batch_size=1000)
        # What a save and the links' signals would file (newsroom.models.listings).
        refile([article.pk for article in batch])

    def index_for_search(self):
        """The search columns a save would fill and bulk_create skips (PostgreSQL only)."""
        todo = Article.objects.filter(search_document__isnull=True)
        total = todo.count() if is_full_text() else 0
        with self.progress(None, "Search index", " stories", total) as bar:
            todo.index_for_search(progress=bar.update)

    def progress(self, items, description, unit, total):
        """A progress bar on stderr, shown even when stderr is not a terminal.

        None at -v0, nor when there is nothing to do.
        """
        return tqdm(
            items,
            total=total,
            desc=description,
            unit=unit,
            file=sys.stderr,
            disable=self.verbosity == 0 or not total,
        )
