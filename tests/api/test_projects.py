import pytest

from governance.access import has_project_perm
from governance.roles import Perm
from projects.models import Project
from tests.factories import answer_submit

pytestmark = pytest.mark.django_db

NEW_PROJECT = {
    "name": "Support tickets",
    "task_type": "multi_label",
    "description": "Tickets from the help desk.",
    "guidelines": "Tick every topic the ticket mentions.",
    "labels": [
        {"name": "billing", "color": "#1f77b4"},
        {"name": "login", "hotkey": "l", "description": "Sign-in"},
    ],
    "overlap": 2,
}


def test_lists_only_the_projects_the_user_belongs_to(
    project, foreign_project, annotator, api_client
):
    response = api_client(annotator).get("/api/projects/")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert [row["name"] for row in response.json()["results"]] == ["Customer feedback"]


def test_shows_an_outsider_an_empty_list_without_counting_other_projects(
    project, outsider, api_client
):
    response = api_client(outsider).get("/api/projects/")
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_refuses_an_anonymous_project_list(api_client):
    assert api_client(None).get("/api/projects/").status_code == 401


def test_allows_a_user_with_the_create_right_to_create_a_project(creator, api_client):
    response = api_client(creator).post("/api/projects/", NEW_PROJECT, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["task_type"] == "multi_label" and body["overlap"] == 2
    assert [(label["name"], label["hotkey"]) for label in body["labels"]] == [
        ("billing", "1"),
        ("login", "l"),
    ]
    assert body["progress"] == {"total": 0, "done": 0, "remaining": 0, "mine": 0, "percent": 0}
    project = Project.objects.get(pk=body["id"])
    assert has_project_perm(user=creator, project=project, perm=Perm.MANAGE_MEMBERS)


def test_denies_a_manager_without_the_create_right_to_create_a_project(manager, api_client):
    response = api_client(manager).post("/api/projects/", NEW_PROJECT, format="json")
    assert response.status_code == 403
    assert not Project.objects.filter(name="Support tickets").exists()


def test_refuses_an_anonymous_project_creation(api_client):
    assert api_client(None).post("/api/projects/", NEW_PROJECT, format="json").status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"task_type": "poetry"}, "task_type"),
        ({"overlap": 0}, "overlap"),
        ({"labels": [{"name": "same"}, {"name": "same"}]}, "labels"),
        ({"labels": [{"name": "a", "color": "red"}]}, "color"),
    ],
    ids=["blank name", "unknown task type", "zero overlap", "duplicate labels", "bad colour"],
)
def test_rejects_an_invalid_new_project_naming_the_field(creator, api_client, change, field):
    response = api_client(creator).post("/api/projects/", {**NEW_PROJECT, **change}, format="json")
    assert response.status_code == 400
    assert field in str(response.json())
    assert not Project.objects.filter(created_by=creator).exists()


def test_shows_a_member_the_project_with_labels_and_progress(project, annotator, api_client):
    response = api_client(annotator).get(f"/api/projects/{project.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["guidelines"] == "Label the feeling the writer expresses."
    assert [label["name"] for label in body["labels"]] == ["positive", "negative", "neutral"]
    assert body["progress"] == {"total": 6, "done": 0, "remaining": 6, "mine": 0, "percent": 0}


def test_allows_the_manager_to_rename_the_project(project, manager, api_client):
    response = api_client(manager).patch(
        f"/api/projects/{project.pk}/", {"name": "Feedback 2025"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Feedback 2025"
    project.refresh_from_db()
    assert project.name == "Feedback 2025" and project.task_type == "single_label"


def test_denies_an_annotator_to_change_the_project(project, annotator, api_client):
    response = api_client(annotator).patch(
        f"/api/projects/{project.pk}/", {"name": "Mine now"}, format="json"
    )
    assert response.status_code == 403
    project.refresh_from_db()
    assert project.name == "Customer feedback"


def test_refuses_to_change_the_task_type_once_items_have_annotations(
    project, manager, annotator, api_client
):
    answer_submit(actor=annotator, item=project.items.first(), value={"labels": ["positive"]})
    response = api_client(manager).patch(
        f"/api/projects/{project.pk}/", {"task_type": "spans"}, format="json"
    )
    assert response.status_code == 400
    assert "task_type" in response.json()
