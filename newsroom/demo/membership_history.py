"""Invented membership history for the demo newsroom: a year of readers joining, paying, giving,
cancelling and failing to pay, so that the membership dashboard shows something real.

`build_membership_history()` writes, for the months before `now`: demo readers (addresses
`…+demo@example.org`, names from many cultures), their Stripe customers, subscriptions to the
demo plans' prices (monthly and yearly, euros and dollars) with a Payment row for every invoice
paid, a few upgrades, cancellations with the reasons and feedback Stripe's Customer Portal
collects, renewals that failed (the membership past due now, unpaid, or cancelled by Stripe
after its retries), trials running now, refunds and a dispute, complimentary memberships,
one-off and monthly gifts with their payments, and the daily views, clicks and conversions of
the demo's fundraiser blocks, in proportion to the sign-ups.

Everything follows from the seed and `now` (`random.Random(seed)`), and is written with
`bulk_create`: no model's save() runs, no signal is sent, no email is queued and Stripe is never
asked. The Stripe ids are made up (`sub_demo_…`, `in_demo_…`, `pi_demo_…`) and never reach
Stripe. `remove_membership_history()` deletes it all again.
"""

import random
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from members.models import (
    CancellationFeedback,
    Customer,
    Donation,
    Membership,
    Payment,
    Price,
    User,
    months_before,
)
from newsroom.demo.fundraising import BLOCKS
from newsroom.demo.membership import PLANS
from newsroom.models import CallToAction, CallToActionCount

# Every demo reader's address ends so; it is how the history is found again to remove it.
EMAIL_SUFFIX = "+demo@example.org"
ID_PREFIX = "demo"  # in every made-up Stripe id: sub_demo_…, in_demo_…, cus_demo_…

