"""The membership desk's member page and actions (members.desk): notes, extending a
complimentary membership, links to Stripe's Dashboard, cancelling at period end and refunds,
each logged with who did it, and each refused to staff without the permission."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members import billing
from members.models import Customer, MemberNote, Membership, Payment
from tests.factories import MembershipFactory, UserFactory
from tests.html import form_data, parse, visible_text
from tests.members.stripe_events import give_at, join_at, plan_price_at

pytestmark = pytest.mark.django_db

ADMIN = "/admin/members"


def page_of(membership):
    return f"{ADMIN}/membership/{membership.pk}/change/"


def action_url(membership, action):
    return f"{ADMIN}/membership/{membership.pk}/{action}/"


def refund_url(payment):
    return f"{ADMIN}/payment/{payment.pk}/refund/"


def complimentary(user=None, *, until):
    return Membership.objects.create(
        user=user or UserFactory(),
        kind=Membership.Kind.COMPLIMENTARY,
        status=Membership.Status.COMPLIMENTARY,
        complimentary_until=until,
    )


def a_payment(membership, stripe_id="in_1", **fields):
    return Payment.objects.create(
        **{
            "stripe_id": stripe_id,
            "stripe_payment_intent_id": f"pi_of_{stripe_id}",
            "user": membership.user,
            "membership": membership,
            "amount": 1250,
            "currency": "eur",
            "kind": Payment.Kind.MEMBERSHIP,
            "paid_at": timezone.now() - timedelta(days=3),
            **fields,
        }
    )


def logged(obj, user):
    """The admin log's messages about `obj` by `user`, oldest first."""
    return [
        entry.change_message
        for entry in LogEntry.objects.filter(object_id=str(obj.pk), user=user).order_by("pk")
        if entry.content_type.model_class() is type(obj)
    ]


def messages_of(response):
    return [str(message) for message in response.context["messages"]] if response.context else []


# The member's page --------------------------------------------------------------------------


def test_the_members_page_shows_start_cancellation_payments_memberships_and_notes(
    client, membership_manager
):
    started = timezone.localtime().replace(year=2025, month=4, day=2, hour=12, minute=0)
    membership = MembershipFactory(
        started_at=started,
        cancel_at_period_end=True,
        cancellation_reason="cancellation_requested",
        cancellation_feedback="too_expensive",
        cancellation_comment="Money is tight this year",
    )
    member = membership.user
    a_payment(membership, "in_paid", paid_at=started)
    a_payment(membership, "in_half", amount_refunded=500, status="partially_refunded")
    a_payment(membership, "in_all", amount_refunded=1250, status="refunded")
    Payment.objects.create(
        stripe_id="pi_gift",
        user=member,
        amount=2500,
        currency="usd",
        kind=Payment.Kind.DONATION,
        paid_at=timezone.now(),
    )
    Payment.objects.create(
        stripe_id="in_someone_else",
        user=UserFactory(),
        amount=999,
        currency="eur",
        kind=Payment.Kind.MEMBERSHIP,
        paid_at=timezone.now(),
    )
    old = MembershipFactory(user=member, status="canceled", started_at=started)
    author = UserFactory(email="colleague@example.com", is_staff=True)
    MemberNote.objects.create(member=member, author=author, text="Asked for a receipt")
    MemberNote.objects.create(member=member, author=None, text="Called about the card")
    client.force_login(membership_manager)

    response = client.get(page_of(membership))

    assert response.status_code == 200
    text = visible_text(response)
    assert "2 April 2025" in text or "April 2, 2025" in text
    assert "the member cancelled" in text
    assert "it is too expensive" in text
    assert "Money is tight this year" in text
    payments = parse(response).select("#member-payments + table tbody tr")
    rows = [visible_text(row) for row in payments]
    assert len(rows) == 4
    assert any("$25" in row and "donation" in row for row in rows)
    assert any("€12.50 €5 partially refunded Refund…" in row for row in rows)
    assert any("€12.50 €12.50 refunded" in row and "Refund…" not in row for row in rows)
    assert not any("€9.99" in row for row in rows)
    refund_links = [a["href"] for row in payments for a in row.select("a") if "refund" in a["href"]]
    assert sorted(refund_links) == sorted(
        refund_url(Payment.objects.get(stripe_id=stripe_id))
        for stripe_id in ("in_half", "in_paid", "pi_gift")
    )
    others = [a["href"] for a in parse(response).select("#member-memberships + ul a")]
    assert others == [page_of(old)]
    notes = [visible_text(note) for note in parse(response).select(".member-note")]
    assert notes[0].startswith("someone no longer on staff")
    assert "Called about the card" in notes[0]
    assert notes[1].startswith("colleague@example.com") and "Asked for a receipt" in notes[1]
    assert "note-form" in {form.get("id") for form in parse(response).select("form")}


