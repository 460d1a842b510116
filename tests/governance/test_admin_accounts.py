"""Django's admin: accounts are created and changed through the audited services; global roles,
groups and permissions cannot be changed there."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from governance.access import global_roles_of, is_auditor
from governance.models import AuditEvent
from governance.services.accounts import user_create, user_password_set, user_update
from tests.annotation.views.support import client_for

pytestmark = pytest.mark.django_db
User = get_user_model()


def _change_form(user, **overrides) -> dict:
    """What the admin's change form posts for ``user``, with ``overrides``."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def _events(action: str):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_posting_the_admin_change_form_with_global_role_fields_changes_no_role(admin_user, outsider):
    auditors, _ = Group.objects.get_or_create(name="auditor")
    permission = Permission.objects.get(codename="change_user")
    url = reverse("admin:auth_user_change", args=[outsider.pk])
    response = client_for(admin_user).post(
        url,
        _change_form(
            outsider,
            first_name="Olive",
            is_superuser="on",
            is_staff="on",
            groups=[auditors.pk],
            user_permissions=[permission.pk],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    outsider.refresh_from_db()
    assert outsider.first_name == "Olive"
    assert (outsider.is_superuser, outsider.is_staff) == (False, False)
    assert not is_auditor(outsider) and global_roles_of(user=outsider) == []
    assert not outsider.user_permissions.exists()
    assert not _events("role.global_change")


def test_posting_the_admin_change_form_cannot_take_an_admins_role_away(admin_user):
    other = get_user_model().objects.create_superuser(username="admin2", password="x-correct-horse", email="")
    url = reverse("admin:auth_user_change", args=[other.pk])
    response = client_for(admin_user).post(url, _change_form(other, is_superuser=None, is_staff=None))
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.is_superuser and other.is_staff


def test_the_admin_change_form_shows_the_role_fields_read_only_and_points_to_the_roles_page(admin_user, outsider):
    text = client_for(admin_user).get(reverse("admin:auth_user_change", args=[outsider.pk])).text
    assert 'name="is_superuser"' not in text and 'name="groups"' not in text
    assert 'name="user_permissions"' not in text and 'name="is_staff"' not in text
    assert "Roles page" in text


def test_changing_an_account_in_the_admin_writes_one_audit_event_naming_the_fields(admin_user, outsider):
    url = reverse("admin:auth_user_change", args=[outsider.pk])
    client_for(admin_user).post(url, _change_form(outsider, email="o@example.org", is_active=None))
    outsider.refresh_from_db()
    assert outsider.email == "o@example.org" and not outsider.is_active
    [event] = _events("user.update")
    assert (event.actor_name, event.target_id) == ("admin", str(outsider.pk))
    assert event.details == {"user": "outsider", "fields": ["email", "is_active"], "is_active": False}


def test_creating_a_user_in_the_admin_writes_an_audit_event(admin_user):
    response = client_for(admin_user).post(
        reverse("admin:auth_user_add"),
        {"username": "newcomer", "usable_password": "true", "password1": "Tr0ub4dor&3-long", "password2": "Tr0ub4dor&3-long"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = User.objects.get(username="newcomer")
    assert created.check_password("Tr0ub4dor&3-long")
    assert response["Location"] == reverse("admin:auth_user_change", args=[created.pk])
    [event] = _events("user.create")
    assert (event.actor_name, event.target_type, event.target_id) == ("admin", "user", str(created.pk))
    assert event.details == {"user": "newcomer", "usable_password": True}
    assert "Tr0ub4dor" not in str(event.details)


def test_setting_a_password_in_the_admin_writes_an_audit_event_without_the_password(admin_user, outsider):
    url = reverse("admin:auth_user_password_change", args=[outsider.pk])
    response = client_for(admin_user).post(
        url, {"usable_password": "true", "password1": "An0ther-long-pass", "password2": "An0ther-long-pass"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    outsider.refresh_from_db()
    assert outsider.check_password("An0ther-long-pass")
    [event] = _events("user.password_set")
    assert event.details == {"user": "outsider", "usable_password": True}


def test_an_admin_changing_their_own_password_in_the_admin_stays_logged_in(admin_user):
    client = client_for(admin_user)
    url = reverse("admin:auth_user_password_change", args=[admin_user.pk])
    client.post(url, {"usable_password": "true", "password1": "An0ther-long-pass", "password2": "An0ther-long-pass"})
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_admin_offers_no_deleting_of_accounts(admin_user, outsider):
    response = client_for(admin_user).post(reverse("admin:auth_user_delete", args=[outsider.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=outsider.pk).exists()


def test_the_group_admin_refuses_add_change_and_delete(admin_user):
    auditors, _ = Group.objects.get_or_create(name="auditor")
    client = client_for(admin_user)
    assert client.post(reverse("admin:auth_group_add"), {"name": "sneaky"}).status_code == 403
    change = client.post(reverse("admin:auth_group_change", args=[auditors.pk]), {"name": "renamed"})
    assert change.status_code == 403
    assert client.post(reverse("admin:auth_group_delete", args=[auditors.pk]), {"post": "yes"}).status_code == 403
    assert list(Group.objects.values_list("name", flat=True)) == ["auditor"]
    # Read-only viewing stays possible.
    assert client.get(reverse("admin:auth_group_change", args=[auditors.pk])).status_code == 200


def test_the_admin_does_not_expose_permissions():
    assert not admin.site.is_registered(Permission)


def test_the_admin_denies_a_non_admin_the_user_pages(outsider):
    response = client_for(outsider).get(reverse("admin:auth_user_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# The services themselves: the gate, and refusals that name the fix.


def test_denies_a_non_admin_to_create_change_or_set_a_password(manager, outsider):
    with pytest.raises(PermissionDenied):
        user_create(actor=manager, username="x", password="Some-long-pass1")
    with pytest.raises(PermissionDenied):
        user_update(actor=manager, user=outsider, email="x@example.org")
    with pytest.raises(PermissionDenied):
        user_password_set(actor=manager, user=outsider, password="Some-long-pass1")
    assert not User.objects.filter(username="x").exists()


def test_user_update_refuses_role_fields_and_names_the_roles_page(admin_user, outsider):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="is_superuser cannot be changed here; global roles are given on the Roles page"):
        user_update(actor=admin_user, user=outsider, is_superuser=True)


def test_user_create_without_a_password_makes_an_account_that_cannot_log_in_by_password(admin_user):
    user = user_create(actor=admin_user, username="sso-only", password=None)
    assert not user.has_usable_password()
    assert _events("user.create")[-1].details == {"user": "sso-only", "usable_password": False}