# Given names and family names by culture, as (written, in an address). Mixed within a culture
# only, so that every reader's name is one a person could have.
NAMES = {
    "georgian": (
        [
            ("Nino", "nino"),
            ("Giorgi", "giorgi"),
            ("Tamar", "tamar"),
            ("Levan", "levan"),
            ("Mariam", "mariam"),
            ("Davit", "davit"),
            ("Ana", "ana"),
            ("Irakli", "irakli"),
        ],
        [
            ("Beridze", "beridze"),
            ("Kapanadze", "kapanadze"),
            ("Gelashvili", "gelashvili"),
            ("Lomidze", "lomidze"),
            ("Tsereteli", "tsereteli"),
            ("Japaridze", "japaridze"),
        ],
    ),
    "georgian script": (
        [("ნინო", "nino"), ("გიორგი", "giorgi"), ("ეკა", "eka"), ("ლაშა", "lasha")],
        [("ბერიძე", "beridze"), ("მამულაშვილი", "mamulashvili"), ("ხარაძე", "kharadze")],
    ),
    "armenian": (
        [
            ("Anahit", "anahit"),
            ("Aram", "aram"),
            ("Lilit", "lilit"),
            ("Hayk", "hayk"),
            ("Սոնա", "sona"),
            ("Arpi", "arpi"),
        ],
        [
            ("Petrosyan", "petrosyan"),
            ("Hakobyan", "hakobyan"),
            ("Sargsyan", "sargsyan"),
            ("Գրիգորյան", "grigoryan"),
        ],
    ),
    "azerbaijani": (
        [
            ("Leyla", "leyla"),
            ("Rəşad", "rashad"),
            ("Aygün", "aygun"),
            ("Elçin", "elchin"),
            ("Nərmin", "narmin"),
        ],
        [
            ("Məmmədova", "mammadova"),
            ("Əliyev", "aliyev"),
            ("Hüseynova", "huseynova"),
            ("Quliyev", "guliyev"),
        ],
    ),
    "russian": (
        [
            ("Анна", "anna"),
            ("Дмитрий", "dmitry"),
            ("Ольга", "olga"),
            ("Сергей", "sergey"),
            ("Ксения", "ksenia"),
            ("Pavel", "pavel"),
        ],
        [
            ("Иванова", "ivanova"),
            ("Смирнов", "smirnov"),
            ("Кузнецова", "kuznetsova"),
            ("Orlov", "orlov"),
            ("Соколова", "sokolova"),
        ],
    ),
    "ukrainian": (
        [("Оксана", "oksana"), ("Taras", "taras"), ("Iryna", "iryna"), ("Богдан", "bohdan")],
        [("Шевченко", "shevchenko"), ("Kovalenko", "kovalenko"), ("Bondarenko", "bondarenko")],
    ),
    "german": (
        [
            ("Jürgen", "juergen"),
            ("Anke", "anke"),
            ("Lukas", "lukas"),
            ("Sophie", "sophie"),
            ("Jörg", "joerg"),
        ],
        [
            ("Müller", "mueller"),
            ("Schäfer", "schaefer"),
            ("Weber", "weber"),
            ("Hoffmann", "hoffmann"),
        ],
    ),
    "french": (
        [("Chloé", "chloe"), ("Étienne", "etienne"), ("Camille", "camille"), ("Hélène", "helene")],
        [("Lefèvre", "lefevre"), ("Dubois", "dubois"), ("Moreau", "moreau"), ("Girard", "girard")],
    ),
    "spanish": (
        [("José", "jose"), ("María", "maria"), ("Lucía", "lucia"), ("Andrés", "andres")],
        [("Álvarez", "alvarez"), ("Núñez", "nunez"), ("García", "garcia"), ("Peña", "pena")],
    ),
    "turkish": (
        [("Ayşe", "ayse"), ("Mehmet", "mehmet"), ("Çağla", "cagla"), ("Emre", "emre")],
        [("Yılmaz", "yilmaz"), ("Öztürk", "ozturk"), ("Şahin", "sahin"), ("Demir", "demir")],
    ),
    "english": (
        [
            ("Emma", "emma"),
            ("James", "james"),
            ("Olivia", "olivia"),
            ("Daniel", "daniel"),
            ("Grace", "grace"),
            ("Samuel", "samuel"),
        ],
        [
            ("Smith", "smith"),
            ("O'Brien", "obrien"),
            ("Taylor", "taylor"),
            ("Walker", "walker"),
            ("Hughes", "hughes"),
        ],
    ),
    "polish": (
        [("Małgorzata", "malgorzata"), ("Paweł", "pawel"), ("Zofia", "zofia")],
        [("Wiśniewska", "wisniewska"), ("Łukasik", "lukasik"), ("Nowak", "nowak")],
    ),
    "japanese": (
        [("Yuki", "yuki"), ("Haruto", "haruto"), ("さくら", "sakura")],
        [("Tanaka", "tanaka"), ("Suzuki", "suzuki"), ("佐藤", "sato")],
    ),
    "arabic": (
        [("Layla", "layla"), ("Omar", "omar"), ("مريم", "maryam"), ("Karim", "karim")],
        [("Haddad", "haddad"), ("Nasser", "nasser"), ("الخطيب", "alkhatib")],
    ),
    "persian": (
        [("Shirin", "shirin"), ("Dariush", "dariush"), ("Parisa", "parisa")],
        [("Karimi", "karimi"), ("Ahmadi", "ahmadi"), ("Tehrani", "tehrani")],
    ),
}
# Readers by culture: the demo newsroom reports on the Caucasus for readers there and abroad.
CULTURE_WEIGHTS = {
    "georgian": 18, "georgian script": 4, "armenian": 10, "azerbaijani": 8, "russian": 12,
    "ukrainian": 5, "german": 7, "french": 5, "spanish": 4, "turkish": 5, "english": 10,
    "polish": 3, "japanese": 2, "arabic": 3, "persian": 3,
}  # fmt: skip
RUSSIAN_READING = {"russian", "ukrainian", "armenian", "azerbaijani", "georgian script"}

