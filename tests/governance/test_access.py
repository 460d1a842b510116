import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from governance.access import (
    access_project,
    can_create_project,
    has_project_perm,
    projects_visible_to,
)
from governance.roles import ROLE_PERMISSIONS, Perm, ProjectRole
from tests.factories import project_make

pytestmark = pytest.mark.django_db


def test_access_project_returns_the_project_to_a_member_with_the_permission(project, annotator):
    assert access_project(user=annotator, project_id=project.pk, perm=Perm.ANNOTATE) == project


def test_access_project_hides_the_project_from_an_outsider_with_404(project, outsider):
    with pytest.raises(Http404):
        access_project(user=outsider, project_id=project.pk)


def test_access_project_refuses_a_member_without_the_permission_with_403(project, annotator):
    with pytest.raises(PermissionDenied, match="export_data"):
        access_project(user=annotator, project_id=project.pk, perm=Perm.EXPORT_DATA)


def test_access_project_answers_404_for_a_project_that_does_not_exist(annotator):
    with pytest.raises(Http404):
        access_project(user=annotator, project_id=999_999)


def test_access_project_answers_404_for_a_malformed_id(annotator):
    with pytest.raises(Http404):
        access_project(user=annotator, project_id="1 OR 1=1")


def test_anonymous_users_have_no_permission_on_any_project(project):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        access_project(user=AnonymousUser(), project_id=project.pk)


def test_inactive_users_lose_access_to_their_projects(project, annotator):
    annotator.is_active = False
    annotator.save()
    with pytest.raises(Http404):
        access_project(user=annotator, project_id=project.pk)


@pytest.mark.parametrize("role", list(ProjectRole))
def test_each_role_holds_exactly_the_permissions_of_the_role_table(manager, outsider, role):
    project = project_make(manager=manager, members={outsider: role})
    for perm in set().union(*ROLE_PERMISSIONS.values()):
        assert has_project_perm(user=outsider, project=project, perm=perm) == (perm in ROLE_PERMISSIONS[role])


def test_superusers_hold_every_project_permission(project, admin_user):
    assert access_project(user=admin_user, project_id=project.pk, perm=Perm.MANAGE_MEMBERS) == project


def test_projects_visible_to_lists_only_the_users_projects(project, manager, annotator, outsider):
    other = project_make(manager=outsider, name="Someone else's")
    assert list(projects_visible_to(user=annotator)) == [project]
    assert list(projects_visible_to(user=outsider)) == [other]


def test_only_superusers_and_holders_of_add_project_may_create_projects(annotator, admin_user):
    from django.contrib.auth.models import Permission

    assert not can_create_project(user=annotator)
    assert can_create_project(user=admin_user)
    annotator.user_permissions.add(Permission.objects.get(codename="add_project"))
    annotator = type(annotator).objects.get(pk=annotator.pk)  # drop the permission cache
    assert can_create_project(user=annotator)
