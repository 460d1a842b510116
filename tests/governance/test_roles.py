"""Global roles: who may grant them, what they allow, and the role_grant command."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.http import Http404

from governance.access import (
    access_audit_trail,
    access_project,
    can_audit,
    global_roles_of,
    is_auditor,
    projects_visible_to,
)
from governance.models import AuditEvent
from governance.services.roles import global_role_set
from tests.factories import superuser_make, user_make

pytestmark = pytest.mark.django_db


def test_allows_an_admin_to_make_someone_an_auditor_and_audits_it(admin_user, outsider):
    global_role_set(actor=admin_user, user=outsider, role="auditor")
    assert is_auditor(outsider)
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_name, event.target_type) == (
        "role.global_change",
        "admin",
        "user",
    )
    assert event.details == {"user": "outsider", "old_roles": [], "new_roles": ["auditor"]}


def test_denies_a_project_manager_to_grant_global_roles(manager, outsider):
    with pytest.raises(PermissionDenied):
        global_role_set(actor=manager, user=outsider, role="auditor")
    assert not is_auditor(outsider)


def test_denies_an_auditor_to_grant_global_roles(auditor, outsider):
    with pytest.raises(PermissionDenied):
        global_role_set(actor=auditor, user=outsider, role="admin")


def test_refuses_an_unknown_global_role(admin_user, outsider):
    with pytest.raises(ValidationError, match="Unknown global role 'owner'"):
        global_role_set(actor=admin_user, user=outsider, role="owner")


def test_revoking_the_auditor_role_takes_the_audit_trail_away(admin_user, auditor):
    global_role_set(actor=admin_user, user=auditor, role=None)
    with pytest.raises(PermissionDenied):
        access_audit_trail(user=auditor)
    assert AuditEvent.objects.order_by("-seq").first().details["old_roles"] == ["auditor"]


def test_making_someone_admin_makes_them_superuser_and_staff(admin_user, outsider):
    global_role_set(actor=admin_user, user=outsider, role="admin")
    outsider.refresh_from_db()
    assert outsider.is_superuser and outsider.is_staff
    assert global_roles_of(user=outsider) == ["admin"]


def test_refuses_to_demote_the_last_admin(admin_user):
    with pytest.raises(ValidationError, match="last administrator"):
        global_role_set(actor=admin_user, user=admin_user, role=None)
    admin_user.refresh_from_db()
    assert admin_user.is_superuser


def test_allows_demoting_an_admin_while_another_remains(admin_user):
    other = superuser_make("admin2")
    global_role_set(actor=admin_user, user=other, role=None)
    other.refresh_from_db()
    assert not other.is_superuser


def test_setting_the_role_a_user_already_holds_records_nothing(admin_user, auditor):
    before = AuditEvent.objects.count()
    assert global_role_set(actor=admin_user, user=auditor, role="auditor") == ["auditor"]
    assert AuditEvent.objects.count() == before


def test_auditors_and_admins_may_read_the_audit_trail_and_nobody_else(auditor, admin_user, manager):
    access_audit_trail(user=auditor)
    access_audit_trail(user=admin_user)
    with pytest.raises(PermissionDenied):
        access_audit_trail(user=manager)
    from django.contrib.auth.models import AnonymousUser

    assert not can_audit(AnonymousUser())


def test_an_inactive_auditor_loses_the_audit_trail(auditor):
    auditor.is_active = False
    auditor.save()
    with pytest.raises(PermissionDenied):
        access_audit_trail(user=auditor)


def test_auditors_are_members_of_no_project_and_cannot_read_items(project, auditor):
    assert not projects_visible_to(user=auditor).exists()
    with pytest.raises(Http404):
        access_project(user=auditor, project_id=project.pk)


def test_role_grant_command_makes_a_user_auditor_and_audits_the_command(outsider):
    out = io.StringIO()
    call_command("role_grant", user="outsider", role="auditor", stdout=out)
    assert "outsider now holds: auditor." in out.getvalue()
    assert is_auditor(outsider)
    assert AuditEvent.objects.order_by("-seq").first().actor_name == "manage.py role_grant"


def test_role_grant_command_revokes_with_revoke(auditor):
    call_command("role_grant", user="auditor", role="auditor", revoke=True, stdout=io.StringIO())
    assert not is_auditor(auditor)


def test_role_grant_command_names_an_unknown_user():
    with pytest.raises(CommandError, match="no user called 'ghost'"):
        call_command("role_grant", user="ghost", role="auditor")


def test_role_grant_command_will_not_silently_replace_admin_by_auditor(admin_user):
    superuser_make("admin2")
    with pytest.raises(CommandError, match="already admin"):
        call_command("role_grant", user="admin", role="auditor")


def test_role_grant_command_refuses_to_revoke_the_last_admin(admin_user):
    user_make("someone")
    with pytest.raises(CommandError, match="last administrator"):
        call_command("role_grant", user="admin", role="admin", revoke=True)
