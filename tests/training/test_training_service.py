"""Training jobs run in this process: validation, the run and its lineage, idempotence, cancel, limits, failures."""

import dataclasses
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from common.jobs.models import JobStatus
from governance.models import AuditEvent
from governance.roles import ProjectRole
from governance.services.membership import membership_set
from tests.training.training_support import FAST, ready_version
from training.ml.finetune import FinetuneConfig
from training.models import ModelVersion, TrainingJob
from training.services.registry import code_version
from training.services.training import (
    HYPERPARAMETERS,
    hyperparameters_clean,
    staging_dir,
    training_cancel,
    training_job_refresh,
    training_request,
    training_run,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("artifacts_here")]


def _request(sentiment_version, actor, base, **overrides):
    options = {"hyperparameters": FAST, "time_limit_seconds": 600, **overrides}
    return training_request(
        actor=actor, project=sentiment_version.project, dataset_version=sentiment_version, base_model=base, **options
    )


def test_every_whitelisted_hyperparameter_is_a_finetune_setting():
    fields = {field.name for field in dataclasses.fields(FinetuneConfig)}
    assert set(HYPERPARAMETERS) <= fields


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"optimizer": "sgd"}, "hyperparameters", "unknown: optimizer"),
        ({"epochs": 0}, "epochs", "0 is outside 1..100"),
        ({"learning_rate": 1.0}, "learning_rate", "outside"),
        ({"batch_size": "eight"}, "batch_size", "'eight' is not a whole number"),
        ({"epochs": 2.5}, "epochs", "not a whole number"),
    ],
)
def test_refuses_hyperparameters_outside_the_whitelist_or_its_ranges(given, field, message):
    with pytest.raises(ValidationError) as error:
        hyperparameters_clean(given)
    assert message in " ".join(error.value.message_dict[field])


def test_accepts_hyperparameters_sent_as_form_strings():
    assert hyperparameters_clean({"epochs": "2", "learning_rate": "5e-5", "max_length": ""}) == {
        "epochs": 2,
        "learning_rate": 5e-5,
    }


def test_refuses_a_dataset_version_of_another_project(sentiment_version, ml_engineer, manager, tiny_base):
    from tests.factories import project_make

    other = project_make(manager=manager, texts=["Elsewhere."])
    with pytest.raises(ValidationError, match="another project"):
        training_request(actor=manager, project=other, dataset_version=sentiment_version)


def test_refuses_a_version_without_dev_examples(sentiment_project, ml_engineer):
    sentiment_version = ready_version(sentiment_project, ml_engineer)
    sentiment_version.manifest["splits"]["dev"] = 0
    sentiment_version.save()
    with pytest.raises(ValidationError, match="has no dev examples"):
        training_request(actor=ml_engineer, project=sentiment_project, dataset_version=sentiment_version)


def test_a_request_queues_a_job_and_audits_it(sentiment_version, ml_engineer, tiny_base):
    job = _request(sentiment_version, ml_engineer, tiny_base)
    assert job.status == JobStatus.QUEUED
    assert job.hyperparameters == FAST and job.time_limit_seconds == 600
    event = AuditEvent.objects.get(action="training.request")
    assert (
        event.details["dataset_hash"] == sentiment_version.content_hash and event.details["base_model"] == "tiny-bert"
    )


def test_a_run_registers_a_model_with_its_full_lineage_and_test_metrics(
    sentiment_version, ml_engineer, tiny_base, settings
):
    job = _request(sentiment_version, ml_engineer, tiny_base)
    training_run(job_id=job.pk, worker="test@here")

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.log
    assert job.attempts == 1 and job.worker == "test@here" and job.device == "cpu"
    model = ModelVersion.objects.get(training_job=job)
    assert model.number == 1 and model.name.startswith(f"project{sentiment_version.project_id}-v1@")
    assert (model.dataset_version, model.dataset_hash) == (sentiment_version, sentiment_version.content_hash)
    assert (model.base_model_name, model.base_model_fingerprint) == ("tiny-bert", tiny_base.fingerprint)
    assert model.hyperparameters["epochs"] == 3 and model.hyperparameters["labels"] == [
        "positive",
        "negative",
        "neutral",
    ]
    assert model.code_version == code_version() and model.code_version.startswith("0.1.0")
    assert model.training_seconds > 0 and model.device == "cpu"
    assert (
        Path(model.artifact_path)
        == Path(settings.ARTIFACT_DIR) / "models" / f"project-{sentiment_version.project_id}" / "v1"
    )
    assert (Path(model.artifact_path) / "config.json").exists() and not staging_dir(job).exists()
    test = model.metrics["test"]
    assert test["metric"] == "macro_f1" and {"positive", "negative", "neutral"} <= set(test["report"])
    assert set(test["report"]["positive"]) == {"precision", "recall", "f1-score", "support"}
    assert test["confusion_matrix"]["labels"] == ["positive", "negative", "neutral"]
    # 80 items leave dev and test too small to choose a step: cross-validation did, and says why.
    selection = model.metrics["selection"]
    chosen_by = model.metrics["dev"] if selection["mode"] == "dev" else model.metrics["cross_validation"]
    assert selection["reason"] or selection["mode"] == "dev"
    assert chosen_by["value"] >= 0 and model.metrics["examples"]["train"] > 0
    assert "Fold 1/3, step " in job.log and "Fold 3/3, step " in job.log and "Held-out macro-F1" in job.log and f"Registered as {model.name}" in job.log
    assert {"step", "total_steps", "epoch", "loss", "dev_metric", "eta_seconds"} <= set(job.progress)
    assert AuditEvent.objects.get(action="training.succeed").details["dataset_hash"] == sentiment_version.content_hash


