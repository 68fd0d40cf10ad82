"""Check 59: staff cannot raise their own rights. An Editor, a Contributor or a Membership
manager posting `is_superuser=on`, adding themself to a group or granting their group a
permission gets 403 and changes nothing: only superusers manage users and groups. Editors and
Contributors cannot even open an account; Membership managers may look (the membership desk
finds readers there) but not change."""

import pytest
from django.contrib.auth.models import Group, Permission

from members.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["editor", "contributor", "membership_manager"])
def staff(request):
    return request.getfixturevalue(request.param)


def test_staff_cannot_open_or_change_an_administrator(client, staff, superuser):
    client.force_login(staff)
    change = f"/admin/members/user/{superuser.pk}/change/"
    page = client.get(change)
    if staff.has_perm("members.view_user"):
        assert page.status_code == 200 and b'name="_save"' not in page.content
    else:
        assert page.status_code == 403
    response = client.post(
        change, {"email": superuser.email, "is_active": "on", "is_superuser": ""}
    )
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.is_superuser and superuser.is_active


def test_staff_cannot_make_themselves_superuser_or_join_a_group(client, staff):
    client.force_login(staff)
    groups_before = set(staff.groups.values_list("name", flat=True))
    editors = Group.objects.get(name="Editors")
    response = client.post(
        f"/admin/members/user/{staff.pk}/change/",
        {
            "email": staff.email,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [editors.pk],
        },
    )
    assert response.status_code == 403
    staff.refresh_from_db()
    assert not staff.is_superuser
    assert set(staff.groups.values_list("name", flat=True)) == groups_before


def test_staff_cannot_grant_their_group_a_permission(client, staff):
    client.force_login(staff)
    [group] = staff.groups.all()
    before = set(group.permissions.values_list("codename", flat=True))
    change_user = Permission.objects.get(codename="change_user")
    change = f"/admin/auth/group/{group.pk}/change/"
    assert client.get(change).status_code == 403
    response = client.post(
        change,
        {
            "name": group.name,
            "permissions": [*group.permissions.values_list("pk", flat=True), change_user.pk],
        },
    )
    assert response.status_code == 403
    assert client.post("/admin/auth/group/add/", {"name": "Mine"}).status_code == 403
    assert set(group.permissions.values_list("codename", flat=True)) == before
    assert not Group.objects.filter(name="Mine").exists()
    assert not User.objects.get(pk=staff.pk).has_perm("members.change_user")
