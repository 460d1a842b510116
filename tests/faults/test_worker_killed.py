"""A worker SIGKILLed (its whole process group) in the middle of each kind of job: the job ends failed
with the reaper's message, which the user reads; nothing half-written stays; the message the broker
delivers again runs once and does nothing; the file uploaded again imports every row exactly once."""

import io
import json
import re
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotation.models import ExportRecord, ImportJob, Item
from annotation.services.exports import export_path, export_request
from annotation.services.import_jobs import import_job_create
from common.jobs.lifecycle import WORKER_LOST
from common.jobs.models import JobStatus
from tests.factories import project_make, user_make
from tests.faults.processes import (
    FaultWorker,
    broker_of_this_process,
    kill_while,
    wait_for,
    worker_env,
)
from tests.training.training_support import FAST, labelled_project_make, ready_version
from training.models import DatasetVersion, ModelVersion, TrainingJob
from training.services.datasets import dataset_artifact_path, dataset_version_create
from training.services.training import staging_dir, training_request

# The new worker takes a running job without a heartbeat for this long as dead (JOB_STALE_SECONDS),
# and a message a dead worker held comes back after this long (BROKER_VISIBILITY_TIMEOUT).
STALE_SECONDS = 2
VISIBILITY_SECONDS = 1
IMPORT_ROWS = 2000
EXPORT_ITEMS = 1000


def _rows(count: int) -> bytes:
    return "".join(json.dumps({"text": f"Row {index}: the parcel {index % 97} came on day {index}."}) + "\n"
                   for index in range(count)).encode()


def _labelled(count: int) -> bytes:
    """``count`` items, each with one answer (a Label Studio export), imported here in one go."""
    tasks = [
        {"data": {"text": f"Message {index} says the service was {('good', 'bad', 'plain')[index % 3]}."},
         "annotations": [{"result": [{"from_name": "label", "to_name": "text", "type": "choices",
                                      "value": {"choices": [("positive", "negative", "neutral")[index % 3]]}}]}]}
        for index in range(count)
    ]
    return json.dumps(tasks).encode()


@pytest.fixture
def artifacts(settings, tmp_path):
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    return settings.ARTIFACT_DIR


@pytest.fixture
def workers(tmp_path, redis_server, artifacts):
    started = []

    def start(name: str, **env) -> FaultWorker:
        worker = FaultWorker(log_path=tmp_path / f"{name}.log",
                             env=worker_env(broker_url=redis_server.url, artifact_dir=artifacts, **env))
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


def _import_job(manager, artifacts, only_the_job_queued):
    project = project_make(manager=manager, active_learning="off")
    only_the_job_queued()
    job = import_job_create(actor=manager, project=project, stream=io.BytesIO(_rows(IMPORT_ROWS)), filename="rows.jsonl")
    return job, "annotation.celery_tasks.import_run_task", reverse(
        "api:import-job", kwargs={"project_id": project.pk, "import_job_id": job.pk})


def _labelled_project(manager):
    from annotation.services.imports import items_import

    project = project_make(manager=manager, active_learning="off")
    items_import(actor=manager, project=project, stream=io.BytesIO(_labelled(EXPORT_ITEMS)),
                 filename="labelled.json", fmt="labelstudio")
    return project


def _export_job(manager, artifacts, only_the_job_queued):
    project = _labelled_project(manager)
    only_the_job_queued()
    export = export_request(actor=manager, project=project, fmt="jsonl", redact=True)
    return export, "governance.celery_tasks.export_build_task", reverse(
        "api:export-job", kwargs={"project_id": project.pk, "export_id": export.pk})


def _dataset_job(manager, artifacts, only_the_job_queued):
    project = _labelled_project(manager)
    only_the_job_queued()
    version = dataset_version_create(actor=manager, project=project)
    return version, "training.celery_tasks.dataset_version_build_task", reverse(
        "api:dataset-version", kwargs={"project_id": project.pk, "version_id": version.pk})


def _training_job(manager, artifacts, only_the_job_queued):
    from tests.training.training_support import tiny_bert_save
    from training.services.registry import base_model_register

    engineer = user_make("engineer")
    project = labelled_project_make(manager=manager, annotator=user_make("labeller"), ml_engineer=engineer, count=300)
    base = base_model_register(actor=engineer, name="tiny-bert", path=tiny_bert_save(artifacts / "tiny-bert"))
    version = ready_version(project, engineer)
    only_the_job_queued()
    job = training_request(actor=engineer, project=project, dataset_version=version,
                           base_model=base, hyperparameters={**FAST, "epochs": 40, "min_steps": 2000})
    return job, "training.celery_tasks.train_model_task", reverse(
        "api:training-job", kwargs={"project_id": project.pk, "training_job_id": job.pk})


