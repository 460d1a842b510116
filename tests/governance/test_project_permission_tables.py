"""Project permissions live in guardian's direct foreign-key tables, and the gate reads them in one query."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm, get_objects_for_user, get_perms, remove_perm

from governance.access import (
    ProjectGroupObjectPermission,
    ProjectUserObjectPermission,
    access_project,
    access_project_with_perms,
    has_project_perm,
    project_perms,
)
from governance.roles import ROLE_PERMISSIONS, Perm, ProjectRole
from governance.services.membership import membership_remove, membership_set

pytestmark = pytest.mark.django_db


def test_role_grants_are_stored_in_the_direct_table_and_guardian_reads_them_there(
    project, annotator
):
    stored = set(
        ProjectUserObjectPermission.objects.filter(
            user=annotator, content_object=project
        ).values_list("permission__codename", flat=True)
    )
    assert stored == ROLE_PERMISSIONS[ProjectRole.ANNOTATOR]
    assert not UserObjectPermission.objects.filter(object_pk=str(project.pk)).exists()
    # guardian's own API finds the same grants: it resolves Project to the direct tables.
    assert (
        set(get_perms(annotator, project))
        == stored
        == project_perms(user=annotator, project=project)
    )
    assert list(
        get_objects_for_user(annotator, f"projects.{Perm.ANNOTATE}", accept_global_perms=False)
    ) == [project]


def test_a_role_change_moves_rows_in_the_direct_table(project, manager, annotator):
    membership_set(actor=manager, project=project, user=annotator, role=ProjectRole.REVIEWER)
    assert project_perms(user=annotator, project=project) == ROLE_PERMISSIONS[ProjectRole.REVIEWER]
    membership_remove(actor=manager, project=project, user=annotator)
    assert not ProjectUserObjectPermission.objects.filter(
        user=annotator, content_object=project
    ).exists()
    with pytest.raises(Http404):
        access_project(user=annotator, project_id=project.pk)


def test_deleting_a_project_deletes_its_permission_rows(project, annotator):
    project_id = project.pk
    project.delete()
    assert not ProjectUserObjectPermission.objects.filter(content_object_id=project_id).exists()


def test_permissions_granted_to_a_group_reach_its_members(project, outsider):
    group = Group.objects.create(name="contractors")
    outsider.groups.add(group)
    assign_perm(Perm.VIEW_PROJECT, group, project)
    assign_perm(Perm.ANNOTATE, group, project)
    assert (
        ProjectGroupObjectPermission.objects.filter(group=group, content_object=project).count()
        == 2
    )
    found, perms = access_project_with_perms(
        user=outsider, project_id=project.pk, perm=Perm.ANNOTATE
    )
    assert found == project and perms == {Perm.VIEW_PROJECT, Perm.ANNOTATE}
    assert not has_project_perm(user=outsider, project=project, perm=Perm.EXPORT_DATA)
    remove_perm(Perm.ANNOTATE, group, project)
    with pytest.raises(PermissionDenied):
        access_project(user=outsider, project_id=project.pk, perm=Perm.ANNOTATE)


def test_a_grant_on_one_project_opens_no_other(project, manager, annotator):
    from tests.factories import project_make

    other = project_make(manager=manager, name="Other")
    with pytest.raises(Http404):
        access_project(user=annotator, project_id=other.pk)
    assert project_perms(user=annotator, project=other) == frozenset()


def test_the_gate_returns_the_whole_project_row_and_every_permission_in_one_query(
    project, annotator
):
    with CaptureQueriesContext(connection) as queries:
        found, perms = access_project_with_perms(
            user=annotator, project_id=project.pk, perm=Perm.ANNOTATE
        )
    assert len(queries) == 1
    fresh = type(project).objects.get(pk=project.pk)
    assert {
        field.attname: getattr(found, field.attname) for field in fresh._meta.concrete_fields
    } == {field.attname: getattr(fresh, field.attname) for field in fresh._meta.concrete_fields}
    assert not hasattr(found, "granted")
    assert perms == ROLE_PERMISSIONS[ProjectRole.ANNOTATOR]


def test_a_superuser_gets_every_permission_and_a_missing_project_is_still_404(project, admin_user):
    found, perms = access_project_with_perms(
        user=admin_user, project_id=project.pk, perm=Perm.MANAGE_MEMBERS
    )
    assert found == project and Perm.MANAGE_MEMBERS in perms
    with pytest.raises(Http404):
        access_project_with_perms(user=admin_user, project_id=project.pk + 1000)


@pytest.mark.parametrize("project_id", [2**63, -(2**63) - 1, 10**30])
def test_an_id_no_database_integer_can_hold_is_simply_not_found(annotator, project_id):
    with pytest.raises(Http404):
        access_project(user=annotator, project_id=project_id)