def test_the_cancellation_details_are_shown_only_when_stripe_gave_them(client, membership_manager):
    membership = MembershipFactory()
    client.force_login(membership_manager)
    text = visible_text(client.get(page_of(membership)))
    assert "why it was cancelled" not in text.lower()
    assert "member's comment" not in text.lower()


def test_the_members_page_costs_the_same_queries_with_many_payments_and_notes(
    client, membership_manager, django_assert_max_num_queries
):
    membership = MembershipFactory()
    a_payment(membership)
    MemberNote.objects.create(member=membership.user, author=membership_manager, text="First")
    client.force_login(membership_manager)
    with CaptureQueriesContext(connection) as few:
        assert client.get(page_of(membership)).status_code == 200
    for n in range(30):
        a_payment(membership, f"in_more_{n}")
        MemberNote.objects.create(member=membership.user, author=UserFactory(), text=f"Note {n}")
        MembershipFactory(user=membership.user, status="canceled")

    with django_assert_max_num_queries(len(few)):
        response = client.get(page_of(membership))

    assert len(parse(response).select(".member-note")) == 31
    assert len(parse(response).select("#member-payments + table tbody tr")) == 31


def test_a_long_payment_history_shows_the_latest_and_links_to_all(client, membership_manager):
    membership = MembershipFactory()
    for n in range(55):
        a_payment(membership, f"in_{n}", paid_at=timezone.now() - timedelta(days=n))
    client.force_login(membership_manager)
    response = client.get(page_of(membership))
    assert len(parse(response).select("#member-payments + table tbody tr")) == 50
    [link] = [a for a in parse(response).select("a") if a.get_text() == "All their payments"]
    listing = client.get(link["href"])
    assert listing.status_code == 200
    assert "55 payments" in visible_text(listing)


# Notes ----------------------------------------------------------------------------------------


def test_a_manager_adds_a_note_with_their_name_and_it_is_logged(client, membership_manager):
    membership = MembershipFactory()
    client.force_login(membership_manager)
    page = client.get(page_of(membership))
    data = form_data(page, "note-form")
    data["text"] = ["Prefers email in Russian.\n<script>alert(1)</script>"]

    response = client.post(action_url(membership, "note"), data)

    assert response.status_code == 302
    assert response["Location"] == page_of(membership) + "#member-notes"
    note = MemberNote.objects.get()
    assert (note.member, note.author) == (membership.user, membership_manager)
    assert logged(membership, membership_manager) == ["Added a note about the member."]
    shown = client.get(page_of(membership))
    assert "Prefers email in Russian." in visible_text(shown)
    assert "<script>alert(1)</script>" not in shown.content.decode()
    assert "The note is saved." in messages_of(shown)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "Write the note first."),
        ("   \n ", "Write the note first."),
        ("x" * 5001, "Ensure this value has at most 5000 characters (it has 5001)."),
    ],
)
def test_an_empty_or_too_long_note_is_refused_and_nothing_is_stored(
    client, membership_manager, text, error
):
    membership = MembershipFactory()
    client.force_login(membership_manager)

    response = client.post(action_url(membership, "note"), {"text": text})

    assert response.status_code == 200
    assert error in visible_text(response)
    if text.strip():
        # What was written is kept in the form, to be shortened rather than typed again.
        assert form_data(response, "desk-form")["text"] == [text]
    assert not MemberNote.objects.exists()
    assert not LogEntry.objects.exists()


# Complimentary memberships: granting and extending --------------------------------------------


def test_granting_a_complimentary_membership_records_its_start_and_is_logged(
    client, membership_manager
):
    reader = UserFactory(email="press.friend@example.com")
    client.force_login(membership_manager)
    until = timezone.localtime() + timedelta(days=90)
    response = client.post(
        f"{ADMIN}/membership/add/",
        {
            "user": reader.pk,
            "plan": "",
            "complimentary_until_0": until.strftime("%Y-%m-%d"),
            "complimentary_until_1": "12:00:00",
        },
    )
    assert response.status_code == 302
    membership = Membership.objects.get()
    assert abs(membership.started_at - timezone.now()) < timedelta(minutes=1)
    entry = LogEntry.objects.get()
    assert (entry.user, entry.action_flag, entry.object_id) == (
        membership_manager,
        ADDITION,
        str(membership.pk),
    )


