import pytest

from tests.factories import answer_submit

pytestmark = pytest.mark.django_db


def test_lists_the_project_labels_in_order(project, annotator, api_client):
    response = api_client(annotator).get(f"/api/projects/{project.pk}/labels/")
    assert response.status_code == 200
    assert [(label["name"], label["hotkey"]) for label in response.json()] == [
        ("positive", "1"),
        ("negative", "2"),
        ("neutral", "3"),
    ]


def test_allows_the_manager_to_add_a_label(project, manager, api_client):
    response = api_client(manager).post(
        f"/api/projects/{project.pk}/labels/",
        {"name": "mixed", "hotkey": "4", "color": "#9467bd"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["order"] == 3
    assert project.labels.filter(name="mixed", hotkey="4").exists()


def test_rejects_a_label_whose_name_exists_already(project, manager, api_client):
    response = api_client(manager).post(
        f"/api/projects/{project.pk}/labels/", {"name": "positive"}, format="json"
    )
    assert response.status_code == 400
    assert "Name already exists" in response.json()["non_field_errors"][0]


def test_denies_an_annotator_to_add_a_label(project, annotator, api_client):
    response = api_client(annotator).post(
        f"/api/projects/{project.pk}/labels/", {"name": "mixed"}, format="json"
    )
    assert response.status_code == 403


def test_allows_the_manager_to_change_a_label(project, manager, api_client):
    label = project.labels.get(name="neutral")
    response = api_client(manager).patch(
        f"/api/projects/{project.pk}/labels/{label.pk}/",
        {"description": "No feeling."},
        format="json",
    )
    assert response.status_code == 200
    label.refresh_from_db()
    assert label.description == "No feeling." and label.name == "neutral"


def test_hides_a_label_of_another_project_behind_404(project, foreign_project, manager, api_client):
    foreign_label = foreign_project.labels.first()
    client = api_client(manager)
    path = f"/api/projects/{project.pk}/labels/{foreign_label.pk}/"
    assert client.patch(path, {"name": "stolen"}, format="json").status_code == 404
    assert client.delete(path).status_code == 404
    foreign_label.refresh_from_db()
    assert foreign_label.name != "stolen"


def test_allows_the_manager_to_delete_a_label_before_annotations_exist(
    project, manager, api_client
):
    label = project.labels.get(name="neutral")
    assert (
        api_client(manager).delete(f"/api/projects/{project.pk}/labels/{label.pk}/").status_code
        == 204
    )
    assert not project.labels.filter(name="neutral").exists()


def test_refuses_to_delete_a_label_once_the_project_has_annotations(
    project, manager, annotator, api_client
):
    answer_submit(actor=annotator, item=project.items.first(), value={"labels": ["positive"]})
    label = project.labels.get(name="neutral")
    response = api_client(manager).delete(f"/api/projects/{project.pk}/labels/{label.pk}/")
    assert response.status_code == 400
    assert "cannot be deleted" in response.json()["label"][0]


def test_denies_a_reviewer_to_delete_a_label(project, reviewer, api_client):
    label = project.labels.get(name="neutral")
    assert (
        api_client(reviewer).delete(f"/api/projects/{project.pk}/labels/{label.pk}/").status_code
        == 403
    )
    assert project.labels.filter(pk=label.pk).exists()