def _leftovers(job) -> list[str]:
    """Files the dead job left where a user or a later job could find them."""
    if isinstance(job, ExportRecord):
        path = export_path(job)
    elif isinstance(job, DatasetVersion):
        path = dataset_artifact_path(job)
    elif isinstance(job, TrainingJob):
        path = staging_dir(job)
    else:
        return []
    return [str(found) for found in path.parent.glob(path.name + "*")] if path.parent.exists() else []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("make", [_import_job, _export_job, _dataset_job, _training_job],
                         ids=["import", "export", "dataset version", "training"])
def test_a_job_whose_worker_is_killed_fails_with_the_reapers_message_and_its_message_runs_once(
    make, redis_server, workers, artifacts, api_client
):
    manager = user_make("manager")
    def only_the_job_queued():
        """The follow-up work the setup queued (embeddings, active learning) would keep the worker busy."""
        redis_server.cli("DEL", "default", "gpu")

    with broker_of_this_process(redis_server.url):
        job, task_name, api_url = make(manager, artifacts, only_the_job_queued)
    model = type(job)
    first = workers("first")

    def running() -> bool:
        status = model.objects.values_list("status", flat=True).get(pk=job.pk)
        assert status in (JobStatus.QUEUED, JobStatus.RUNNING), f"the job ended ({status}) before it could be killed"
        return status == JobStatus.RUNNING

    started = time.monotonic()
    kill_while(first, running, what=f"{model.__name__} {job.pk} to be running in the first worker")
    assert int(redis_server.cli("HLEN", "unacked")) == 1, "the killed worker's message is held, unacknowledged"

    # The new worker takes the job for dead once its last heartbeat is older than the stale time.
    def stale() -> bool:
        row = model.objects.get(pk=job.pk)
        last = row.heartbeat_at or row.started_at
        return last < timezone.now() - timedelta(seconds=STALE_SECONDS + 0.5)

    wait_for(stale, what="the killed job's heartbeat to go stale")
    second = workers("second", JOB_STALE_SECONDS=str(STALE_SECONDS),
                     BROKER_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS))
    ended = wait_for(lambda: (row := model.objects.get(pk=job.pk)).status != JobStatus.RUNNING and row,
                     what="the new worker to reap the job")
    recovered = time.monotonic() - started
    assert ended.status == JobStatus.FAILED
    assert ended.error == WORKER_LOST

    # The message the dead worker held is delivered again, taken by the new worker and does nothing.
    done = re.compile(re.escape(task_name) + r"\[[0-9a-f-]+\] succeeded")
    wait_for(lambda: done.search(second.log()), what=f"the redelivered {task_name} to run in the new worker")
    assert redis_server.cli("HLEN", "unacked") == "0"
    assert model.objects.get(pk=job.pk).status == JobStatus.FAILED
    assert _leftovers(ended) == []

    reply = api_client(manager if model is not TrainingJob else ended.requested_by).get(api_url)
    assert reply.status_code == 200
    assert reply.json()["status"] == "failed"
    assert reply.json()["error"] == WORKER_LOST
    print(f"\n{model.__name__}: killed to failed in {recovered:.1f} s")

    if model is ImportJob:
        # Rolled back ("reject" mode): nothing imported; the same file again imports every row once.
        assert Item.objects.filter(project=job.project).count() == 0
        with broker_of_this_process(redis_server.url):
            again = import_job_create(actor=manager, project=job.project, stream=io.BytesIO(_rows(IMPORT_ROWS)),
                                      filename="rows.jsonl")
        wait_for(lambda: ImportJob.objects.get(pk=again.pk).status == JobStatus.SUCCEEDED,
                 what="the upload of the same file to be imported")
        assert Item.objects.filter(project=job.project).count() == IMPORT_ROWS
    if model is TrainingJob:
        assert not ModelVersion.objects.filter(training_job=job).exists()
        assert WORKER_LOST in ended.log
    if model is DatasetVersion:
        assert not ended.entries.exists()
