import pytest

from governance.models import Membership

pytestmark = pytest.mark.django_db


def test_lists_members_and_roles_for_the_manager(project, manager, api_client):
    response = api_client(manager).get(f"/api/projects/{project.pk}/members/")
    assert response.status_code == 200
    assert [(row["username"], row["role"]) for row in response.json()] == [
        ("manager", "manager"),
        ("annotator", "annotator"),
        ("annotator2", "annotator"),
        ("reviewer", "reviewer"),
        ("ml_engineer", "ml_engineer"),
    ]


def test_denies_an_annotator_the_member_list(project, annotator, api_client):
    assert api_client(annotator).get(f"/api/projects/{project.pk}/members/").status_code == 403


def test_allows_the_manager_to_add_a_member_who_can_then_see_the_project(
    project, manager, outsider, api_client
):
    response = api_client(manager).post(
        f"/api/projects/{project.pk}/members/",
        {"username": "outsider", "role": "reviewer"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["role"] == "reviewer" and response.json()["user_id"] == outsider.pk
    assert api_client(outsider).get(f"/api/projects/{project.pk}/items/").status_code == 200


def test_allows_the_manager_to_change_a_members_role(project, manager, annotator, api_client):
    response = api_client(manager).post(
        f"/api/projects/{project.pk}/members/",
        {"username": "annotator", "role": "reviewer"},
        format="json",
    )
    assert response.status_code == 201
    assert Membership.objects.get(project=project, user=annotator).role == "reviewer"
    assert api_client(annotator).get(f"/api/projects/{project.pk}/items/").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "nobody", "role": "annotator"}, "username"),
        ({"username": "outsider", "role": "owner"}, "role"),
    ],
    ids=["unknown user", "unknown role"],
)
def test_rejects_an_invalid_membership_naming_the_field(
    project, manager, outsider, api_client, body, field
):
    response = api_client(manager).post(f"/api/projects/{project.pk}/members/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Membership.objects.filter(project=project, user=outsider).exists()


def test_denies_a_reviewer_to_add_members(project, reviewer, outsider, api_client):
    response = api_client(reviewer).post(
        f"/api/projects/{project.pk}/members/",
        {"username": "outsider", "role": "manager"},
        format="json",
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(project=project, user=outsider).exists()


def test_allows_the_manager_to_remove_a_member_who_then_loses_access(
    project, manager, annotator, api_client
):
    assert (
        api_client(manager)
        .delete(f"/api/projects/{project.pk}/members/{annotator.pk}/")
        .status_code
        == 204
    )
    assert api_client(annotator).get(f"/api/projects/{project.pk}/").status_code == 404


def test_answers_404_when_removing_someone_who_is_not_a_member(
    project, manager, outsider, api_client
):
    assert (
        api_client(manager).delete(f"/api/projects/{project.pk}/members/{outsider.pk}/").status_code
        == 404
    )


def test_denies_an_ml_engineer_to_remove_members(project, ml_engineer, annotator, api_client):
    assert (
        api_client(ml_engineer)
        .delete(f"/api/projects/{project.pk}/members/{annotator.pk}/")
        .status_code
        == 403
    )
    assert Membership.objects.filter(project=project, user=annotator).exists()