# What members type in the portal when they cancel (most leave it empty).
COMMENTS = [
    "Money is tight this year. I'll be back.",
    "I read you through a friend's account now.",
    "Too many subscriptions, sorry.",
    "Great reporting, but I rarely find time to read it.",
    "Moving abroad and reading less about the region.",
    "Слишком дорого для меня сейчас, но вы делаете важную работу.",
    "Переезжаю, вернусь позже.",
    "Ich lese lieber gedruckte Zeitungen.",
    "The newsletter was too frequent for me.",
    "Lost my job — will rejoin when I can.",
]
FEEDBACK_WEIGHTS = {
    "": 30,
    CancellationFeedback.TOO_EXPENSIVE: 25,
    CancellationFeedback.UNUSED: 20,
    CancellationFeedback.SWITCHED_SERVICE: 6,
    CancellationFeedback.LOW_QUALITY: 5,
    CancellationFeedback.MISSING_FEATURES: 4,
    CancellationFeedback.CUSTOMER_SERVICE: 2,
    CancellationFeedback.TOO_COMPLEX: 3,
    CancellationFeedback.OTHER: 5,
}
PLAN_WEIGHTS = {"supporter": 60, "sustainer": 30, "patron": 10}
CURRENCY_WEIGHTS = {"eur": 70, "usd": 30}
GIFTS = {"eur": [1000, 1500, 2000, 2500, 5000, 10000], "usd": [1000, 2000, 2500, 5000, 10000]}
MONTHLY_GIFTS = [500, 1000, 1500, 2000]

TRIAL_DAYS = 14
RETRY_DAYS = 21  # how long Stripe retries a failed renewal before it gives up
MONTHLY_CANCELLATION = 0.035  # chance a monthly member cancels in a given month
YEARLY_CANCELLATION = 0.25  # chance a yearly member cancels during their year
FAILED_RENEWAL = 0.03  # chance a renewal's payment fails
RECOVERED = 0.45  # chance the member then fixes their card in time
GIVEN_UP_UNPAID = 0.3  # when Stripe gives up: the subscription is left unpaid, not cancelled
UPGRADE = 0.03  # chance a monthly member moves to a dearer plan at a renewal
CANCEL_NOW = 0.2  # share of cancellations that end the membership at once
CONVERTED = 0.35  # share of sign-ups and gifts that started from a fundraiser block's button


class HistoryError(Exception):
    """The history cannot be built: it exists already, or the demo plans are missing."""


@dataclass
class Summary:
    """How many rows of each kind the history wrote."""

    readers: int = 0
    memberships: int = 0
    complimentary: int = 0
    payments: int = 0
    donations: int = 0
    daily_counts: int = 0
    statuses: dict = field(default_factory=dict)

    def __str__(self):
        states = ", ".join(f"{n} {status}" for status, n in sorted(self.statuses.items()))
        return (
            f"{self.readers} readers, {self.memberships} subscriptions ({states}), "
            f"{self.complimentary} complimentary, {self.payments} payments, {self.donations} "
            f"donations, {self.daily_counts} daily counts of the fundraiser blocks"
        )


def demo_readers():
    return User.objects.filter(email__endswith=EMAIL_SUFFIX)


def has_membership_history():
    return demo_readers().exists()


def remove_membership_history():
    """Delete the demo readers and everything the history wrote for them; returns how many
    readers were removed."""
    with transaction.atomic():
        made_up = Q()
        for prefix in ("in", "pi", "cs", "sub"):
            made_up |= Q(stripe_id__startswith=f"{prefix}_{ID_PREFIX}_")
        Payment.objects.filter(made_up).delete()
        Donation.objects.filter(
            Q(stripe_checkout_session_id__startswith=f"cs_{ID_PREFIX}_")
            | Q(email__endswith=EMAIL_SUFFIX)
        ).delete()
        Membership.objects.filter(user__in=demo_readers()).delete()
        CallToActionCount.objects.filter(block__name__in=BLOCKS).delete()
        readers = demo_readers().count()
        demo_readers().delete()
    return readers


def add_months(moment, months):
    return months_before(moment, -months)


