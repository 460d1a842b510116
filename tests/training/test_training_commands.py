"""The training commands: register a base model, train (and wait, printing progress), activate a version."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from tests.training.training_support import FAST, version_built_by_worker
from training.models import BaseModel, ModelVersion, PreannotationJob, TrainingJob
from training.services.training import training_request, training_run


def _call(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_registers_a_base_model_folder_and_prints_its_fingerprint(tiny_bert_path):
    output = _call("base_model_register", "--name", "tiny", "--path", tiny_bert_path)
    base = BaseModel.objects.get(name="tiny")
    assert f"fingerprint {base.fingerprint}" in output and base.registered_by is None


@pytest.mark.django_db
def test_refuses_to_register_a_folder_without_a_model(tmp_path):
    with pytest.raises(CommandError, match="config.json is missing"):
        _call("base_model_register", "--name", "empty", "--path", str(tmp_path))


@pytest.mark.django_db
def test_train_queues_a_job_with_the_given_settings(sentiment_version, ml_engineer, tiny_base):
    output = _call(
        "train",
        "--project",
        str(sentiment_version.project_id),
        "--dataset-version",
        str(sentiment_version.number),
        "--user",
        "ml_engineer",
        "--base-model",
        "tiny-bert",
        "--epochs",
        "2",
        "--learning-rate",
        "0.001",
        "--min-steps",
        "40",
        "--class-weighting",
        "none",
        "--then-suggest",
    )
    job = TrainingJob.objects.get()
    assert f"Training job {job.pk} for project {sentiment_version.project_id} is queued." in output
    assert job.hyperparameters == {"epochs": 2, "learning_rate": 0.001, "min_steps": 40, "class_weighting": "none"}
    assert job.base_model == tiny_base and job.then_suggest


@pytest.mark.django_db
def test_train_refuses_bad_settings_and_users_who_may_not_train(sentiment_version):
    with pytest.raises(CommandError, match="0 is outside 1..100"):
        _call(
            "train",
            "--project",
            str(sentiment_version.project_id),
            "--dataset-version",
            "1",
            "--user",
            "ml_engineer",
            "--epochs",
            "0",
        )
    with pytest.raises(CommandError, match="annotator may not train models"):
        _call("train", "--project", str(sentiment_version.project_id), "--dataset-version", "1", "--user", "annotator")
    with pytest.raises(CommandError, match="no ready dataset version 5"):
        _call(
            "train", "--project", str(sentiment_version.project_id), "--dataset-version", "5", "--user", "ml_engineer"
        )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_train_waits_for_the_worker_printing_progress(celery_worker_process, sentiment_project, ml_engineer, tiny_base):
    sentiment_version = version_built_by_worker(sentiment_project, ml_engineer)
    output = _call(
        "train",
        "--project",
        str(sentiment_project.pk),
        "--dataset-version",
        str(sentiment_version.number),
        "--user",
        "ml_engineer",
        "--base-model",
        "tiny-bert",
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--learning-rate",
        "0.003",
        "--max-length",
        "32",
        "--wait",
    )
    model = ModelVersion.objects.get()
    # Each change of progress is printed; the tiny model may finish between two polls, so the
    # last line may already read "succeeded".
    assert re.search(r"^(running|succeeded): epoch \d+/\d+, step \d+/\d+, loss \d", output, re.MULTILINE), output
    assert f"succeeded: model version 1 ({model.name})." in output
    assert re.search(r"^Score: macro-F1 \d\.\d{3} \(95 % interval \d\.\d{3} to \d\.\d{3}\), n = \d+", output, re.MULTILINE)
    assert re.search(r"^Model selection: chose ", output, re.MULTILINE) and "\nVerdict: " in output


@pytest.mark.django_db
def test_model_activate_makes_the_version_active_and_queues_pre_annotation(
    sentiment_version, ml_engineer, tiny_base, artifacts_here
):
    job = training_request(
        actor=ml_engineer,
        project=sentiment_version.project,
        dataset_version=sentiment_version,
        base_model=tiny_base,
        hyperparameters=FAST,
    )
    training_run(job_id=job.pk)
    # --confirm: the tiny model may be degenerate or worse than the head (test_model_reports_pages covers the refusal).
    output = _call(
        "model_activate",
        "--project",
        str(sentiment_version.project_id),
        "--version",
        "1",
        "--user",
        "ml_engineer",
        "--confirm",
    )
    model = ModelVersion.objects.get()
    assert model.is_active and f"{model.name} is now active" in output
    assert PreannotationJob.objects.get().trained_model == model
    with pytest.raises(CommandError, match="has no model version 4"):
        _call(
            "model_activate", "--project", str(sentiment_version.project_id), "--version", "4", "--user", "ml_engineer"
        )
