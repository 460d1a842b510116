"""The near-duplicate pass that follows an import: queued when it commits, resumable, and honest about what it skipped."""

import io
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import ImportJob, Item, NearDupBucket, NearDupJob
from annotation.services import neardup_jobs
from annotation.services.import_jobs import import_job_create, import_job_run
from annotation.services.import_policies import import_policy_update
from annotation.services.neardup_jobs import neardup_job_run
from common.jobs.models import JobStatus
from tests.factories import project_make

BASE = "The delivery was late and the box arrived completely crushed"
UNRELATED = "Totally unrelated remark about the weather in the mountains"


class _WorkerKilled(BaseException):
    """What a killed worker looks like from inside: nothing after it runs, no handler catches it."""


def _jsonl(*records) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def _imported(project, manager, *records, name="near.jsonl") -> ImportJob:
    job = import_job_create(
        actor=manager, project=project, stream=io.BytesIO(_jsonl(*records)), filename=name
    )
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def _wait(predicate, seconds: float = 180):
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.2)
    return predicate()


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_the_file_then_links_its_near_duplicates_in_a_pass_of_its_own(
    celery_worker_process, manager
):
    project = project_make(manager=manager, name="Near, in the background", texts=[], active_learning="off")
    project.neardup_threshold = 0.7
    project.save()
    job = import_job_create(
        actor=manager,
        project=project,
        stream=io.BytesIO(
            _jsonl({"id": "k", "text": BASE}, {"id": "d", "text": BASE + "!"}, {"id": "u", "text": UNRELATED})
        ),
        filename="near.jsonl",
    )
    assert _wait(lambda: NearDupJob.objects.filter(import_job=job, status=JobStatus.SUCCEEDED).exists())
    near = NearDupJob.objects.get(import_job=job)
    keeper = project.items.get(external_id="k")
    assert project.items.get(external_id="d").duplicate_of_id == keeper.pk
    assert (near.progress_done, near.progress_total, near.linked) == (3, 3, 1)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.near_duplicates == 1
    assert job.report["near_duplicates"] == [
        {"row": None, "member": None, "item": project.items.get(external_id="d").pk,
         "keeper": keeper.pk, "similarity": near.links[0]["similarity"]}
    ]  # fmt: skip


@pytest.mark.django_db
def test_a_pass_taken_over_after_its_worker_died_goes_on_after_its_last_committed_chunk(
    project, manager, monkeypatch
):
    project.neardup_threshold = 0.7
    project.save()
    monkeypatch.setattr(neardup_jobs, "CHUNK", 1)
    _imported(project, manager, {"id": "k", "text": BASE}, {"id": "d", "text": BASE + "!"}, {"id": "u", "text": UNRELATED})
    near = NearDupJob.objects.get(project=project)
    # The worker commits the first chunk (the keeper, filed), then dies inside the second.
    real_texts, calls = neardup_jobs._texts, []

    def dies_in_the_second_chunk(*args):
        calls.append(args)
        if len(calls) == 2:
            raise _WorkerKilled
        return real_texts(*args)

    monkeypatch.setattr(neardup_jobs, "_texts", dies_in_the_second_chunk)
    with pytest.raises(_WorkerKilled):
        neardup_job_run(job_id=near.pk)
    monkeypatch.setattr(neardup_jobs, "_texts", real_texts)
    assert NearDupJob.objects.get(pk=near.pk).progress_done == 1
    long_ago = timezone.now() - timedelta(seconds=neardup_jobs.NEARDUP_JOB_STALE_SECONDS + 60)
    NearDupJob.objects.filter(pk=near.pk).update(heartbeat_at=long_ago)
    neardup_job_run(job_id=near.pk)  # the redelivered message: the stale job is taken over
    near.refresh_from_db()
    keeper = project.items.get(external_id="k")
    assert (near.status, near.progress_done, near.linked) == (JobStatus.SUCCEEDED, 3, 1)
    assert project.items.get(external_id="d").duplicate_of_id == keeper.pk
    assert NearDupBucket.objects.filter(item=keeper).count() == 8, "the keeper was filed once"


@pytest.mark.django_db
def test_items_deleted_before_the_pass_are_skipped_and_the_rest_linked(project, manager):
    project.neardup_threshold = 0.7
    project.save()
    _imported(project, manager, {"id": "k", "text": BASE}, {"id": "gone", "text": UNRELATED},
              {"id": "d", "text": BASE + "!"})  # fmt: skip
    project.items.get(external_id="gone").delete()
    near = neardup_job_run(job_id=NearDupJob.objects.get(project=project).pk)
    assert (near.status, near.progress_done, near.linked) == (JobStatus.SUCCEEDED, 3, 1)
    assert not NearDupBucket.objects.filter(item__external_id="gone").exists()


@pytest.mark.django_db
def test_detection_turned_off_before_the_pass_ends_it_without_linking(project, manager):
    project.neardup_threshold = 0.7
    project.save()
    _imported(project, manager, {"id": "k", "text": BASE}, {"id": "d", "text": BASE + "!"})
    import_policy_update(actor=manager, project=project, cleaning_policy=project.cleaning_policy,
                         pii_policy=project.pii_policy, neardup_threshold=None)  # fmt: skip
    near = neardup_job_run(job_id=NearDupJob.objects.get(project=project).pk)
    assert (near.status, near.linked) == (JobStatus.SUCCEEDED, 0)
    assert not Item.objects.filter(project=project, duplicate_of__isnull=False).exists()


@pytest.mark.django_db
def test_an_import_into_a_project_without_detection_queues_no_pass(project, manager):
    project.neardup_threshold = None
    project.save()
    _imported(project, manager, {"text": BASE}, {"text": BASE + "!"})
    assert not NearDupJob.objects.filter(project=project).exists()


@pytest.mark.django_db
def test_a_pass_runs_once_however_often_its_message_is_delivered(project, manager):
    project.neardup_threshold = 0.7
    project.save()
    _imported(project, manager, {"id": "k", "text": BASE}, {"id": "d", "text": BASE + "!"})
    near = NearDupJob.objects.get(project=project)
    neardup_job_run(job_id=near.pk)
    filed = NearDupBucket.objects.filter(project=project).count()
    again = neardup_job_run(job_id=near.pk)
    assert again.status == JobStatus.SUCCEEDED and again.linked == 1
    assert NearDupBucket.objects.filter(project=project).count() == filed