def extend_form(client, membership, **fields):
    """The extension form as its page shows it, with `fields` filled in."""
    data = form_data(client.get(action_url(membership, "extend")), "desk-form")
    return {**data, **{name: [value] for name, value in fields.items()}}


def test_a_complimentary_membership_is_extended_by_months_from_its_end(client, membership_manager):
    end = timezone.now().replace(microsecond=0) + timedelta(days=10)
    membership = complimentary(until=end)
    client.force_login(membership_manager)
    page = client.get(page_of(membership))
    [extend] = [a["href"] for a in parse(page).select(".object-tools a") if "extend" in a["href"]]
    form = client.get(extend)
    assert form.status_code == 200

    data = form_data(form, "desk-form")
    data["months"] = ["3"]
    response = client.post(extend, data)

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.complimentary_until - end > timedelta(days=88)
    assert membership.complimentary_until - end < timedelta(days=93)
    assert membership.complimentary_until.day == end.day or end.day > 28
    [message] = logged(membership, membership_manager)
    day = timezone.localtime(membership.complimentary_until).date().isoformat()
    assert message == f"Extended until {day}."


def test_an_ended_complimentary_membership_is_extended_from_today(client, membership_manager):
    membership = complimentary(until=timezone.now() - timedelta(days=100))
    client.force_login(membership_manager)
    client.post(action_url(membership, "extend"), extend_form(client, membership, months="1"))
    membership.refresh_from_db()
    assert timedelta(days=27) < membership.complimentary_until - timezone.now() < timedelta(days=32)
    assert Membership.objects.active().filter(pk=membership.pk).exists()


def test_a_complimentary_membership_is_extended_until_a_date(client, membership_manager):
    membership = complimentary(until=timezone.now() + timedelta(days=5))
    client.force_login(membership_manager)
    day = (timezone.localdate() + timedelta(days=200)).isoformat()
    data = extend_form(client, membership, until=day)
    assert client.post(action_url(membership, "extend"), data).status_code == 302
    membership.refresh_from_db()
    assert timezone.localtime(membership.complimentary_until).date().isoformat() == day
    assert logged(membership, membership_manager)[0].startswith("Extended until")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "Choose a number of months or a date (one of them)."),
        ({"months": "3", "until": "2099-01-01"}, "Choose a number of months or a date"),
        ({"months": "2"}, "Select a valid choice. 2 is not one of the available choices."),
        ({"months": "-1"}, "Select a valid choice."),
        ({"until": "yesterday"}, "Enter a valid date."),
        ({"until": "2026-02-30"}, "Enter a valid date."),
        ({"until": "2001-01-01"}, "Choose a day after"),
    ],
)
def test_bad_extensions_are_refused_and_change_nothing(client, membership_manager, data, error):
    end = timezone.now() + timedelta(days=10)
    membership = complimentary(until=end)
    client.force_login(membership_manager)
    response = client.post(
        action_url(membership, "extend"), extend_form(client, membership, **data)
    )
    assert response.status_code == 200
    assert error in visible_text(response)
    membership.refresh_from_db()
    assert membership.complimentary_until == end
    assert not LogEntry.objects.exists()


def test_a_second_press_of_extend_does_not_extend_twice(client, membership_manager):
    end = timezone.now().replace(microsecond=0) + timedelta(days=10)
    membership = complimentary(until=end)
    client.force_login(membership_manager)
    data = extend_form(client, membership, months="12")

    first = client.post(action_url(membership, "extend"), data)
    second = client.post(action_url(membership, "extend"), data)

    assert first.status_code == 302
    assert second.status_code == 200
    assert "end date changed since the page was shown" in visible_text(second)
    membership.refresh_from_db()
    assert timedelta(days=360) < membership.complimentary_until - end < timedelta(days=370)
    assert len(logged(membership, membership_manager)) == 1


def test_a_subscription_is_not_extended_here(client, membership_manager):
    membership = MembershipFactory()
    end = membership.current_period_end
    client.force_login(membership_manager)
    assert "Extend…" not in visible_text(client.get(page_of(membership)))
    response = client.post(action_url(membership, "extend"), {"months": "12"}, follow=True)
    assert "a subscription renews at Stripe" in visible_text(response)
    membership.refresh_from_db()
    assert membership.current_period_end == end and membership.complimentary_until is None


