"""The membership side of the admin: who sees it, granting complimentary memberships, and
processing a failed Stripe event again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from members import webhooks
from members.access import is_member
from members.models import Membership, Payment, StripeEvent
from tests.factories import MembershipFactory, UserFactory
from tests.members.stripe_events import invoice, make_event, post, stripe_settings  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]

PAGES = ["plan", "membership", "donation", "payment", "stripeevent"]


@pytest.mark.parametrize("model", PAGES)
def test_membership_managers_and_superusers_see_member_data_and_editors_do_not(
    client, membership_manager, superuser, editor, model
):
    url = f"/admin/members/{model}/"
    for allowed in (membership_manager, superuser):
        client.force_login(allowed)
        assert client.get(url).status_code == 200
    client.force_login(editor)
    assert client.get(url).status_code == 403


def test_a_manager_grants_a_complimentary_membership_with_an_end_date(client, membership_manager):
    reader = UserFactory(email="press.friend@example.com")
    client.force_login(membership_manager)
    until = timezone.localtime() + timedelta(days=90)
    form = {
        "user": reader.pk,
        "plan": "",
        "complimentary_until_0": until.strftime("%Y-%m-%d"),
        "complimentary_until_1": "12:00:00",
    }
    missing_end = client.post(
        "/admin/members/membership/add/",
        {**form, "complimentary_until_0": "", "complimentary_until_1": ""},
    )
    assert missing_end.status_code == 200
    assert not Membership.objects.exists()

    response = client.post("/admin/members/membership/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    membership = Membership.objects.get()
    assert (membership.kind, membership.status) == ("complimentary", "complimentary")
    assert is_member(reader)


def test_stripe_ids_of_a_subscription_are_read_only(client, membership_manager):
    membership = MembershipFactory(stripe_subscription_id="sub_read_only")
    client.force_login(membership_manager)
    page = client.get(f"/admin/members/membership/{membership.pk}/change/").content.decode()
    assert "sub_read_only" in page
    assert 'name="stripe_subscription_id"' not in page


def test_process_again_reruns_a_failed_event_exactly_once(client, membership_manager, monkeypatch):
    MembershipFactory(stripe_subscription_id="sub_test_1")
    real_handler = webhooks.HANDLERS["invoice.paid"]

    def broken(*args):
        raise RuntimeError("temporary fault")

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", broken)
    event = make_event("invoice.paid", invoice())
    assert post(client, event).status_code == 500
    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", real_handler)

    client.force_login(membership_manager)
    stored = StripeEvent.objects.get()
    for _ in range(2):
        response = client.post(
            "/admin/members/stripeevent/",
            {"action": "process_again", "_selected_action": [stored.pk]},
        )
        assert response.status_code == 302
    stored.refresh_from_db()
    assert stored.processed_at is not None
    assert Payment.objects.count() == 1
