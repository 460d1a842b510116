import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from governance.access import access_project, has_project_perm
from governance.models import AuditEvent, Membership
from governance.roles import Perm, ProjectRole
from governance.services.membership import membership_remove, membership_set

pytestmark = pytest.mark.django_db


def test_adding_a_member_grants_the_roles_permissions_and_is_audited(project, manager, outsider):
    membership_set(actor=manager, project=project, user=outsider, role=ProjectRole.ANNOTATOR)
    assert has_project_perm(user=outsider, project=project, perm=Perm.ANNOTATE)
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.details["user"], event.details["new_role"]) == ("membership.add", "outsider", "annotator")


def test_changing_a_role_swaps_the_permissions(project, manager, annotator):
    membership_set(actor=manager, project=project, user=annotator, role=ProjectRole.ML_ENGINEER)
    assert has_project_perm(user=annotator, project=project, perm=Perm.EXPORT_DATA)
    assert not has_project_perm(user=annotator, project=project, perm=Perm.ANNOTATE)
    assert AuditEvent.objects.order_by("-seq").first().details["old_role"] == "annotator"


def test_removing_a_member_takes_away_all_access(project, manager, annotator):
    membership_remove(actor=manager, project=project, user=annotator)
    assert not Membership.objects.filter(project=project, user=annotator).exists()
    with pytest.raises(Http404):
        access_project(user=annotator, project_id=project.pk)
    assert AuditEvent.objects.order_by("-seq").first().action == "membership.remove"


def test_an_unknown_role_is_refused_with_the_allowed_choices(project, manager, outsider):
    with pytest.raises(ValidationError, match="Unknown role 'owner'"):
        membership_set(actor=manager, project=project, user=outsider, role="owner")


def test_removing_someone_who_is_not_a_member_says_so(project, manager, outsider):
    with pytest.raises(ValidationError, match="not a member"):
        membership_remove(actor=manager, project=project, user=outsider)


def test_refuses_to_demote_the_last_manager(project, manager):
    with pytest.raises(ValidationError, match="last manager"):
        membership_set(actor=manager, project=project, user=manager, role=ProjectRole.ANNOTATOR)
    assert has_project_perm(user=manager, project=project, perm=Perm.MANAGE_MEMBERS)


def test_refuses_to_remove_the_last_manager(project, manager, admin_user):
    with pytest.raises(ValidationError, match="last manager"):
        membership_remove(actor=admin_user, project=project, user=manager)
    assert Membership.objects.filter(project=project, user=manager).exists()


def test_allows_a_manager_to_step_down_once_another_manager_exists(project, manager, reviewer):
    membership_set(actor=manager, project=project, user=reviewer, role=ProjectRole.MANAGER)
    membership_set(actor=manager, project=project, user=manager, role=ProjectRole.ANNOTATOR)
    assert not has_project_perm(user=manager, project=project, perm=Perm.MANAGE_MEMBERS)