# Links to Stripe's Dashboard ------------------------------------------------------------------


def test_dashboard_addresses_follow_the_keys_mode(settings):
    settings.STRIPE_LIVEMODE = False
    assert (
        billing.dashboard_url("customers", "cus_Abc_123")
        == "https://dashboard.stripe.com/test/customers/cus_Abc_123"
    )
    settings.STRIPE_LIVEMODE = True
    assert (
        billing.dashboard_url("subscriptions", "sub_9")
        == "https://dashboard.stripe.com/subscriptions/sub_9"
    )
    for bad in ["", None, "cus_1/../../settings", "cus_1?x=1", 'cus_"><script>', "cus_é"]:
        assert billing.dashboard_url("customers", bad) is None
    with pytest.raises(ValueError):
        billing.dashboard_url("settings", "acct_1")


@pytest.mark.parametrize(
    ("livemode", "base"),
    [(False, "https://dashboard.stripe.com/test"), (True, "https://dashboard.stripe.com")],
)
def test_the_members_page_links_to_the_customer_and_subscription_in_stripe(
    client, membership_manager, settings, livemode, base
):
    settings.STRIPE_LIVEMODE = livemode
    membership = MembershipFactory(stripe_customer_id="cus_Q1", stripe_subscription_id="sub_Q1")
    client.force_login(membership_manager)
    links = {
        a.get_text(): a["href"] for a in parse(client.get(page_of(membership))).select("a[href]")
    }
    assert links["Customer in Stripe"] == f"{base}/customers/cus_Q1"
    assert links["Subscription in Stripe"] == f"{base}/subscriptions/sub_Q1"


def test_a_complimentary_members_page_links_to_their_stripe_customer_only_if_they_have_one(
    client, membership_manager
):
    membership = complimentary(until=timezone.now() + timedelta(days=5))
    client.force_login(membership_manager)
    text = visible_text(client.get(page_of(membership)))
    assert "in Stripe" not in text
    Customer.objects.create(user=membership.user, stripe_customer_id="cus_from_a_gift")
    links = {
        a.get_text(): a["href"] for a in parse(client.get(page_of(membership))).select("a[href]")
    }
    assert links["Customer in Stripe"].endswith("/test/customers/cus_from_a_gift")
    assert "Subscription in Stripe" not in links


def test_an_id_that_is_not_stripes_makes_no_link(client, membership_manager):
    membership = MembershipFactory(stripe_customer_id='cus_1"><img src=x>')
    client.force_login(membership_manager)
    response = client.get(page_of(membership))
    assert "Customer in Stripe" not in visible_text(response)
    assert "<img src=x>" not in response.content.decode()


# Cancelling at period end: what is offered ----------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        {"kind": "complimentary", "status": "complimentary", "price": None, "plan": None},
        {"cancel_at_period_end": True},
        {"status": "canceled"},
        {"status": "incomplete_expired"},
        {"status": "incomplete"},
        {"stripe_subscription_id": None},
    ],
)
def test_cancelling_is_not_offered_and_refused_when_it_cannot_apply(
    client, membership_manager, stripe_api, state
):
    if state.get("kind") == "complimentary":
        state = {**state, "complimentary_until": timezone.now() + timedelta(days=5)}
    membership = MembershipFactory(**state)
    client.force_login(membership_manager)
    assert "Cancel at period end…" not in visible_text(client.get(page_of(membership)))
    page = client.get(action_url(membership, "cancel"))
    assert page.status_code == 200
    assert "desk-form" not in page.content.decode()

    response = client.post(action_url(membership, "cancel"), {"attempt": str(uuid.uuid4())})

    assert response.status_code == 200
    assert parse(response).select_one(".errornote").get_text().strip()
    assert not stripe_api.api_requests()
    assert not LogEntry.objects.exists()


def test_when_stripe_cannot_be_reached_the_cancellation_says_so(
    client, membership_manager, settings
):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    membership = MembershipFactory()
    client.force_login(membership_manager)
    response = client.post(action_url(membership, "cancel"), {"attempt": str(uuid.uuid4())})
    assert response.status_code == 200
    assert any("Stripe did not cancel: Could not reach Stripe" in m for m in messages_of(response))
    assert not LogEntry.objects.exists()


