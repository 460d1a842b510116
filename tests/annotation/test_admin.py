"""Django's admin shows projects and labels but writes none: writes go through the audited services."""

import pytest

pytestmark = pytest.mark.django_db


def test_allows_an_admin_to_view_projects_in_the_admin(client, admin_user, project):
    client.force_login(admin_user)
    assert client.get("/admin/projects/project/").status_code == 200
    assert client.get(f"/admin/projects/project/{project.pk}/change/").status_code == 200


def test_denies_an_admin_to_add_change_or_delete_a_project_in_the_admin(client, admin_user, project):
    client.force_login(admin_user)
    assert client.get("/admin/projects/project/add/").status_code == 403
    response = client.post(f"/admin/projects/project/{project.pk}/change/", {"name": "Renamed"})
    assert response.status_code == 403
    assert client.post(f"/admin/projects/project/{project.pk}/delete/", {"post": "yes"}).status_code == 403
    project.refresh_from_db()
    assert project.name == "Customer feedback"
