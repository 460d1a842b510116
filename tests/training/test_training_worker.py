"""Training end to end through real Celery worker processes: success, the bundled model, cancel, duplicates, a kill."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from annotation.models import Prediction
from common.jobs.models import JobStatus
from tests.training.training_support import (
    FAST,
    job_wait,
    preannotation_wait,
    version_built_by_worker,
)
from training.celery_tasks import train_model_task
from training.ml.encoder import default_model_path, model_fingerprint, model_name
from training.models import ModelVersion, TrainingJob
from training.services.registry import model_version_activate
from training.services.training import (
    staging_dir,
    training_cancel,
    training_job_refresh,
    training_request,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Slow enough on purpose (one example per step, many epochs) that the test can act while it runs.
SLOW = {**FAST, "epochs": 100, "batch_size": 1}
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sentiment_version(celery_worker_process, sentiment_project, ml_engineer):
    return version_built_by_worker(sentiment_project, ml_engineer)


def _request(sentiment_version, actor, base, hyperparameters=FAST):
    return training_request(
        actor=actor,
        project=sentiment_version.project,
        dataset_version=sentiment_version,
        base_model=base,
        hyperparameters=hyperparameters,
        time_limit_seconds=600,
    )


def _wait_until_training(job_id: int, seconds: float = 120) -> TrainingJob:
    """Until the worker has reported at least one training step."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = TrainingJob.objects.get(pk=job_id)
        if job.status == JobStatus.RUNNING and job.progress.get("step"):
            return job
        assert job.status in (JobStatus.QUEUED, JobStatus.RUNNING), (job.status, job.log)
        time.sleep(0.2)
    pytest.fail(f"Training job {job_id} never reported a step: {job.status}, log:\n{job.log}")


def test_a_worker_trains_evaluates_and_registers_a_model(
    celery_worker_process, sentiment_version, ml_engineer, tiny_base
):
    job = job_wait(_request(sentiment_version, ml_engineer, tiny_base).pk)

    assert job.status == JobStatus.SUCCEEDED, job.log
    assert job.worker.startswith("pytest-") and job.device == "cpu"
    model = ModelVersion.objects.get(training_job=job)
    assert Path(model.artifact_path, "training_meta.json").exists()
    assert model.metrics["test"]["metric"] == "macro_f1" and model.dataset_hash == sentiment_version.content_hash
    assert f"Training job {job.pk} registered model {model.name}" in celery_worker_process.log_text()


def test_the_bundled_minilm_fine_tunes_through_the_worker(celery_worker_process, sentiment_version, ml_engineer):
    hyperparameters = {"epochs": 1, "batch_size": 16, "max_length": 32, "learning_rate": 5e-5}
    job = job_wait(_request(sentiment_version, ml_engineer, None, hyperparameters).pk)

    assert job.status == JobStatus.SUCCEEDED, job.log
    model = job.model_version
    bundled = default_model_path()
    assert (model.base_model_name, model.base_model_fingerprint) == (model_name(bundled), model_fingerprint(bundled))
    assert model.hyperparameters["epochs"] == 1 and model.metrics["examples"]["train"] > 0


def test_activating_a_trained_version_pre_annotates_through_the_worker(
    celery_worker_process, sentiment_version, ml_engineer, tiny_base
):
    model = job_wait(_request(sentiment_version, ml_engineer, tiny_base).pk).model_version

    # The tiny model may be degenerate or worse than the head: activated on purpose.
    job = preannotation_wait(model_version_activate(actor=ml_engineer, model_version=model, confirm=True).pk)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert Prediction.objects.filter(project=sentiment_version.project, model_version=model.name).count() == 6


def test_a_running_job_is_cancelled_from_the_web_and_registers_nothing(
    celery_worker_process, sentiment_version, ml_engineer, tiny_base
):
    job = _wait_until_training(_request(sentiment_version, ml_engineer, tiny_base, SLOW).pk)

    training_cancel(actor=ml_engineer, job=job)
    job = job_wait(job.pk)

    assert job.status == JobStatus.CANCELLED
    assert "Cancel requested by ml_engineer" in job.log and "Cancelled: Cancelled at step" in job.log
    assert not ModelVersion.objects.exists() and not staging_dir(job).exists()


def test_a_second_delivery_of_a_job_message_does_not_train_again(
    celery_worker_process, sentiment_version, ml_engineer, tiny_base, settings
):
    job = _request(sentiment_version, ml_engineer, tiny_base)
    train_model_task.apply_async((job.pk,), queue=settings.TRAINING_QUEUE)
    job = job_wait(job.pk)
    # The duplicate is handled after the first run, which the solo worker finishes first. The
    # worker is shared by the session: other tasks log "is not queued any more" too.
    handled = f"Training job {job.pk} is not queued any more"
    deadline = time.monotonic() + 60
    while handled not in celery_worker_process.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)

    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1
    assert ModelVersion.objects.count() == 1
    assert handled in celery_worker_process.log_text()


def _worker_start(env: dict, queue: str, log_path: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        queue,
        "--pool=solo",
        "-c",
        "1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "info",
        "-n",
        f"doomed-{os.getpid()}@%h",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while " ready." not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"The extra worker did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.2)
    return process


def test_killing_the_worker_mid_job_leaves_it_failed_with_its_log_never_running(
    celery_worker_process, sentiment_version, ml_engineer, tiny_base, settings, tmp_path
):
    # A worker of its own, on a queue of its own, so killing it leaves the shared worker alone.
    settings.TRAINING_QUEUE = f"gpu-doomed-{os.getpid()}"
    process = _worker_start(celery_worker_process.env, settings.TRAINING_QUEUE, tmp_path / "doomed.log")
    try:
        job = _wait_until_training(_request(sentiment_version, ml_engineer, tiny_base, SLOW).pk)
        assert job.worker.startswith("doomed-")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    settings.TRAINING_STALE_SECONDS = 2
    time.sleep(3)
    assert TrainingJob.objects.get(pk=job.pk).status == JobStatus.RUNNING  # nobody is left to say otherwise

    job = training_job_refresh(job=job)

    assert job.status == JobStatus.FAILED and "stopped responding" in job.error
    assert "Attempt 1 started on worker doomed-" in job.log and "stopped responding" in job.log
    assert not ModelVersion.objects.exists() and not staging_dir(job).exists()