def test_a_subscription_stripe_does_not_know_is_a_message_not_an_error(
    client, membership_manager, stripe_api
):
    membership = MembershipFactory(stripe_subscription_id="sub_unknown_to_stripe")
    client.force_login(membership_manager)
    response = client.post(action_url(membership, "cancel"), {"attempt": str(uuid.uuid4())})
    assert response.status_code == 200
    assert any("No such subscription" in m for m in messages_of(response))
    membership.refresh_from_db()
    assert membership.cancel_at_period_end is False


def test_a_cancellation_without_its_attempt_token_is_refused(
    client, membership_manager, stripe_api
):
    membership = MembershipFactory()
    client.force_login(membership_manager)
    for data in ({}, {"attempt": "not-a-token"}):
        response = client.post(action_url(membership, "cancel"), data)
        assert response.status_code == 200
        assert "This form has expired. Please send it again." in visible_text(response)
    assert not stripe_api.api_requests()


# Refunds: bad input and what is refused before Stripe is asked ---------------------------------


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("", "This field is required."),
        ("1E2", "Write the amount in figures, like 12.50."),
        ("١٢", "Write the amount in figures, like 12.50."),
        ("12.5.0", "Write the amount in figures, like 12.50."),
        ("NaN", "Write the amount in figures, like 12.50."),
        ("Infinity", "Write the amount in figures, like 12.50."),
        ("€5", "Write the amount in figures, like 12.50."),
        ("-5", "The amount must be more than zero."),
        ("0", "The amount must be more than zero."),
        ("0.00", "The amount must be more than zero."),
        ("12.345", "At most two decimals (cents), like 12.50."),
        ("12.51", "At most €12.50 is left to refund on this payment."),
        ("99999999999", "At most €12.50 is left to refund on this payment."),
        ("1" * 21, "Ensure this value has at most 20 characters"),
    ],
)
def test_bad_refund_amounts_are_form_errors_and_nothing_is_asked_of_stripe(
    client, membership_manager, stripe_api, amount, error
):
    payment = a_payment(MembershipFactory())
    client.force_login(membership_manager)
    data = form_data(client.get(refund_url(payment)), "desk-form")
    data["amount"] = [amount]

    response = client.post(refund_url(payment), data)

    assert response.status_code == 200
    assert error in visible_text(response)
    assert not stripe_api.api_requests()
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize(
    ("amount", "minor"),
    [("12.50", 1250), ("12,5", 1250), (" 7 ", 700), ("0.01", 1), ("3.1", 310)],
)
def test_refund_amounts_are_read_in_major_units(amount, minor):
    from members.desk import RefundForm

    payment = Payment(amount=1250, amount_refunded=0, currency="eur")
    form = RefundForm(
        {"amount": amount, "reason": "duplicate", "attempt": str(uuid.uuid4())}, payment=payment
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == minor


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"status": "disputed"}, "This payment is disputed"),
        (
            {"status": "refunded", "amount_refunded": 1250},
            "This payment has already been refunded in full.",
        ),
        (
            {"stripe_payment_intent_id": None, "stripe_charge_id": None},
            "refund it in Stripe's dashboard",
        ),
    ],
)
def test_payments_that_cannot_be_refunded_here_say_why_and_stripe_is_not_asked(
    client, membership_manager, stripe_api, fields, problem
):
    payment = a_payment(MembershipFactory(), **fields)
    client.force_login(membership_manager)
    page = client.get(refund_url(payment))
    assert problem in visible_text(page)
    assert "desk-form" not in page.content.decode()
    assert "Refund…" not in visible_text(client.get(f"{ADMIN}/payment/{payment.pk}/change/"))

    response = client.post(
        refund_url(payment),
        {"amount": "1", "reason": "duplicate", "attempt": str(uuid.uuid4())},
    )

    assert problem in visible_text(response)
    assert not stripe_api.api_requests()
    assert not LogEntry.objects.exists()


def test_a_refund_with_an_unknown_reason_is_a_form_error(client, membership_manager, stripe_api):
    payment = a_payment(MembershipFactory())
    client.force_login(membership_manager)
    response = client.post(
        refund_url(payment),
        {"amount": "1", "reason": "changed_my_mind", "attempt": str(uuid.uuid4())},
    )
    assert "Select a valid choice." in visible_text(response)
    assert not stripe_api.api_requests()


