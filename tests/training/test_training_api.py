"""The training API: start a job with checked input, follow and cancel it, read, activate and compare versions."""

import pytest

from annotation.models import Prediction
from common.jobs.models import JobStatus
from tests.training.training_support import FAST
from training.models import ModelVersion, TrainingJob
from training.services.preannotation import preannotation_run
from training.services.training import training_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("artifacts_here")]


def _start(client, project, **body):
    return client.post(f"/api/projects/{project.pk}/training-jobs/", body, format="json")


def test_an_ml_engineer_starts_a_job_and_follows_it_to_its_model(api_client, sentiment_version, ml_engineer, tiny_base):
    client = api_client(ml_engineer)
    response = _start(
        client,
        sentiment_version.project,
        dataset_version=sentiment_version.number,
        base_model="tiny-bert",
        hyperparameters=FAST,
        time_limit_seconds=600,
    )
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]
    assert response["Location"] == f"/api/projects/{sentiment_version.project_id}/training-jobs/{job_id}/"
    assert response.json()["status"] == "queued" and response.json()["progress"] == {}

    training_run(job_id=job_id)

    detail = client.get(response["Location"]).json()
    assert detail["status"] == "succeeded" and detail["progress"]["step"] == detail["progress"]["total_steps"]
    assert detail["progress"]["metric"] == "macro-F1" and "Registered as" in detail["log"]
    model = client.get(f"/api/projects/{sentiment_version.project_id}/models/{detail['model_version']}/").json()
    assert model["dataset_hash"] == sentiment_version.content_hash and model["base_model_name"] == "tiny-bert"
    # Judged on the test split when dev chose the step, else on cross-validation's held-out items too.
    judged_on = "test" if model["metrics"]["selection"]["mode"] == "dev" else "heldout"
    assert model["headline"]["interval"] and model["headline"]["items"] and "outcome" in model["verdict"]
    assert model["evaluated_on"] == judged_on and [row["label"] for row in model["evaluation"]][:3] == [
        "positive",
        "negative",
        "neutral",
    ]
    assert model["metrics"]["test"]["confusion_matrix"]["labels"] == ["positive", "negative", "neutral"]
    listed = client.get(f"/api/projects/{sentiment_version.project_id}/models/").json()["results"]
    assert [row["name"] for row in listed] == [model["name"]]


def test_bad_training_input_is_refused_naming_the_field(api_client, sentiment_version, ml_engineer):
    client = api_client(ml_engineer)
    cases = [
        ({"dataset_version": 99}, "dataset_version", "no ready dataset version 99"),
        (
            {"dataset_version": sentiment_version.number, "base_model": "gpt-9"},
            "base_model",
            "No base model named 'gpt-9'",
        ),
        (
            {"dataset_version": sentiment_version.number, "hyperparameters": {"epochs": 1000}},
            "epochs",
            "outside 1..100",
        ),
        (
            {"dataset_version": sentiment_version.number, "hyperparameters": {"momentum": 0.9}},
            "hyperparameters",
            "unknown: momentum",
        ),
        ({"dataset_version": sentiment_version.number, "time_limit_seconds": 10**9}, "time_limit_seconds", "outside"),
    ]
    for body, field, message in cases:
        response = _start(client, sentiment_version.project, **body)
        assert response.status_code == 400, body
        assert message in " ".join(response.json()[field]), response.json()
    assert not TrainingJob.objects.exists()


def test_cancelling_over_the_api_stops_a_queued_job_and_refuses_a_finished_one(api_client, sentiment_version, manager):
    client = api_client(manager)
    job_id = _start(client, sentiment_version.project, dataset_version=sentiment_version.number).json()["id"]
    url = f"/api/projects/{sentiment_version.project_id}/training-jobs/{job_id}/cancel/"
    response = client.post(url)
    assert response.status_code == 200 and response.json()["status"] == JobStatus.CANCELLED
    again = client.post(url)
    assert again.status_code == 400 and "already cancelled" in again.json()["job"][0]


def test_activating_over_the_api_starts_pre_annotation_with_the_version(
    api_client, sentiment_version, ml_engineer, tiny_base
):
    client = api_client(ml_engineer)
    job_id = _start(
        client,
        sentiment_version.project,
        dataset_version=sentiment_version.number,
        base_model="tiny-bert",
        hyperparameters=FAST,
    ).json()["id"]
    training_run(job_id=job_id)
    model = ModelVersion.objects.get()

    # The tiny model may be degenerate or worse than the head; confirming keeps this test about activation.
    response = client.post(
        f"/api/projects/{sentiment_version.project_id}/models/{model.pk}/activate/", {"confirm": True}, format="json"
    )

    assert response.status_code == 202
    body = response.json()
    assert body["model_version"]["is_active"] and body["preannotation_job"]["status"] == JobStatus.QUEUED
    assert (
        response["Location"]
        == f"/api/projects/{sentiment_version.project_id}/preannotate/{body['preannotation_job']['id']}/"
    )
    preannotation_run(job_id=body["preannotation_job"]["id"])
    assert Prediction.objects.filter(model_version=model.name).count() == 6


def test_comparing_two_versions_over_the_api(api_client, sentiment_version, ml_engineer, tiny_base):
    client = api_client(ml_engineer)
    for epochs in (3, 2):
        job_id = _start(
            client,
            sentiment_version.project,
            dataset_version=sentiment_version.number,
            base_model="tiny-bert",
            hyperparameters={**FAST, "epochs": epochs},
        ).json()["id"]
        training_run(job_id=job_id)
    first = ModelVersion.objects.get(number=1)
    url = f"/api/projects/{sentiment_version.project_id}/models/{first.pk}/compare/"

    body = client.get(url + "?with=2").json()

    assert (body["first"]["number"], body["second"]["number"], body["split"]) == (1, 2, "test")
    assert {row["name"]: row["differs"] for row in body["hyperparameters"]}["epochs"] is True
    assert client.get(url).status_code == 400
    assert client.get(url + "?with=7").status_code == 404