class _History:
    def __init__(self, rng, now, months):
        self.rng = rng
        self.now = now.replace(microsecond=0)
        self.start = months_before(self.now, months)
        self.prices = {
            (price.plan.slug, price.interval, price.currency): price
            for price in Price.objects.select_related("plan").filter(plan__slug__in=PLANS)
        }
        wanted = {
            (slug, interval, currency)
            for slug, texts in PLANS.items()
            for currency in texts["prices"]
            for interval in ("month", "year")
        }
        if not wanted <= set(self.prices):
            raise HistoryError(
                "The demo plans and their prices are missing (a site with its own plans keeps "
                "them); run `python manage.py demo` on an empty database first."
            )
        self.blocks = {block.name: block for block in CallToAction.objects.filter(name__in=BLOCKS)}
        self.languages = [code for code, _name in settings.LANGUAGES]
        self.users, self.customers, self.memberships = [], [], []
        self.donations, self.payments = [], []
        # (block name, language, day) -> conversions
        self.conversions = {}
        self.serial = 0
        self.emails = set()

    # Helpers ---------------------------------------------------------------------------------

    def next_id(self, kind):
        self.serial += 1
        return f"{kind}_{ID_PREFIX}_{self.serial:06d}"

    def between(self, earliest, latest):
        """A moment in [earliest, latest], to the second."""
        if latest <= earliest:
            return earliest
        moment = earliest + (latest - earliest) * self.rng.random()
        return moment.replace(microsecond=0)

    def pick(self, weights):
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def reader(self, first_seen):
        """A new demo reader who signed up a little before `first_seen`."""
        culture = self.pick(CULTURE_WEIGHTS)
        firsts, lasts = NAMES[culture]
        first, first_ascii = self.rng.choice(firsts)
        last, last_ascii = self.rng.choice(lasts)
        base = f"{first_ascii}.{last_ascii}"
        local, n = base, 1
        while local in self.emails:
            n += 1
            local = f"{base}{n}"
        self.emails.add(local)
        russian = culture in RUSSIAN_READING and "ru" in self.languages
        language = "ru" if russian and self.rng.random() < 0.7 else self.languages[0]
        joined = max(self.start, first_seen - timedelta(minutes=self.rng.randint(2, 3 * 24 * 60)))
        user = User(
            email=f"{local}{EMAIL_SUFFIX}",
            first_name=first,
            last_name=last,
            language=language,
            password=make_password(None),
            date_joined=joined,
        )
        self.users.append(user)
        return user

    def customer(self, user):
        customer_id = self.next_id("cus")
        self.customers.append(Customer(user=user, stripe_customer_id=customer_id))
        return customer_id

    def converted(self, targets, language, moment):
        """Count a sign-up or gift at `moment` as a conversion of one of the blocks leading to
        `targets`, sometimes (most came without a block)."""
        blocks = [
            name
            for name, spec in BLOCKS.items()
            if spec["target"] in targets and name in self.blocks
        ]
        if not blocks or self.rng.random() >= CONVERTED:
            return
        key = (self.rng.choice(blocks), language, timezone.localdate(moment))
        self.conversions[key] = self.conversions.get(key, 0) + 1

    def pay(self, user, moment, amount, currency, *, membership=None, donation=None, one_off=False):
        stripe_id = self.next_id("pi" if one_off else "in")
        payment = Payment(
            stripe_id=stripe_id,
            stripe_payment_intent_id=stripe_id if one_off else None,
            user=user,
            membership=membership,
            donation=donation,
            amount=amount,
            currency=currency,
            kind=Payment.Kind.MEMBERSHIP if membership else Payment.Kind.DONATION,
            paid_at=moment,
        )
        self.payments.append(payment)
        return payment

    # Subscriptions -----------------------------------------------------------------------------

    def subscription(self, fate=None):
        """One member's subscription from its start to now. `fate` forces a rare outcome so that
        every seed has some of each: "trial", "past_due", "unpaid", "upgrade" or "cancelling"."""
        rng, now = self.rng, self.now
        interval = "year" if fate is None and rng.random() < 0.25 else "month"
        currency = self.pick(CURRENCY_WEIGHTS)
        slug = "supporter" if fate == "upgrade" else self.pick(PLAN_WEIGHTS)
        price = self.prices[(slug, interval, currency)]
        # When it started: sign-ups grow over the year, as the newsroom becomes known.
        if fate == "trial":
            started = self.between(now - timedelta(days=TRIAL_DAYS - 1), now - timedelta(hours=1))
        elif fate in ("past_due", "unpaid"):
            # The last renewal fell 3–18 (past due) or 22–28 (unpaid) days ago.
            days = rng.randint(3, 18) if fate == "past_due" else rng.randint(22, 28)
            started = add_months(now - timedelta(days=days, hours=rng.randint(1, 20)), -3)
        elif fate in ("upgrade", "cancelling"):
            started = self.between(self.start, add_months(now, -4))
        else:
            started = self.between(self.start, now - timedelta(hours=1))
            if rng.random() < 0.4:  # later in the year is likelier
                started = self.between(started, now - timedelta(hours=1))
        started = max(started, self.start)
        user = self.reader(started)
        customer_id = self.customer(user)
        membership = Membership(
            user=user,
            plan=price.plan,
            price=price,
            kind=Membership.Kind.SUBSCRIPTION,
            stripe_subscription_id=self.next_id("sub"),
            stripe_customer_id=customer_id,
            started_at=started,
            status=Membership.Status.ACTIVE,
        )
        self.memberships.append(membership)
        self.converted({CallToAction.Target.JOIN}, user.language, started)
        if fate == "trial" or (fate is None and started > now - timedelta(days=7)):
            if fate == "trial" or rng.random() < 0.3:
                membership.status = Membership.Status.TRIALING
                membership.current_period_end = started + timedelta(days=TRIAL_DAYS)
                membership.stripe_updated = started
                return membership

        step = 12 if interval == "year" else 1
        period_start, renewal, upgraded = started, False, False
        while True:
            period_end = add_months(period_start, step)
            last_period = period_end > now
            if renewal:
                if not upgraded and (
                    fate == "upgrade" or (fate is None and step == 1 and rng.random() < UPGRADE)
                ):
                    price, upgraded = self.dearer(price), True
                    membership.price, membership.plan = price, price.plan
                forced = fate in ("past_due", "unpaid") and last_period
                if forced or (fate is None and rng.random() < FAILED_RENEWAL):
                    gave_up = period_start + timedelta(days=RETRY_DAYS)
                    fixed = period_start + timedelta(days=rng.randint(1, RETRY_DAYS - 2))
                    if not forced and fixed <= now and rng.random() < RECOVERED:
                        self.pay(user, fixed, price.amount, price.currency, membership=membership)
                    else:
                        return self.failed(membership, period_end, gave_up, fate)
                else:
                    self.pay(
                        user, period_start, price.amount, price.currency, membership=membership
                    )
            else:
                self.pay(user, period_start, price.amount, price.currency, membership=membership)
            chance = YEARLY_CANCELLATION if step == 12 else MONTHLY_CANCELLATION
            if (fate == "cancelling" and last_period) or (fate is None and rng.random() < chance):
                canceled = self.between(
                    period_start + timedelta(hours=1), min(now, period_end - timedelta(hours=1))
                )
                if canceled < now:
                    return self.cancelled(membership, canceled, period_end, fate)
            if last_period:
                membership.current_period_end = period_end
                membership.stripe_updated = period_start
                return membership
            period_start, renewal = period_end, True

    def dearer(self, price):
        order = list(PLANS)
        slug = order[min(order.index(price.plan.slug) + 1, len(order) - 1)]
        return self.prices[(slug, price.interval, price.currency)]

    def failed(self, membership, period_end, gave_up, fate):
        """A renewal could not be collected: past due while Stripe retries, then unpaid or
        cancelled for failed payments."""
        membership.current_period_end = period_end
        membership.stripe_updated = min(gave_up, self.now)
        if gave_up > self.now:
            membership.status = Membership.Status.PAST_DUE
        elif fate == "unpaid" or (fate is None and self.rng.random() < GIVEN_UP_UNPAID):
            membership.status = Membership.Status.UNPAID
        else:
            membership.status = Membership.Status.CANCELED
            membership.canceled_at = membership.ended_at = gave_up
            membership.cancellation_reason = "payment_failed"
        return membership

    def cancelled(self, membership, canceled, period_end, fate):
        """The member cancelled in the portal at `canceled`: at the end of the period (most), or
        at once."""
        membership.canceled_at = canceled
        membership.cancellation_reason = "cancellation_requested"
        membership.cancellation_feedback = self.pick(FEEDBACK_WEIGHTS)
        if self.rng.random() < 0.35:
            membership.cancellation_comment = self.rng.choice(COMMENTS)
        membership.current_period_end = period_end
        membership.stripe_updated = canceled
        if fate is None and self.rng.random() < CANCEL_NOW:
            membership.status = Membership.Status.CANCELED
            membership.ended_at = canceled
        elif period_end <= self.now:
            membership.status = Membership.Status.CANCELED
            membership.ended_at = period_end
            membership.stripe_updated = period_end
        else:
            membership.cancel_at_period_end = True
        return membership

    def never_started(self):
        """A Checkout abandoned at the bank's confirmation: incomplete, then expired."""
        started = self.between(self.start, self.now - timedelta(days=2))
        user = self.reader(started)
        price = self.prices[("supporter", "month", self.pick(CURRENCY_WEIGHTS))]
        self.memberships.append(
            Membership(
                user=user,
                plan=price.plan,
                price=price,
                stripe_subscription_id=self.next_id("sub"),
                stripe_customer_id=self.customer(user),
                status=Membership.Status.INCOMPLETE_EXPIRED,
                started_at=started,
                current_period_end=started + timedelta(days=1),
                stripe_updated=started + timedelta(days=1),
            )
        )

    def complimentary(self):
        """A membership given by the desk (a press friend, a partner), for 3 to 12 months."""
        started = self.between(self.start, self.now - timedelta(days=1))
        user = self.reader(started)
        self.memberships.append(
            Membership(
                user=user,
                plan=self.prices[("sustainer", "month", "eur")].plan,
                kind=Membership.Kind.COMPLIMENTARY,
                status=Membership.Status.COMPLIMENTARY,
                started_at=started,
                complimentary_until=add_months(started, self.rng.choice([3, 6, 12])),
            )
        )

    # Gifts -------------------------------------------------------------------------------------

    def one_off_gift(self, user=None):
        given = self.between(self.start, self.now - timedelta(minutes=5))
        if user is None:
            user = self.reader(given) if self.rng.random() < 0.7 else None
        elif user.date_joined > given:
            given = self.between(user.date_joined, self.now - timedelta(minutes=5))
        currency = self.pick(CURRENCY_WEIGHTS)
        amount = self.rng.choice(GIFTS[currency])
        email = user.email if user else f"giver{self.serial + 1}{EMAIL_SUFFIX}"
        payment_intent = self.next_id("pi")
        donation = Donation(
            user=user,
            email=email,
            amount=amount,
            currency=currency,
            recurring=False,
            stripe_checkout_session_id=self.next_id("cs"),
            stripe_payment_intent_id=payment_intent,
            status=Donation.Status.PAID,
            stripe_updated=given,
        )
        self.donations.append(donation)
        self.payments.append(
            Payment(
                stripe_id=payment_intent,
                stripe_payment_intent_id=payment_intent,
                user=user,
                donation=donation,
                amount=amount,
                currency=currency,
                kind=Payment.Kind.DONATION,
                paid_at=given,
            )
        )
        self.converted(
            {CallToAction.Target.DONATE},
            user.language if user else self.languages[0],
            given,
        )

    def monthly_gift(self):
        started = self.between(self.start, self.now - timedelta(days=1))
        user = self.reader(started)
        self.customer(user)
        currency = self.pick(CURRENCY_WEIGHTS)
        amount = self.rng.choice(MONTHLY_GIFTS)
        donation = Donation(
            user=user,
            email=user.email,
            amount=amount,
            currency=currency,
            recurring=True,
            stripe_checkout_session_id=self.next_id("cs"),
            stripe_subscription_id=self.next_id("sub"),
            status=Donation.Status.ACTIVE,
            stripe_updated=started,
        )
        self.donations.append(donation)
        self.converted({CallToAction.Target.DONATE}, user.language, started)
        moment = started
        while moment <= self.now:
            self.pay(user, moment, amount, currency, donation=donation)
            donation.stripe_updated = moment
            if self.rng.random() < 0.05:
                donation.status = Donation.Status.CANCELED
                break
            moment = add_months(moment, 1)

    # Money coming back -------------------------------------------------------------------------

    def refunds_and_a_dispute(self):
        """A few membership payments refunded (in full, or in part), and one gift disputed."""
        paid = [p for p in self.payments if p.kind == Payment.Kind.MEMBERSHIP]
        for number, payment in enumerate(self.rng.sample(paid, min(6, len(paid)))):
            if number % 2:
                payment.amount_refunded = payment.amount
                payment.status = Payment.Status.REFUNDED
            else:
                payment.amount_refunded = payment.amount // 2
                payment.status = Payment.Status.PARTIALLY_REFUNDED
        gifts = [
            p
            for p in self.payments
            if p.kind == Payment.Kind.DONATION
            and p.user is not None
            and p.paid_at < self.now - timedelta(days=10)
        ]
        if gifts:
            disputed = self.rng.choice(gifts)
            disputed.status = Payment.Status.DISPUTED
            disputed.user.payment_disputed_at = disputed.paid_at + timedelta(
                days=self.rng.randint(3, 9)
            )

    # Fundraiser blocks -------------------------------------------------------------------------

    def daily_counts(self):
        """Views and clicks of each demo block on each day, in each language, around the
        conversions counted: a reader sees a block many times before one clicks, and most who
        click do not pay."""
        rows = []
        day, last = timezone.localdate(self.start), timezone.localdate(self.now)
        audience = {language: 1.0 if n == 0 else 0.25 for n, language in enumerate(self.languages)}
        while day <= last:
            weekend = day.weekday() >= 5
            for name, block in self.blocks.items():
                placement = BLOCKS[name]["placement"]
                base = {"site_banner": 420, "article_inline": 260, "article_end": 300}.get(
                    placement, 180
                )
                for language, share in audience.items():
                    conversions = self.conversions.get((name, language, day), 0)
                    views = int(base * share * (0.7 if weekend else 1) * self.rng.uniform(0.6, 1.4))
                    clicks = int(views * self.rng.uniform(0.006, 0.03)) + conversions
                    views = max(views, clicks * 20)
                    if views:
                        rows.append(
                            CallToActionCount(
                                block=block,
                                language=language,
                                day=day,
                                views=views,
                                clicks=clicks,
                                conversions=conversions,
                            )
                        )
            day += timedelta(days=1)
        return rows

    # All of it ---------------------------------------------------------------------------------

    def build(self):
        rng = self.rng
        for fate in ["trial", "trial", "past_due", "past_due", "unpaid", "upgrade", "upgrade"]:
            self.subscription(fate)
        for _ in range(3):
            self.subscription("cancelling")
        for _ in range(rng.randint(140, 190)):
            self.subscription()
        for _ in range(3):
            self.never_started()
        for _ in range(rng.randint(5, 8)):
            self.complimentary()
        members = list(self.users)
        for _ in range(rng.randint(40, 60)):
            self.one_off_gift()
        for member in rng.sample(members, len(members) // 10):
            self.one_off_gift(member)
        for _ in range(rng.randint(12, 20)):
            self.monthly_gift()
        self.refunds_and_a_dispute()

    def save(self):
        User.objects.bulk_create(self.users, batch_size=500)
        Customer.objects.bulk_create(self.customers, batch_size=500)
        Membership.objects.bulk_create(self.memberships, batch_size=500)
        Donation.objects.bulk_create(self.donations, batch_size=500)
        Payment.objects.bulk_create(self.payments, batch_size=500)
        counts = self.daily_counts()
        CallToActionCount.objects.bulk_create(counts, batch_size=1000)
        statuses = {}
        subscriptions = [m for m in self.memberships if m.kind == Membership.Kind.SUBSCRIPTION]
        for membership in subscriptions:
            statuses[membership.status] = statuses.get(membership.status, 0) + 1
        return Summary(
            readers=len(self.users),
            memberships=len(subscriptions),
            complimentary=len(self.memberships) - len(subscriptions),
            payments=len(self.payments),
            donations=len(self.donations),
            daily_counts=len(counts),
            statuses=statuses,
        )


def build_membership_history(now=None, *, months=12, seed=2026):
    """Write `months` months of invented membership history ending at `now`; return a Summary.

    Refuses (HistoryError) when the history is there already (remove_membership_history()
    first) or when the demo plans are missing. The same seed and `now` write the same rows.
    """
    if months < 1:
        raise HistoryError(f"The history needs at least one month, not {months}.")
    with transaction.atomic():
        if has_membership_history():
            raise HistoryError("The demo membership history is there already.")
        history = _History(random.Random(seed), now or timezone.now(), months)
        history.build()
        return history.save()
