"""The members page: managers list, add, re-role and remove members; nobody else may."""

import pytest
from django.urls import reverse

from governance.access import has_project_perm
from governance.models import AuditEvent, Membership
from governance.roles import Perm, ProjectRole
from tests.annotation.views.support import HTMX, client_for
from tests.factories import project_make, user_make

pytestmark = pytest.mark.django_db


def _urls(project):
    return {
        "list": reverse("members:list", args=[project.pk]),
        "set": reverse("members:set", args=[project.pk]),
    }


def _remove_url(project, user):
    return reverse("members:remove", args=[project.pk, user.pk])


def test_lists_members_and_their_roles_for_the_manager(project, manager):
    response = client_for(manager).get(_urls(project)["list"])
    assert response.status_code == 200
    listed = [(m.user.username, m.role) for m in response.context["members"]]
    assert ("annotator", "annotator") in listed and ("manager", "manager") in listed
    assert len(listed) == 5


def test_the_project_page_links_to_members_only_for_managers(project, manager, reviewer):
    detail = reverse("annotation:project-detail", args=[project.pk]) + "?section=settings"
    assert 'id="members-link"' in client_for(manager).get(detail).text
    assert 'id="members-link"' not in client_for(reviewer).get(detail).text


@pytest.mark.parametrize("role", ["annotator", "reviewer", "ml_engineer"])
def test_denies_members_without_manage_members_the_page(project, request, role):
    assert client_for(request.getfixturevalue(role)).get(_urls(project)["list"]).status_code == 403


def test_hides_the_page_from_outsiders_and_auditors_with_404(project, outsider, auditor):
    assert client_for(outsider).get(_urls(project)["list"]).status_code == 404
    assert client_for(auditor).get(_urls(project)["list"]).status_code == 404


def test_allows_the_manager_to_add_a_member_with_htmx_and_audits_it(project, manager, outsider):
    response = client_for(manager).post(
        _urls(project)["set"], {"username": "outsider", "role": "reviewer"}, **HTMX
    )
    assert response.status_code == 200
    assert 'id="members"' in response.text and "outsider" in response.text
    assert has_project_perm(user=outsider, project=project, perm=Perm.BROWSE_ITEMS)
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.actor_name, event.details["new_role"]) == (
        "membership.add",
        "manager",
        "reviewer",
    )


def test_adding_without_htmx_redirects_back_to_the_page(project, manager, outsider):
    response = client_for(manager).post(
        _urls(project)["set"], {"username": "outsider", "role": "annotator"}
    )
    assert response.status_code == 302 and response["Location"] == _urls(project)["list"]


def test_allows_the_manager_to_change_a_role(project, manager, annotator):
    client_for(manager).post(
        _urls(project)["set"], {"username": "annotator", "role": "ml_engineer"}, **HTMX
    )
    assert Membership.objects.get(project=project, user=annotator).role == ProjectRole.ML_ENGINEER
    assert has_project_perm(user=annotator, project=project, perm=Perm.EXPORT_DATA)


def test_names_an_unknown_user_in_the_form(project, manager):
    response = client_for(manager).post(
        _urls(project)["set"], {"username": "ghost", "role": "annotator"}, **HTMX
    )
    assert response.status_code == 422
    assert "There is no active user called &#x27;ghost&#x27;." in response.text


def test_refuses_an_unknown_role_in_the_form(project, manager, outsider):
    response = client_for(manager).post(
        _urls(project)["set"], {"username": "outsider", "role": "owner"}, **HTMX
    )
    assert response.status_code == 422
    assert not Membership.objects.filter(project=project, user=outsider).exists()


def test_allows_the_manager_to_remove_a_member_who_then_loses_access(project, manager, annotator):
    response = client_for(manager).post(_remove_url(project, annotator), **HTMX)
    assert response.status_code == 200 and "annotator" not in [
        m.user.username for m in response.context["members"]
    ]
    assert not has_project_perm(user=annotator, project=project, perm=Perm.VIEW_PROJECT)
    assert AuditEvent.objects.order_by("-seq").first().action == "membership.remove"


def test_refuses_to_demote_the_last_manager_with_a_clear_error(project, manager):
    response = client_for(manager).post(
        _urls(project)["set"], {"username": "manager", "role": "annotator"}, **HTMX
    )
    assert response.status_code == 422
    assert "the last manager of this project" in response.text
    assert Membership.objects.get(project=project, user=manager).role == ProjectRole.MANAGER


def test_refuses_to_remove_the_last_manager_with_a_clear_error(project, manager):
    response = client_for(manager).post(_remove_url(project, manager), **HTMX)
    assert response.status_code == 422
    assert "the last manager of this project" in response.text
    assert Membership.objects.filter(project=project, user=manager).exists()


@pytest.mark.parametrize("role", ["annotator", "reviewer", "ml_engineer"])
def test_denies_members_without_manage_members_to_change_members(
    project, request, role, outsider, second_annotator
):
    client = client_for(request.getfixturevalue(role))
    assert (
        client.post(_urls(project)["set"], {"username": "outsider", "role": "manager"}).status_code
        == 403
    )
    assert client.post(_remove_url(project, second_annotator)).status_code == 403
    assert not Membership.objects.filter(project=project, user=outsider).exists()
    assert Membership.objects.filter(project=project, user=second_annotator).exists()


def test_removing_a_member_of_another_project_is_not_found(project, manager):
    stranger = user_make("stranger")
    project_make(manager=stranger)
    assert client_for(manager).post(_remove_url(project, stranger)).status_code == 404


def test_a_manager_of_one_project_cannot_manage_another(project, manager, outsider):
    foreign = project_make(manager=user_make("foreign_manager"))
    response = client_for(manager).post(
        _urls(foreign)["set"], {"username": "outsider", "role": "manager"}
    )
    assert response.status_code == 404
    assert not Membership.objects.filter(project=foreign, user=outsider).exists()


def test_the_add_member_form_offers_the_least_privileged_role_first(project, manager):
    form = client_for(manager).get(_urls(project)["list"]).context["form"]
    assert form["role"].value() == ProjectRole.ANNOTATOR
