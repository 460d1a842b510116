import pytest

from common.jobs.models import JobStatus
from tests.api.conftest import prediction_make
from training.models import PreannotationJob
from training.services.preannotation import preannotation_request

pytestmark = pytest.mark.django_db


def test_lists_predictions_for_a_reviewer(project, reviewer, api_client):
    item = project.items.order_by("id").first()
    prediction = prediction_make(item=item, labels=["positive"], score=0.75)
    response = api_client(reviewer).get(f"/api/projects/{project.pk}/predictions/")
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": prediction.pk,
            "item": item.pk,
            "model_version": "test-model@1",
            "value": {"labels": ["positive"]},
            "score": 0.75,
            "created_at": response.json()["results"][0]["created_at"],
        }
    ]


def test_denies_an_annotator_the_list_of_all_predictions(project, annotator, api_client):
    # Predictions of items not queued to them would reveal which items exist; the queue shows theirs.
    prediction_make(item=project.items.order_by("id").first(), labels=["positive"])
    assert api_client(annotator).get(f"/api/projects/{project.pk}/predictions/").status_code == 403


def test_denies_an_outsider_the_predictions(project, outsider, api_client):
    assert api_client(outsider).get(f"/api/projects/{project.pk}/predictions/").status_code == 404


def test_queues_pre_annotation_for_an_ml_engineer_without_running_the_model(
    project, ml_engineer, api_client
):
    response = api_client(ml_engineer).post(f"/api/projects/{project.pk}/preannotate/")
    assert response.status_code == 202
    job = PreannotationJob.objects.get(project=project)
    assert response.json()["job"]["id"] == job.pk
    assert response.json()["job"]["status"] == JobStatus.QUEUED
    assert response["Location"] == f"/api/projects/{project.pk}/preannotate/{job.pk}/"
    assert not project.predictions.exists()


def test_returns_the_active_job_instead_of_queueing_a_second(
    project, manager, ml_engineer, api_client
):
    first = api_client(manager).post(f"/api/projects/{project.pk}/preannotate/").json()["job"]["id"]
    second = (
        api_client(ml_engineer).post(f"/api/projects/{project.pk}/preannotate/").json()["job"]["id"]
    )
    assert first == second
    assert PreannotationJob.objects.filter(project=project).count() == 1


def test_denies_an_annotator_to_start_pre_annotation(project, annotator, api_client):
    assert api_client(annotator).post(f"/api/projects/{project.pk}/preannotate/").status_code == 403
    assert not PreannotationJob.objects.exists()


def test_shows_job_progress_to_an_ml_engineer(project, manager, ml_engineer, api_client):
    job = preannotation_request(actor=manager, project=project)
    PreannotationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, progress_total=6, progress_done=4
    )
    response = api_client(ml_engineer).get(f"/api/projects/{project.pk}/preannotate/{job.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["items_done"], body["items_total"]) == ("running", 4, 6)


def test_denies_an_annotator_the_job_status(project, manager, annotator, api_client):
    job = preannotation_request(actor=manager, project=project)
    assert (
        api_client(annotator).get(f"/api/projects/{project.pk}/preannotate/{job.pk}/").status_code
        == 403
    )


def test_hides_a_job_of_another_project_behind_404(project, foreign_project, manager, api_client):
    foreign_job = preannotation_request(actor=foreign_project.created_by, project=foreign_project)
    response = api_client(manager).get(f"/api/projects/{project.pk}/preannotate/{foreign_job.pk}/")
    assert response.status_code == 404


def test_refuses_to_pre_annotate_a_span_project_saying_why(manager, api_client):
    from projects.models import TaskType
    from tests.factories import project_make

    project = project_make(manager=manager, task_type=TaskType.SPANS, labels=[{"name": "PER"}], texts=["Ada wrote."])
    response = api_client(manager).post(f"/api/projects/{project.pk}/preannotate/")
    assert response.status_code == 400
    assert "does not support span" in str(response.json())
