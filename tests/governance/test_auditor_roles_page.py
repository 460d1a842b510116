"""The roles page: every project's members for auditors and admins; global roles set by admins."""

import pytest
from django.urls import reverse

from governance.access import is_auditor
from governance.models import AuditEvent
from tests.annotation.views.support import client_for
from tests.factories import project_make, user_make

pytestmark = pytest.mark.django_db

ROLES_URL = reverse("governance:roles")
GLOBAL_URL = reverse("governance:global-role-set")


def test_shows_an_auditor_every_projects_members_and_roles(project, auditor):
    other = project_make(manager=user_make("elsewhere"), name="Other team")
    response = client_for(auditor).get(ROLES_URL)
    assert response.status_code == 200
    projects = {
        p.pk: [(m.user.username, m.role) for m in p.memberships.all()]
        for p in response.context["projects"]
    }
    assert ("annotator2", "annotator") in projects[project.pk]
    assert projects[other.pk] == [("elsewhere", "manager")]
    assert "Other team" in response.text and "Customer feedback" in response.text


def test_reads_no_item_text(project, auditor):
    text = client_for(auditor).get(ROLES_URL).text
    assert "support team solved my problem" not in text


def test_lists_who_holds_a_global_role(project, auditor, admin_user):
    holders = {
        u.username: (u.is_superuser, u.is_auditor)
        for u in client_for(auditor).get(ROLES_URL).context["global_holders"]
    }
    assert holders == {"admin": (True, False), "auditor": (False, True)}


def test_offers_the_global_role_form_to_admins_only(auditor, admin_user):
    assert 'id="global-role-form"' in client_for(admin_user).get(ROLES_URL).text
    assert 'id="global-role-form"' not in client_for(auditor).get(ROLES_URL).text


@pytest.mark.parametrize("role", ["manager", "annotator", "outsider"])
def test_denies_everyone_else_the_roles_page(project, request, role):
    assert client_for(request.getfixturevalue(role)).get(ROLES_URL).status_code == 403


def test_allows_an_admin_to_make_someone_auditor_from_the_page(admin_user, outsider):
    response = client_for(admin_user).post(GLOBAL_URL, {"username": "outsider", "role": "auditor"})
    assert response.status_code == 302 and response["Location"] == ROLES_URL
    assert is_auditor(outsider)
    assert AuditEvent.objects.order_by("-seq").first().action == "role.global_change"


def test_denies_an_auditor_to_grant_global_roles(auditor, outsider):
    assert (
        client_for(auditor)
        .post(GLOBAL_URL, {"username": "outsider", "role": "auditor"})
        .status_code
        == 403
    )
    assert not is_auditor(outsider)


def test_shows_the_last_admin_rule_as_a_form_error(admin_user):
    response = client_for(admin_user).post(GLOBAL_URL, {"username": "admin", "role": ""})
    assert response.status_code == 422
    assert "admin is the last administrator" in response.text
