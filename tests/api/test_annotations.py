import pytest

from annotation.models import Annotation, AnnotationStatus
from tests.api.conftest import prediction_make
from tests.factories import answer_submit

pytestmark = pytest.mark.django_db


def _next(client, project):
    return client.post(f"/api/projects/{project.pk}/next/")


def _submit(client, project, item_id, value, **extra):
    return client.post(
        f"/api/projects/{project.pk}/items/{item_id}/annotations/",
        {"value": value, **extra},
        format="json",
    )


def test_hands_an_annotator_the_next_item_with_progress(project, annotator, api_client):
    response = _next(api_client(annotator), project)
    assert response.status_code == 200
    body = response.json()
    assert body["item"]["id"] == project.items.order_by("id").first().pk
    assert set(body["item"]) == {"id", "external_id", "text", "meta"}
    assert body["suggestion"] is None
    assert body["progress"]["total"] == 6 and body["progress"]["remaining"] == 6


def test_includes_the_latest_prediction_as_a_suggestion(project, annotator, api_client):
    item = project.items.order_by("id").first()
    prediction_make(item=item, labels=["negative"], score=0.4, model_version="old@1")
    latest = prediction_make(item=item, labels=["positive"], score=0.8, model_version="new@2")
    response = _next(api_client(annotator), project)
    assert response.json()["suggestion"] == {
        "id": latest.pk,
        "value": {"labels": ["positive"]},
        "score": 0.8,
        "model_version": "new@2",
    }


def test_answers_204_when_nothing_is_left_for_the_annotator(project, annotator, api_client):
    for item in project.items.all():
        answer_submit(actor=annotator, item=item, value={"labels": ["neutral"]})
    response = _next(api_client(annotator), project)
    assert response.status_code == 204
    assert response.content == b""


def test_denies_an_ml_engineer_to_take_items_from_the_queue(project, ml_engineer, api_client):
    assert _next(api_client(ml_engineer), project).status_code == 403


def test_allows_an_annotator_to_submit_an_answer(project, annotator, api_client):
    client = api_client(annotator)
    item_id = _next(client, project).json()["item"]["id"]
    response = _submit(client, project, item_id, {"labels": ["positive"]}, lead_time_ms=2300)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "submitted" and response.json()["annotator"] == "annotator"
    annotation = Annotation.objects.get(item_id=item_id, annotator=annotator)
    assert annotation.value == {"labels": ["positive"]} and annotation.lead_time_ms == 2300
    assert project.items.get(pk=item_id).is_done


def test_records_which_suggestion_the_answer_started_from(project, annotator, api_client):
    client = api_client(annotator)
    item = project.items.order_by("id").first()
    prediction = prediction_make(item=item, labels=["negative"])
    assert _next(client, project).json()["item"]["id"] == item.pk
    response = _submit(
        client, project, item.pk, {"labels": ["positive"]}, prediction_id=prediction.pk
    )
    assert response.status_code == 201
    assert response.json()["prediction"] == prediction.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": {"labels": ["sarcastic"]}}, "value"),
        ({"value": {"labels": ["positive", "negative"]}}, "value"),
        ({"value": "positive"}, "value"),
        ({"value": {"labels": ["positive"]}, "lead_time_ms": -5}, "lead_time_ms"),
        ({"value": {"labels": ["positive"]}, "prediction_id": 999999}, "prediction_id"),
        ({}, "value"),
    ],
    ids=[
        "unknown label",
        "two labels on single-label",
        "not an object",
        "negative lead time",
        "foreign prediction",
        "missing value",
    ],
)
def test_rejects_an_invalid_answer_naming_the_field(project, annotator, api_client, body, field):
    item = project.items.order_by("id").first()
    client = api_client(annotator)
    assert _next(client, project).json()["item"]["id"] == item.pk
    response = client.post(
        f"/api/projects/{project.pk}/items/{item.pk}/annotations/", body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not Annotation.objects.filter(item=item).exists()


def test_hides_an_item_reserved_by_someone_else_from_submission(
    project, annotator, second_annotator, api_client
):
    held = _next(api_client(annotator), project).json()["item"]
    response = _submit(api_client(second_annotator), project, held["id"], {"labels": ["positive"]})
    assert response.status_code == 404
    assert held["text"] not in response.text


def test_hides_an_item_of_another_project_from_submission(
    project, foreign_project, annotator, api_client
):
    foreign_item = foreign_project.items.first()
    assert (
        _submit(
            api_client(annotator), project, foreign_item.pk, {"labels": ["positive"]}
        ).status_code
        == 404
    )


def test_denies_an_ml_engineer_to_submit_an_answer(project, ml_engineer, api_client):
    item = project.items.first()
    assert (
        _submit(api_client(ml_engineer), project, item.pk, {"labels": ["positive"]}).status_code
        == 403
    )
    assert not Annotation.objects.exists()


def test_allows_an_annotator_to_skip_an_item(project, annotator, api_client):
    client = api_client(annotator)
    item_id = _next(client, project).json()["item"]["id"]
    response = client.post(
        f"/api/projects/{project.pk}/items/{item_id}/skip/",
        {"reason": "Not English"},
        format="json",
    )
    assert response.status_code == 201
    assert (
        response.json()["status"] == "skipped" and response.json()["skip_reason"] == "Not English"
    )
    assert _next(client, project).json()["item"]["id"] != item_id


def test_refuses_to_skip_an_item_already_submitted(project, annotator, api_client):
    item = project.items.first()
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    response = api_client(annotator).post(
        f"/api/projects/{project.pk}/items/{item.pk}/skip/", {}, format="json"
    )
    assert response.status_code == 400
    assert "item" in response.json()


def test_denies_an_ml_engineer_to_skip_an_item(project, ml_engineer, api_client):
    item = project.items.first()
    assert (
        api_client(ml_engineer)
        .post(f"/api/projects/{project.pk}/items/{item.pk}/skip/")
        .status_code
        == 403
    )


def test_shows_an_annotator_only_their_own_annotations(
    project, annotator, second_annotator, api_client
):
    first, second = project.items.order_by("id")[:2]
    answer_submit(actor=annotator, item=first, value={"labels": ["positive"]})
    answer_submit(actor=second_annotator, item=second, value={"labels": ["negative"]})
    response = api_client(annotator).get(f"/api/projects/{project.pk}/annotations/")
    assert response.status_code == 200
    assert [row["annotator"] for row in response.json()["results"]] == ["annotator"]


def test_shows_a_reviewer_everyones_annotations(
    project, annotator, second_annotator, reviewer, api_client
):
    first, second = project.items.order_by("id")[:2]
    answer_submit(actor=annotator, item=first, value={"labels": ["positive"]})
    answer_submit(actor=second_annotator, item=second, value={"labels": ["negative"]})
    response = api_client(reviewer).get(f"/api/projects/{project.pk}/annotations/")
    rows = response.json()["results"]
    assert [(row["annotator"], row["value"]) for row in rows] == [
        ("annotator", {"labels": ["positive"]}),
        ("annotator2", {"labels": ["negative"]}),
    ]
    assert all(row["status"] == AnnotationStatus.SUBMITTED for row in rows)


def test_denies_an_outsider_the_annotation_list(project, outsider, api_client):
    assert api_client(outsider).get(f"/api/projects/{project.pk}/annotations/").status_code == 404
