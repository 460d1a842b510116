"""The Jobs pages: every job of every kind, for a project's managers and ML engineers and for admins."""

import pytest
from django.urls import reverse

from annotation.models import ImportJob
from common.jobs.lifecycle import WORKER_LOST
from common.jobs.models import JobStatus
from governance.models import AuditEvent, AuditVerification
from tests.annotation.views.support import client_for
from tests.factories import project_make, user_make
from training.models import (
    ActiveLearningRefresh,
    DatasetVersion,
    LabelCheck,
    PreannotationJob,
    TrainingJob,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs(project, manager, ml_engineer, auditor):
    """A job of each kind: a finished import, a failed pre-annotation, a queued training run on a
    built dataset version, a label check, an active-learning refresh, a verification."""
    version = DatasetVersion.objects.create(
        project=project, number=1, status="ready", requested_by=manager
    )
    return {
        "dataset_build": version,
        "import": ImportJob.objects.create(
            project=project,
            requested_by=manager,
            filename="feedback.jsonl",
            status=JobStatus.SUCCEEDED,
            progress_done=12,
        ),
        "preannotation": PreannotationJob.objects.create(
            project=project,
            requested_by=ml_engineer,
            status=JobStatus.FAILED,
            error=WORKER_LOST,
            progress_done=3,
            progress_total=8,
        ),
        "training": TrainingJob.objects.create(
            project=project,
            dataset_version=version,
            requested_by=ml_engineer,
            log="[t] Queued by ml_engineer.\n",
        ),
        "label_check": LabelCheck.objects.create(project=project, requested_by=manager),
        "active_learning_refresh": ActiveLearningRefresh.objects.create(
            project=project, requested_by=manager
        ),
        "audit_verification": AuditVerification.objects.create(requested_by=auditor),
    }


def _project_url(project):
    return reverse("governance:project-jobs", args=[project.pk])


def _cancel_url(project, kind, job):
    return reverse("governance:project-job-cancel", args=[project.pk, kind, job.pk])


@pytest.mark.parametrize("role", ["manager", "ml_engineer"])
def test_allows_managers_and_ml_engineers_to_see_every_job_of_their_project(
    request, role, project, jobs
):
    response = client_for(request.getfixturevalue(role)).get(_project_url(project))
    assert response.status_code == 200
    shown = {(row.kind.name, row.job.pk) for row in response.context["rows"]}
    assert shown == {(kind, job.pk) for kind, job in jobs.items() if kind != "audit_verification"}
    page = response.text
    job = jobs["preannotation"]
    assert f'id="job-preannotation-{job.pk}" data-kind="preannotation" data-status="failed"' in page
    # A failed job's bar is full, in the failure colour.
    assert '<progress max="8" value="3">' not in page and "progress-failed" in page
    assert "3 / 8" in page and WORKER_LOST in page and "Queued by ml_engineer." in page
    assert "ml_engineer" in page and "manager" in page


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_denies_annotators_and_reviewers_the_jobs_page(request, role, project, jobs):
    assert client_for(request.getfixturevalue(role)).get(_project_url(project)).status_code == 403


def test_denies_the_jobs_page_of_a_project_to_non_members(project, outsider, jobs):
    assert client_for(outsider).get(_project_url(project)).status_code == 404


def test_offers_cancel_only_for_active_jobs_of_a_kind_that_can_be_cancelled(project, manager, jobs):
    page = client_for(manager).get(_project_url(project)).text
    assert _cancel_url(project, "training", jobs["training"]) in page
    assert _cancel_url(project, "preannotation", jobs["preannotation"]) not in page


def test_cancels_a_queued_training_job_from_the_jobs_page_and_audits_it(project, ml_engineer, jobs):
    job = jobs["training"]
    response = client_for(ml_engineer).post(_cancel_url(project, "training", job))
    assert response.status_code == 302 and response["Location"] == _project_url(project)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.cancel_requested
    assert AuditEvent.objects.filter(
        action="training.cancel", target_id=str(job.pk), actor=ml_engineer
    ).exists()


def test_refuses_to_cancel_a_kind_without_a_cancel(project, manager, jobs):
    job = jobs["preannotation"]
    PreannotationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    response = client_for(manager).post(_cancel_url(project, "preannotation", job), follow=True)
    assert "cannot be cancelled" in response.text
    assert PreannotationJob.objects.get(pk=job.pk).status == JobStatus.RUNNING


def test_denies_cancelling_to_a_reviewer_and_a_job_of_another_project_to_a_manager(
    project, manager, reviewer, jobs
):
    assert (
        client_for(reviewer).post(_cancel_url(project, "training", jobs["training"])).status_code
        == 403
    )
    other = project_make(manager=user_make("elsewhere"), name="Other team")
    version = DatasetVersion.objects.create(project=other, number=1, status="ready")
    theirs = TrainingJob.objects.create(project=other, dataset_version=version)
    assert client_for(manager).post(_cancel_url(project, "training", theirs)).status_code == 404
    assert client_for(manager).post(_cancel_url(project, "no_such_kind", theirs)).status_code == 404
    assert TrainingJob.objects.get(pk=theirs.pk).status == JobStatus.QUEUED


def test_allows_admins_to_see_the_jobs_of_every_project_and_of_none(project, admin_user, jobs):
    other = project_make(manager=user_make("elsewhere"), name="Other team")
    theirs = PreannotationJob.objects.create(project=other)
    response = client_for(admin_user).get(reverse("governance:jobs"))
    assert response.status_code == 200
    shown = {(row.kind.name, row.job.pk) for row in response.context["rows"]}
    assert shown == {(kind, job.pk) for kind, job in jobs.items()} | {("preannotation", theirs.pk)}
    assert "Other team" in response.text


@pytest.mark.parametrize("role", ["manager", "ml_engineer", "auditor"])
def test_denies_the_jobs_page_of_every_project_to_anyone_but_admins(request, role, project, jobs):
    user = request.getfixturevalue(role)
    assert client_for(user).get(reverse("governance:jobs")).status_code == 403
    url = reverse("governance:job-cancel", args=["training", jobs["training"].pk])
    assert client_for(user).post(url).status_code == 403


def test_allows_an_admin_to_cancel_any_projects_job(project, admin_user, jobs):
    url = reverse("governance:job-cancel", args=["training", jobs["training"].pk])
    assert client_for(admin_user).post(url)["Location"] == reverse("governance:jobs")
    assert TrainingJob.objects.get(pk=jobs["training"].pk).status == JobStatus.CANCELLED


def test_allows_admin_to_reap_stalled_jobs_now_on_a_worker(
    transactional_db, celery_worker_process, project, manager, admin_user
):
    import time
    from datetime import timedelta

    from django.utils import timezone

    # Created after the worker is ready, so only the request can be what reaps it.
    long_ago = timezone.now() - timedelta(days=1)
    stalled = ImportJob.objects.create(
        project=project, requested_by=manager, filename="stalled.jsonl",
        status=JobStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago,
    )
    client = client_for(admin_user)
    response = client.post(reverse("governance:jobs-reap"))
    assert response.status_code == 302
    deadline = time.monotonic() + 60
    while ImportJob.objects.get(pk=stalled.pk).status == JobStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.2)

    stalled.refresh_from_db()
    assert (stalled.status, stalled.error) == (JobStatus.FAILED, WORKER_LOST), (
        celery_worker_process.log_text()[-4000:]
    )
    assert AuditEvent.objects.get(action="job.reap_request").actor_id == admin_user.pk
    assert "Reaping queued" in client.get(response.url).text


def test_denies_auditor_to_reap_jobs_now(auditor):
    assert client_for(auditor).post(reverse("governance:jobs-reap")).status_code == 403
    assert not AuditEvent.objects.filter(action="job.reap_request").exists()


def test_the_admins_jobs_page_shows_when_reaping_last_ran_and_runs_next(admin_user):
    from datetime import timedelta

    from django.utils import timezone

    from governance.models import ScheduleRun

    url = reverse("governance:jobs")
    assert "The schedule has not run yet" in client_for(admin_user).get(url).text

    last = timezone.now() - timedelta(minutes=1)
    ScheduleRun.objects.create(entry="jobs-reap", last_run_at=last)
    page = client_for(admin_user).get(url).text
    assert "On schedule every 5\xa0minutes." in page
    assert f"Next run due: {last + timedelta(minutes=5):%Y-%m-%d %H:%M}." in page
    assert "Overdue" not in page
    assert reverse("governance:jobs-reap") in page


def test_a_projects_jobs_page_offers_no_reaping_of_every_project(project, ml_engineer):
    page = client_for(ml_engineer).get(reverse("governance:project-jobs", args=[project.pk])).text
    assert reverse("governance:jobs-reap") not in page