@pytest.mark.parametrize("path", ["payment/999999/refund/", "membership/999999/cancel/"])
def test_unknown_objects_are_404(client, membership_manager, path):
    client.force_login(membership_manager)
    assert client.get(f"{ADMIN}/{path}").status_code == 404
    assert client.post(f"{ADMIN}/{path}", {}).status_code == 404


# Permissions ----------------------------------------------------------------------------------


def desk_urls():
    """Every page of the desk, for one subscription, one complimentary membership and one
    payment."""
    membership = MembershipFactory()
    comped = complimentary(until=timezone.now() + timedelta(days=5))
    payment = a_payment(membership)
    return [
        page_of(membership),
        action_url(membership, "note"),
        action_url(comped, "extend"),
        action_url(membership, "cancel"),
        refund_url(payment),
        f"{ADMIN}/payment/{payment.pk}/change/",
    ]


def test_contributors_and_editors_get_403_on_the_members_page_and_every_action(
    client, contributor, editor, stripe_api
):
    urls = desk_urls()
    for person in (contributor, editor):
        client.force_login(person)
        for url in urls:
            assert client.get(url).status_code == 403, url
            data = {"text": "x", "months": "1", "amount": "1", "reason": "duplicate"}
            data["attempt"] = str(uuid.uuid4())
            assert client.post(url, data).status_code == 403, url
    assert not MemberNote.objects.exists()
    assert not stripe_api.api_requests()


def test_anonymous_visitors_are_sent_to_the_log_in_page(client):
    for url in desk_urls():
        for response in (client.get(url), client.post(url, {"text": "x"})):
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url
    assert not MemberNote.objects.exists()


def test_membership_managers_and_superusers_open_every_page_of_the_desk(
    client, membership_manager, superuser
):
    urls = desk_urls()
    for person in (membership_manager, superuser):
        client.force_login(person)
        for url in urls:
            assert client.get(url).status_code == 200, url


def test_each_action_checks_its_own_permission(client, membership_manager, stripe_api):
    from django.contrib.auth.models import Permission

    urls = desk_urls()
    for codename, url in [
        ("add_membernote", urls[1]),
        ("cancel_membership", urls[3]),
        ("refund_payment", urls[4]),
    ]:
        group = membership_manager.groups.get()
        group.permissions.remove(Permission.objects.get(codename=codename))
        # A fresh copy of the user: permissions are cached on the instance.
        client.force_login(type(membership_manager).objects.get(pk=membership_manager.pk))
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"attempt": str(uuid.uuid4())}).status_code == 403, url
        group.permissions.add(Permission.objects.get(codename=codename))
    assert not stripe_api.api_requests()


# Through the fake Stripe: refunds and cancellations arrive through the webhook -----------------


def joined(fake_stripe):
    """A member who paid €5 through Checkout at the fake Stripe; their membership and payment
    as the webhooks made them."""
    membership = join_at(
        fake_stripe, UserFactory(email="tamar@example.com"), plan_price_at(fake_stripe)
    )
    fake_stripe.wait_for_webhooks()
    payment = Payment.objects.get()
    assert payment.stripe_payment_intent_id
    # From here on the fake queues the events its API calls cause until `settle()`: the desk's
    # view goes on writing (its admin log) after calling Stripe, and on SQLite the live server
    # shares the test's database connection, which two threads must not use at once.
    fake_stripe.auto_deliver = False
    return membership, payment


def settle(fake_stripe):
    """Deliver the events the desk's calls to Stripe caused; each must be taken at once."""
    assert all(delivery.ok for delivery in fake_stripe.deliver_pending())


def refunds_at(fake_stripe):
    return fake_stripe.objects("refund")


