"""Redis (no persistence, as CI runs it) restarted with jobs queued: their messages are lost, and the
worker that starts afterwards sends them again; each job runs once. A worker and a web process that
stay up across a restart reconnect by themselves."""

import io
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import ImportJob, Item
from annotation.services.import_jobs import import_job_create
from common.jobs.models import JobStatus
from tests.factories import project_make, user_make
from tests.faults.processes import FaultWorker, broker_of_this_process, wait_for, worker_env

REQUEUE_SECONDS = 1
ROWS_PER_FILE = 50


def _file(name: str) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps({"text": f"{name} row {index} about the parcel."}) + "\n"
                              for index in range(ROWS_PER_FILE)).encode())


def _all_ended(jobs) -> bool:
    return not ImportJob.objects.filter(pk__in=[job.pk for job in jobs], status__in=["queued", "running"]).exists()


@pytest.mark.django_db(transaction=True)
def test_jobs_queued_when_redis_restarts_are_sent_again_and_each_runs_once(redis_server, settings, tmp_path):
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    manager = user_make("manager")
    with broker_of_this_process(redis_server.url):
        project = project_make(manager=manager, active_learning="off")
        redis_server.cli("DEL", "default", "gpu")
        jobs = [import_job_create(actor=manager, project=project, stream=_file(f"file {n}"), filename=f"f{n}.jsonl")
                for n in range(3)]
    assert redis_server.cli("LLEN", "default") == "3"

    redis_server.restart()
    assert redis_server.cli("LLEN", "default") == "0", "the restart lost the queued messages"
    wait_for(lambda: all(job.created_at < timezone.now() - timedelta(seconds=REQUEUE_SECONDS + 0.5) for job in jobs),
             what="the queued jobs to be older than JOB_REQUEUE_SECONDS")

    started = time.monotonic()
    worker = FaultWorker(log_path=tmp_path / "worker.log", env=worker_env(
        broker_url=redis_server.url, artifact_dir=settings.ARTIFACT_DIR, JOB_REQUEUE_SECONDS=str(REQUEUE_SECONDS)))
    try:
        worker.wait_ready()
        wait_for(lambda: _all_ended(jobs), what=f"the lost jobs to run; worker log:\n{worker.log()[-3000:]}")
        recovered = time.monotonic() - started
        # Each ran once: a second run of the same file would have found every row present (created 0).
        assert [(row.status, row.created) for row in ImportJob.objects.filter(pk__in=[job.pk for job in jobs])] == [
            (JobStatus.SUCCEEDED, ROWS_PER_FILE)] * 3
        assert Item.objects.filter(project=project).count() == 3 * ROWS_PER_FILE

        # Up across a second restart: the web process (here, this one) and the worker reconnect.
        redis_server.restart()
        with broker_of_this_process(redis_server.url):
            later = import_job_create(actor=manager, project=project, stream=_file("later"), filename="later.jsonl")
        wait_for(lambda: _all_ended([later]), what=f"a job sent after the restart to run; worker log:\n{worker.log()[-3000:]}")
        assert ImportJob.objects.get(pk=later.pk).status == JobStatus.SUCCEEDED
        assert Item.objects.filter(project=project).count() == 4 * ROWS_PER_FILE
        assert worker.process.poll() is None, "the worker stayed up"
    finally:
        worker.stop()
    print(f"\nworker start to 3 lost jobs done: {recovered:.1f} s")
