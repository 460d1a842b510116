"""Queued jobs whose message the broker lost are sent again, once per JOB_REQUEUE_SECONDS; JOB_STALE_SECONDS overrides every kind."""

import base64
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import ImportJob
from annotation.services.import_jobs import IMPORT_JOB_KIND, import_job_create
from common.jobs.lifecycle import jobs_reap, jobs_requeue, stale_seconds
from common.jobs.models import JobStatus
from tests.factories import project_make
from tests.faults.processes import broker_of_this_process, redis_running

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_server(tmp_path):
    """A broker of this test's own, whose queue it can read and empty."""
    with redis_running(tmp_path / "redis") as server:
        yield server


def _queued_import(manager, redis_server, *, age_s: float) -> ImportJob:
    project = project_make(manager=manager, active_learning="off")
    with broker_of_this_process(redis_server.url):
        job = import_job_create(actor=manager, project=project, stream=io.BytesIO(json.dumps({"text": "one"}).encode()),
                                filename="one.jsonl")
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=age_s))
    redis_server.cli("DEL", "default", "gpu")  # the broker lost it
    return ImportJob.objects.get(pk=job.pk)


def _queued_import_ids(redis_server) -> list[int]:
    messages = [json.loads(raw) for raw in redis_server.cli("LRANGE", "default", "0", "-1").splitlines() if raw]
    return [json.loads(base64.b64decode(message["body"]))[0][0] for message in messages
            if message["headers"]["task"].endswith("import_run_task")]


def test_a_queued_job_older_than_the_requeue_time_is_sent_again_once(manager, redis_server, settings):
    settings.JOB_REQUEUE_SECONDS = 60
    job = _queued_import(manager, redis_server, age_s=120)
    with broker_of_this_process(redis_server.url):
        assert jobs_requeue(model=ImportJob) == 1
        assert jobs_requeue(model=ImportJob) == 0, "sent at most once per JOB_REQUEUE_SECONDS"
    assert _queued_import_ids(redis_server) == [job.pk]
    assert ImportJob.objects.get(pk=job.pk).status == JobStatus.QUEUED


def test_a_queued_job_younger_than_the_requeue_time_is_left_alone(manager, redis_server, settings):
    settings.JOB_REQUEUE_SECONDS = 600
    _queued_import(manager, redis_server, age_s=120)
    with broker_of_this_process(redis_server.url):
        assert jobs_requeue(model=ImportJob) == 0
    assert _queued_import_ids(redis_server) == []


def test_a_new_import_request_sends_the_projects_lost_imports_again(manager, redis_server, settings):
    settings.JOB_REQUEUE_SECONDS = 60
    lost = _queued_import(manager, redis_server, age_s=120)
    with broker_of_this_process(redis_server.url):
        fresh = import_job_create(actor=manager, project=lost.project, stream=io.BytesIO(b'{"text": "two"}\n'),
                                  filename="two.jsonl")
    assert sorted(_queued_import_ids(redis_server)) == sorted([lost.pk, fresh.pk])


def test_jobs_reap_sends_lost_jobs_but_counts_only_the_failed_ones(manager, redis_server, settings):
    settings.JOB_REQUEUE_SECONDS = 60
    _queued_import(manager, redis_server, age_s=120)
    with broker_of_this_process(redis_server.url):
        assert jobs_reap(model=ImportJob) == 0
    assert len(_queued_import_ids(redis_server)) == 1


def test_job_stale_seconds_when_set_replaces_every_kinds_own(settings):
    settings.JOB_STALE_SECONDS = None
    assert stale_seconds(IMPORT_JOB_KIND) == IMPORT_JOB_KIND.stale_seconds()
    settings.JOB_STALE_SECONDS = 7
    assert stale_seconds(IMPORT_JOB_KIND) == 7