@pytest.mark.django_db(transaction=True)
def test_a_refund_asked_here_arrives_through_the_webhook(client, membership_manager, fake_stripe):
    membership, payment = joined(fake_stripe)
    client.force_login(membership_manager)
    member_page = client.get(page_of(membership))
    [link] = [
        a["href"]
        for a in parse(member_page).select("#member-payments + table a")
        if "refund" in a["href"]
    ]
    assert link == refund_url(payment)
    payment_page = client.get(f"{ADMIN}/payment/{payment.pk}/change/")
    tools = parse(payment_page).select(".object-tools a")
    assert [a["href"] for a in tools if a.get_text() == "Refund…"] == [link]
    page = client.get(link)
    assert "Left to refund €5" in visible_text(page)
    data = form_data(page, "desk-form")
    assert data["amount"] == ["5.00"] and data["reason"] == ["requested_by_customer"]
    data["amount"] = ["2"]

    response = client.post(link, data, follow=True)

    assert response.redirect_chain[-1][0] == page_of(membership)
    assert any("Stripe has been asked to refund €2." in m for m in messages_of(response))
    [refund] = refunds_at(fake_stripe)
    assert (refund["amount"], refund["reason"]) == (200, "requested_by_customer")
    assert refund["payment_intent"] == payment.stripe_payment_intent_id
    assert refund["metadata"]["refunded_by"] == membership_manager.email
    settle(fake_stripe)
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == ("partially_refunded", 200)
    assert logged(payment, membership_manager) == [
        "Asked Stripe to refund €2 (reason: requested_by_customer)."
    ]

    # The rest, with what is left as the form's default.
    page = client.get(refund_url(payment))
    assert "Refunded already €2 Left to refund €3" in visible_text(page)
    data = form_data(page, "desk-form")
    assert data["amount"] == ["3.00"]
    data["reason"] = ["duplicate"]
    client.post(refund_url(payment), data)
    settle(fake_stripe)
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == ("refunded", 500)
    assert len(refunds_at(fake_stripe)) == 2
    assert "This payment has already been refunded in full." in visible_text(
        client.get(refund_url(payment))
    )
    entry = LogEntry.objects.filter(object_id=str(payment.pk)).latest("pk")
    assert (entry.user, entry.action_flag) == (membership_manager, CHANGE)


@pytest.mark.parametrize(
    ("ids", "target"),
    [
        (
            {"stripe_payment_intent_id": "pi_1", "stripe_charge_id": "ch_1"},
            {"payment_intent": "pi_1"},
        ),
        ({"stripe_charge_id": "ch_1"}, {"charge": "ch_1"}),
        ({"stripe_id": "pi_gift"}, {"payment_intent": "pi_gift"}),
        ({}, None),
    ],
)
def test_a_refund_names_the_payment_intent_else_the_charge(ids, target):
    payment = Payment(**{"stripe_id": "in_1", **ids})
    assert billing.refund_target(payment) == target


@pytest.mark.django_db(transaction=True)
def test_a_one_off_gift_is_refunded_by_its_payment_intent(client, membership_manager, fake_stripe):
    session_id = give_at(fake_stripe, "giver@example.com", amount=2000)
    settle(fake_stripe)
    fake_stripe.auto_deliver = False  # as in joined(): the refund's events wait for settle()
    payment = Payment.objects.get()
    assert payment.stripe_id == fake_stripe.get(session_id)["payment_intent"]
    client.force_login(membership_manager)
    data = form_data(client.get(refund_url(payment)), "desk-form")
    assert data["amount"] == ["20.00"]

    response = client.post(refund_url(payment), data)

    assert response["Location"] == f"{ADMIN}/payment/{payment.pk}/change/"
    [refund] = refunds_at(fake_stripe)
    assert (refund["payment_intent"], refund["amount"]) == (payment.stripe_id, 2000)
    settle(fake_stripe)
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded) == ("refunded", 2000)


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_refund_makes_one_refund(client, membership_manager, fake_stripe):
    _, payment = joined(fake_stripe)
    client.force_login(membership_manager)
    data = form_data(client.get(refund_url(payment)), "desk-form")
    data["amount"] = ["1.50"]

    first = client.post(refund_url(payment), data)
    second = client.post(refund_url(payment), data)

    assert first.status_code == second.status_code == 302
    [refund] = refunds_at(fake_stripe)
    assert refund["amount"] == 150
    posts = fake_stripe.api_requests("POST", "/v1/refunds")
    assert len(posts) == 2 and posts[1].replayed
    assert posts[0].idempotency_key == posts[1].idempotency_key
    settle(fake_stripe)
    payment.refresh_from_db()
    assert payment.amount_refunded == 150


@pytest.mark.django_db(transaction=True)
def test_more_than_is_left_is_refused_before_stripe_is_asked(
    client, membership_manager, fake_stripe
):
    _, payment = joined(fake_stripe)
    [charge] = fake_stripe.objects("charge")
    fake_stripe.refund(charge["id"], amount=400)
    settle(fake_stripe)
    client.force_login(membership_manager)
    data = form_data(client.get(refund_url(payment)), "desk-form")
    assert data["amount"] == ["1.00"]
    data["amount"] = ["1.01"]

    response = client.post(refund_url(payment), data)

    assert "At most €1 is left to refund on this payment." in visible_text(response)
    assert len(refunds_at(fake_stripe)) == 1
    assert not fake_stripe.api_requests("POST", "/v1/refunds")


