"""Factories for the content tests build on."""

import io
from datetime import timedelta

import factory
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image as PillowImage

from members.models import Membership, Plan, Price, User
from newsroom.models import (
    Article,
    ArticleAuthor,
    Author,
    AuthorLink,
    CallToAction,
    CallToActionCopy,
    Campaign,
    Image,
    Page,
    Region,
    Section,
    Tag,
)


def jpeg_bytes(width=800, height=533, colour=(40, 90, 140)):
    buffer = io.BytesIO()
    PillowImage.new("RGB", (width, height), colour).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Section {n}")
    slug = factory.Sequence(lambda n: f"section-{n}")


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Region {n}")
    slug = factory.Sequence(lambda n: f"region-{n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")


class PageFactory(factory.django.DjangoModelFactory):
    """A static page with English copy only."""

    class Meta:
        model = Page

    slug = factory.Sequence(lambda n: f"page-{n}")
    title_en = factory.Sequence(lambda n: f"Page {n}")
    body_en = "<p>What readers should know.</p>"


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author

    name = factory.Sequence(lambda n: f"Nino Author{n}")
    slug = factory.Sequence(lambda n: f"nino-author-{n}")
    bio = "Covers the region."


class AuthorLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuthorLink

    author = factory.SubFactory(AuthorFactory)
    label = "Mastodon"
    url = "https://mastodon.example/@reporter"


class ImageFactory(factory.django.DjangoModelFactory):
    """A library picture; `ImageFactory(rendered=True)` also builds its renditions.

    Without it the picture is as a page sees it before the task has run: original only.
    """

    class Meta:
        model = Image
        skip_postgeneration_save = True

    alt = "A river valley under a low sky"
    credit = "Tamar Photographer"
    file = factory.LazyFunction(lambda: ContentFile(jpeg_bytes(), name="test.jpg"))

    @factory.post_generation
    def rendered(image, create, extracted, **kwargs):
        if create and extracted:
            image.build_renditions()


class ArticleFactory(factory.django.DjangoModelFactory):
    """A published article with a hero image and one byline."""

    class Meta:
        model = Article
        skip_postgeneration_save = True

    headline = factory.Sequence(lambda n: f"Story number {n} from the valley")
    slug = factory.Sequence(lambda n: f"story-number-{n}")
    standfirst = "A summary of what happened and why it matters."
    body = "<h2>What happened</h2><p>First paragraph.</p><p>Second paragraph.</p>"
    section = factory.SubFactory(SectionFactory, slug="politics", name="Politics")
    status = Article.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    hero_image = factory.SubFactory(ImageFactory)
    hero_caption = "Protesters gather outside parliament"

    @factory.post_generation
    def regions(article, create, extracted, **kwargs):
        if create and extracted:
            article.regions.set(extracted)

    @factory.post_generation
    def tags(article, create, extracted, **kwargs):
        if create and extracted:
            article.tags.set(extracted)

    @factory.post_generation
    def authors(article, create, extracted, **kwargs):
        if not create:
            return
        authors = extracted if extracted is not None else [AuthorFactory()]
        for position, author in enumerate(authors):
            ArticleAuthor.objects.create(article=article, author=author, position=position)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ["slug"]

    name = "Supporter"
    slug = "supporter"
    description = "Keep independent reporting going."
    benefits = "Members-only stories\nEarly access to investigations"


class PriceFactory(factory.django.DjangoModelFactory):
    """A monthly EUR plan price known to Stripe as `price_test_month_eur`."""

    class Meta:
        model = Price
        django_get_or_create = ["stripe_price_id"]

    plan = factory.SubFactory(PlanFactory)
    amount = 500
    currency = "eur"
    interval = Price.Interval.MONTH
    stripe_price_id = factory.LazyAttribute(lambda o: f"price_test_{o.interval}_{o.currency}")


class MembershipFactory(factory.django.DjangoModelFactory):
    """An active Stripe subscription membership, paid up for the next 30 days."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    price = factory.SubFactory(PriceFactory)
    plan = factory.SelfAttribute("price.plan")
    kind = Membership.Kind.SUBSCRIPTION
    status = Membership.Status.ACTIVE
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_factory_{n}")
    stripe_customer_id = factory.Sequence(lambda n: f"cus_factory_{n}")
    current_period_end = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    started_at = factory.LazyFunction(timezone.now)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=10))


class CallToActionFactory(factory.django.DjangoModelFactory):
    """A running fundraiser block leading to the donation page, with an English copy whose
    heading is its name (pass `languages=[...]` for other copies)."""

    class Meta:
        model = CallToAction
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Block {n}")
    placement = CallToAction.Placement.ARTICLE_END
    target = CallToAction.Target.DONATE
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))

    @factory.post_generation
    def languages(block, create, extracted, **kwargs):
        if not create:
            return
        for language in extracted or ["en"]:
            CallToActionCopy.objects.create(
                block=block,
                language=language,
                heading=block.name if language == "en" else f"{block.name} ({language})",
                body=f"<p>Text of {block.name}.</p>",
                button_label=f"Button of {block.name}",
            )
