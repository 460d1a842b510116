import time

import pytest

from annotation.models import Prediction
from common.jobs.models import JobStatus
from training.models import PreannotationJob
from training.services.preannotation import preannotation_request

pytestmark = pytest.mark.worker

TIMEOUT_SECONDS = 120


def _wait_for_finish(job_id: int) -> PreannotationJob:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        job = PreannotationJob.objects.get(pk=job_id)
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return job
        time.sleep(0.5)
    pytest.fail(f"Job {job_id} still {job.status} after {TIMEOUT_SECONDS} s.")


def test_a_requested_job_is_run_by_the_worker_process(transactional_db, celery_worker_process, project, manager):
    job = preannotation_request(actor=manager, project=project)
    assert job.status == JobStatus.QUEUED

    job = _wait_for_finish(job.pk)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert Prediction.objects.filter(project=project, model_version=job.model_version).count() == 6
    assert f"Pre-annotation job {job.pk} stored 6 predictions" in celery_worker_process.log_text()


def test_a_failing_job_is_marked_failed_by_the_worker(transactional_db, celery_worker_process, manager):
    from tests.factories import project_make

    project = project_make(manager=manager, labels=[], texts=["Ada."])
    job = _wait_for_finish(preannotation_request(actor=manager, project=project).pk)
    assert job.status == JobStatus.FAILED
    assert "no labels" in job.error
