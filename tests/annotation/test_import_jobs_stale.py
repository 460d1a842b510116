"""Imports whose worker died: stopped with a clear message, or taken over and run again without doubles."""

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from annotation.models import ImportJob, ImportOnError
from annotation.selectors import item_find_by_text
from annotation.services.import_jobs import (
    STALE_SECONDS,
    UPLOAD_LOST,
    import_job_create,
    import_job_run,
)
from annotation.services.imports import items_import
from common.jobs.lifecycle import WORKER_LOST, jobs_reap
from common.jobs.models import JobStatus
from governance.models import AuditEvent
from tests.factories import project_make

pytestmark = pytest.mark.django_db

TEXTS = [f"Sentence number {word} about the quarterly results." for word in "abcdef"]


def _jsonl(texts) -> bytes:
    return "".join(json.dumps({"text": text}) + "\n" for text in texts).encode()


def _job(project, actor, on_error=ImportOnError.REJECT) -> ImportJob:
    return import_job_create(
        actor=actor, project=project, stream=io.BytesIO(_jsonl(TEXTS)), filename="f.jsonl",
        on_error=on_error,
    )


def _worker_died(job: ImportJob, seconds_ago: int = STALE_SECONDS + 60) -> None:
    """The state a killed worker leaves: running, its last heartbeat long ago, the upload kept."""
    beat = timezone.now() - timedelta(seconds=seconds_ago)
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=beat, heartbeat_at=beat, progress_done=2, created=2
    )


def test_a_new_import_request_stops_the_job_whose_worker_died(project, manager):
    dead = _job(project, manager)
    _worker_died(dead)
    upload = Path(dead.upload_path)
    _job(project, manager)
    dead.refresh_from_db()
    assert dead.status == JobStatus.FAILED and dead.error == WORKER_LOST
    assert dead.created == 0 and dead.finished_at is not None  # "reject": nothing was imported
    assert not upload.exists() and dead.upload_path == ""
    event = AuditEvent.objects.get(action="import.reap")
    assert event.target_id == str(dead.pk) and event.actor_name == "system"


def test_a_job_still_sending_heartbeats_is_left_running(project, manager):
    alive = _job(project, manager)
    _worker_died(alive, seconds_ago=5)
    assert jobs_reap(model=ImportJob) == 0
    alive.refresh_from_db()
    assert alive.status == JobStatus.RUNNING and Path(alive.upload_path).exists()


def test_the_periodic_check_stops_dead_jobs_of_every_project(project, manager):
    other = project_make(name="Other", manager=manager)
    jobs = [_job(project, manager), _job(other, manager, on_error=ImportOnError.SKIP)]
    for job in jobs:
        _worker_died(job)
    assert jobs_reap(model=ImportJob) == 2
    assert {j.status for j in ImportJob.objects.filter(pk__in=[j.pk for j in jobs])} == {"failed"}
    # "skip" mode keeps its counters: those rows were committed batch by batch.
    assert ImportJob.objects.get(pk=jobs[1].pk).created == 2


def test_a_redelivered_message_takes_over_a_dead_job_and_imports_the_file_once(project, manager):
    before = project.items.count()
    job = _job(project, manager, on_error=ImportOnError.SKIP)
    # The dead worker had committed its first batch (here: three of the six rows).
    items_import(actor=manager, project=project, stream=io.BytesIO(_jsonl(TEXTS[:3])), filename="f.jsonl")
    _worker_died(job)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.error == ""
    assert (job.created, job.skipped) == (3, 3)
    assert project.items.count() == before + 6
    assert all(item_find_by_text(project=project, text=text).count() == 1 for text in TEXTS)
    import_job_run(job_id=job.pk)  # a further copy of the message does nothing
    assert project.items.count() == before + 6


def test_a_job_running_with_a_live_worker_is_not_taken_over(project, manager):
    job = _job(project, manager)
    _worker_died(job, seconds_ago=5)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and Path(job.upload_path).exists()


def test_taking_over_a_job_whose_upload_is_gone_fails_it_with_the_reason(project, manager):
    job = _job(project, manager)
    _worker_died(job)
    Path(job.upload_path).unlink()
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == UPLOAD_LOST