def test_a_second_delivery_of_the_same_job_does_nothing(sentiment_version, ml_engineer, tiny_base):
    job = _request(sentiment_version, ml_engineer, tiny_base)
    training_run(job_id=job.pk)
    training_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.attempts == 1 and ModelVersion.objects.count() == 1


def test_cancelling_a_queued_job_stops_it_before_any_worker_takes_it(sentiment_version, ml_engineer, tiny_base):
    job = _request(sentiment_version, ml_engineer, tiny_base)
    training_cancel(actor=ml_engineer, job=job)
    training_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.attempts == 0
    assert "Cancelled by ml_engineer before it started." in job.log
    assert AuditEvent.objects.filter(action="training.cancel").count() == 1


def test_a_finished_job_cannot_be_cancelled(sentiment_version, ml_engineer, tiny_base):
    job = _request(sentiment_version, ml_engineer, tiny_base)
    training_run(job_id=job.pk)
    with pytest.raises(ValidationError, match="already succeeded"):
        training_cancel(actor=ml_engineer, job=job)


def test_the_time_limit_fails_the_job_and_registers_nothing(sentiment_version, ml_engineer, tiny_base):
    job = _request(
        sentiment_version,
        ml_engineer,
        tiny_base,
        hyperparameters={**FAST, "epochs": 100, "batch_size": 1},
        time_limit_seconds=1,
    )
    training_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "Time limit of 1 s reached" in job.error and "Time limit" in job.log
    assert not ModelVersion.objects.exists() and not staging_dir(job).exists()


def test_a_failing_run_keeps_its_log_and_registers_no_model(sentiment_version, ml_engineer, tiny_base, tmp_path):
    # The base model's folder is gone by the time the worker runs the job.
    moved = shutil.copytree(tiny_base.path, tmp_path / "copy")
    tiny_base.path = str(moved)
    tiny_base.save()
    job = _request(sentiment_version, ml_engineer, tiny_base)
    shutil.rmtree(moved)
    training_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "config.json is missing" in job.error
    assert "Queued by ml_engineer" in job.log and "Attempt 1 started" in job.log and "config.json is missing" in job.log
    assert not ModelVersion.objects.exists() and not staging_dir(job).exists()
    assert AuditEvent.objects.get(action="training.fail").details["status"] == "failed"


def test_the_worker_refuses_a_job_whose_requester_lost_the_right_to_train(
    sentiment_version, ml_engineer, manager, tiny_base
):
    job = _request(sentiment_version, ml_engineer, tiny_base)
    membership_set(actor=manager, project=sentiment_version.project, user=ml_engineer, role=ProjectRole.ANNOTATOR)
    training_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "may no longer train models" in job.error
    assert not ModelVersion.objects.exists()


def test_a_running_job_whose_worker_went_silent_is_failed_when_next_looked_at(
    sentiment_version, ml_engineer, tiny_base, settings
):
    settings.TRAINING_STALE_SECONDS = 60
    job = _request(sentiment_version, ml_engineer, tiny_base)
    silent_since = timezone.now() - timedelta(seconds=61)
    TrainingJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=1, heartbeat_at=silent_since)
    staging_dir(job).mkdir(parents=True)

    job = training_job_refresh(job=job)

    assert job.status == JobStatus.FAILED and "stopped responding" in job.error
    assert "Queued by ml_engineer" in job.log and not staging_dir(job).exists()


def test_a_silent_job_is_taken_over_by_a_redelivered_message(sentiment_version, ml_engineer, tiny_base, settings):
    settings.TRAINING_STALE_SECONDS = 60
    job = _request(sentiment_version, ml_engineer, tiny_base)
    silent_since = timezone.now() - timedelta(seconds=61)
    TrainingJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=1, heartbeat_at=silent_since)
    training_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2 and "Attempt 2 started" in job.log


def test_the_code_version_names_the_package_version():
    assert code_version().split("+")[0] == "0.1.0"
