import pytest

from annotation.models import AnnotationStatus, FinalAnnotation
from annotation.services.annotations import annotation_submit
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from tests.api.conftest import prediction_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def disputed(project, manager, annotator, second_annotator):
    project_update(actor=manager, project=project, overlap=2, gold_rate=0.0)
    item = queue_next_item(actor=annotator, project=project)
    queue_next_item(actor=second_annotator, project=project)
    annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    annotation_submit(actor=second_annotator, item=item, value={"labels": ["negative"]})
    return item


def test_allows_a_reviewer_to_take_the_next_item_with_every_answer_and_a_proposal(project, reviewer, api_client, disputed):
    response = api_client(reviewer).post(f"/api/projects/{project.pk}/review/next/")
    assert response.status_code == 200
    body = response.json()
    assert body["item"]["id"] == disputed.pk
    assert sorted(answer["value"]["labels"][0] for answer in body["annotations"]) == ["negative", "positive"]
    assert body["proposal"] == {"labels": ["positive"]}


def test_answers_204_when_nothing_waits_for_review(project, reviewer, api_client):
    assert api_client(reviewer).post(f"/api/projects/{project.pk}/review/next/").status_code == 204


def test_denies_an_annotator_the_review_stream(project, annotator, api_client, disputed):
    assert api_client(annotator).post(f"/api/projects/{project.pk}/review/next/").status_code == 403


def test_allows_a_reviewer_to_resolve_an_item_into_its_final_answer(project, reviewer, api_client, disputed):
    url = f"/api/projects/{project.pk}/items/{disputed.pk}/review/resolve/"
    response = api_client(reviewer).post(url, {"value": {"labels": ["negative"]}, "comment": "rule 2"}, format="json")
    assert response.status_code == 200
    assert response.json()["source"] == "review" and response.json()["unanimous"] is False
    assert FinalAnnotation.objects.get(item=disputed).value == {"labels": ["negative"]}


def test_an_invalid_final_answer_is_refused_with_the_reason(project, reviewer, api_client, disputed):
    url = f"/api/projects/{project.pk}/items/{disputed.pk}/review/resolve/"
    response = api_client(reviewer).post(url, {"value": {"labels": ["joyful"]}}, format="json")
    assert response.status_code == 400 and "joyful" in str(response.json())


def test_allows_a_reviewer_to_reject_one_annotation_with_a_comment(project, reviewer, annotator, api_client, disputed):
    target = disputed.annotations.get(annotator=annotator)
    url = f"/api/projects/{project.pk}/items/{disputed.pk}/review/reject/"
    response = api_client(reviewer).post(url, {"comment": "see rule 4", "annotation_ids": [target.pk]}, format="json")
    assert response.status_code == 200 and [answer["id"] for answer in response.json()] == [target.pk]
    target.refresh_from_db()
    assert target.status == AnnotationStatus.REJECTED


def test_denies_an_ml_engineer_rejecting_annotations(project, ml_engineer, api_client, disputed):
    url = f"/api/projects/{project.pk}/items/{disputed.pk}/review/reject/"
    assert api_client(ml_engineer).post(url, {"comment": "no"}, format="json").status_code == 403


def test_lists_final_answers_for_those_who_may_see_annotations(project, reviewer, ml_engineer, api_client, disputed):
    api_client(reviewer).post(
        f"/api/projects/{project.pk}/items/{disputed.pk}/review/resolve/", {"value": {"labels": ["positive"]}}, format="json"
    )
    response = api_client(ml_engineer).get(f"/api/projects/{project.pk}/finals/")
    assert response.status_code == 200
    assert [(row["item"], row["value"], row["decided_by"]) for row in response.json()["results"]] == [
        (disputed.pk, {"labels": ["positive"]}, "reviewer")
    ]


def test_denies_an_annotator_the_final_answers(project, annotator, api_client):
    assert api_client(annotator).get(f"/api/projects/{project.pk}/finals/").status_code == 403


def test_a_manager_sets_overlap_review_policy_and_gold_rate_through_the_api(project, manager, api_client):
    response = api_client(manager).patch(
        f"/api/projects/{project.pk}/", {"overlap": 3, "review_policy": "all", "gold_rate": 0.2}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["overlap"], response.json()["review_policy"], response.json()["gold_rate"]) == (3, "all", 0.2)


def test_submitting_through_the_api_records_the_suggestion_outcome_and_comment(project, annotator, api_client):
    item = project.items.order_by("id").first()
    prediction = prediction_make(item=item, labels=["positive"], score=0.8, model_version="m@1")
    client = api_client(annotator)
    client.post(f"/api/projects/{project.pk}/next/")
    response = client.post(
        f"/api/projects/{project.pk}/items/{item.pk}/annotations/",
        {"value": {"labels": ["positive"]}, "prediction_id": prediction.pk, "comment": "easy"},
        format="json",
    )
    assert response.status_code == 201
    assert (response.json()["suggestion_outcome"], response.json()["comment"]) == ("accepted", "easy")