def test_stripes_own_refusals_are_clear_messages(client, membership_manager, stripe_api):
    """The payment here does not know yet that it was refunded in Stripe's Dashboard (its
    event has not arrived): Stripe refuses, and the desk says why."""
    stripe = stripe_api.client()
    price = stripe.v1.prices.create(
        params={
            "currency": "eur",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Supporter"},
        }
    )
    customer = stripe.v1.customers.create(params={"email": "member@example.com"})
    stripe_api.create_subscription(customer.id, price.id)
    [charge] = stripe_api.objects("charge")
    membership = MembershipFactory()
    payment = a_payment(
        membership, "in_paid", amount=500, stripe_payment_intent_id=charge["payment_intent"]
    )
    client.force_login(membership_manager)

    stripe_api.refund(charge["id"], amount=300)
    data = form_data(client.get(refund_url(payment)), "desk-form")
    response = client.post(refund_url(payment), data)
    assert any(
        m.startswith("No refund was made: Stripe refused the amount:")
        for m in messages_of(response)
    )

    stripe_api.refund(charge["id"])
    data = form_data(client.get(refund_url(payment)), "desk-form")
    response = client.post(refund_url(payment), data)
    assert messages_of(response) == [
        "No refund was made: Stripe says this payment has already been refunded in full."
    ]
    assert len(stripe_api.objects("refund")) == 2
    assert not LogEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_disputed_payment_is_not_refunded(client, membership_manager, fake_stripe):
    _, payment = joined(fake_stripe)
    [charge] = fake_stripe.objects("charge")
    fake_stripe.dispute_charge(charge["id"])
    settle(fake_stripe)
    payment.refresh_from_db()
    assert payment.status == "disputed"
    client.force_login(membership_manager)

    response = client.post(
        refund_url(payment), {"amount": "5", "reason": "fraudulent", "attempt": str(uuid.uuid4())}
    )

    assert "This payment is disputed" in visible_text(response)
    assert not refunds_at(fake_stripe)


@pytest.mark.django_db(transaction=True)
def test_cancelling_at_period_end_is_asked_of_stripe_and_arrives_through_the_webhook(
    client, membership_manager, fake_stripe
):
    membership, _ = joined(fake_stripe)
    client.force_login(membership_manager)
    member_page = client.get(page_of(membership))
    [link] = [
        a["href"] for a in parse(member_page).select(".object-tools a") if "cancel" in a["href"]
    ]
    confirmation = client.get(link)
    ends = visible_text(confirmation)
    assert "They keep access until the end of the period already paid for" in ends
    assert "the membership ends on" in ends
    data = form_data(confirmation, "desk-form")

    response = client.post(link, data, follow=True)
    again = client.post(link, data)

    assert response.redirect_chain[-1][0] == page_of(membership)
    assert any(
        "Stripe has been asked to end the subscription on" in m for m in messages_of(response)
    )
    subscription = fake_stripe.get(membership.stripe_subscription_id)
    assert subscription["cancel_at_period_end"] is True and subscription["status"] == "active"
    assert subscription["cancellation_details"]["comment"] == (
        "Cancelled by members.desk@example.com from the membership desk"
    )
    posts = fake_stripe.api_requests(
        "POST", f"/v1/subscriptions/{membership.stripe_subscription_id}"
    )
    # The second press was refused here (the webhook had landed) or replayed by Stripe.
    assert len([post for post in posts if not post.replayed]) == 1
    assert posts[0].idempotency_key
    assert again.status_code in (200, 302)
    settle(fake_stripe)
    membership.refresh_from_db()
    assert membership.cancel_at_period_end is True
    assert membership.status == "active"
    assert Membership.objects.active().filter(pk=membership.pk).exists()
    assert logged(membership, membership_manager)[0].startswith(
        "Asked Stripe to cancel the subscription at period end"
    )
    # Now cancelling: no longer offered, and refused if posted.
    assert "Cancel at period end…" not in visible_text(client.get(page_of(membership)))
    refused = client.post(link, {"attempt": str(uuid.uuid4())})
    assert "already set to end" in visible_text(refused)
