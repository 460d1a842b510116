"""A worker killed mid-job: every kind's job is reaped the same way, and releases what its kind holds."""

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.utils import timezone

from annotation.services.exports import export_path, export_request
from annotation.services.import_jobs import import_job_create
from common.jobs.lifecycle import WORKER_LOST, jobs_reap
from common.jobs.models import Job, JobStatus
from common.jobs.registry import job_kind_of, job_kinds
from governance.models import AuditEvent, AuditVerification
from tests.factories import project_make
from training.models import ActiveLearning, DatasetVersion, PreannotationJob, TrainingJob
from training.selectors.active import refresh_latest
from training.services.active_learning import active_learning_refresh_request
from training.services.datasets import dataset_artifact_path
from training.services.label_issues import label_issues_request
from training.services.training import staging_dir

pytestmark = pytest.mark.django_db


@dataclass
class Case:
    """A job of one kind, what it holds while it runs, and the audit event its reaping records."""

    job: Job
    held: Path | None
    event: str | None


def _import(project, manager, auditor, tmp_path) -> Case:
    job = import_job_create(
        actor=manager, project=project, stream=io.BytesIO(b'{"text": "one"}\n'), filename="f.jsonl"
    )
    return Case(job, Path(job.upload_path), "import.reap")


def _preannotation(project, manager, auditor, tmp_path) -> Case:
    job = PreannotationJob.objects.create(project=project, requested_by=manager)
    return Case(job, None, "preannotation.fail")


def _training(project, manager, auditor, tmp_path) -> Case:
    version = DatasetVersion.objects.create(project=project, number=1, status="ready")
    job = TrainingJob.objects.create(
        project=project, dataset_version=version, requested_by=manager, attempts=1
    )
    staging_dir(job).mkdir(parents=True)  # the partial model a killed run leaves
    return Case(job, staging_dir(job), "training.fail")


def _export(project, manager, auditor, tmp_path) -> Case:
    export = export_request(actor=manager, project=project, fmt="csv")
    partial = export_path(export)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"half an export")  # the sealed file a killed worker was writing
    return Case(export, partial, None)


def _dataset_build(project, manager, auditor, tmp_path) -> Case:
    version = DatasetVersion.objects.create(project=project, number=1, requested_by=manager)
    partial = dataset_artifact_path(version)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"half a dataset")  # the sealed file a killed worker was writing
    return Case(version, partial, None)


def _label_check(project, manager, auditor, tmp_path) -> Case:
    return Case(label_issues_request(actor=manager, project=project), None, None)


def _active_learning_refresh(project, manager, auditor, tmp_path) -> Case:
    ActiveLearning.objects.filter(project=project).update(strategy="entropy")
    active_learning_refresh_request(project=project, actor=manager, force=True)
    return Case(refresh_latest(project=project), None, None)


def _item_bulk(project, manager, auditor, tmp_path) -> Case:
    from annotation.models import ItemBulkJob

    job = ItemBulkJob.objects.create(project=project, requested_by=manager, action="review", item_count=1)
    return Case(job, None, None)  # holds nothing: what it changed stays changed, each item audited


def _neardup(project, manager, auditor, tmp_path) -> Case:
    from annotation.models import NearDupJob

    job = NearDupJob.objects.create(project=project, requested_by=manager, item_ranges=[[1, 1]])
    return Case(job, None, None)  # holds nothing: its committed chunks stay linked and filed


def _audit_verification(project, manager, auditor, tmp_path) -> Case:
    return Case(AuditVerification.objects.create(requested_by=auditor), None, None)


def _key_rewrap(project, manager, auditor, tmp_path) -> Case:
    from governance.models import KeyRewrap

    job = KeyRewrap.objects.create(requested_by=manager)
    return Case(job, None, None)  # holds nothing: each re-wrap committed on its own; run it again


def _project_key_reencrypt(project, manager, auditor, tmp_path) -> Case:
    from governance.models.key_lifecycle import ProjectKeyReencrypt

    job = ProjectKeyReencrypt.objects.create(project=project, requested_by=manager)
    return Case(job, None, None)  # holds nothing: each batch committed on its own; run it again


KINDS = {
    "import": _import,
    "export": _export,
    "preannotation": _preannotation,
    "training": _training,
    "dataset_build": _dataset_build,
    "label_check": _label_check,
    "active_learning_refresh": _active_learning_refresh,
    "audit_verification": _audit_verification,
    "item_bulk": _item_bulk,
    "neardup": _neardup,
    "key_rewrap": _key_rewrap,
    "project_key_reencrypt": _project_key_reencrypt,
}


def _worker_killed(job: Job) -> None:
    """What a killed worker leaves: the job running, its last heartbeat older than its kind allows."""
    beat = timezone.now() - timedelta(seconds=job_kind_of(type(job)).stale_seconds() + 60)
    type(job).objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=beat, heartbeat_at=beat
    )


def test_every_concrete_job_model_is_a_registered_kind_and_each_kind_is_tested_here():
    concrete = {model for model in apps.get_models() if issubclass(model, Job)}
    assert concrete == {kind.model for kind in job_kinds()}, (
        "register the kind in its AppConfig.ready()"
    )
    assert {kind.name for kind in job_kinds()} == set(KINDS), (
        "add the new kind to KINDS in this test"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_job_whose_worker_died_is_failed_with_one_message_and_releases_what_it_held(
    kind, project, manager, auditor, settings, tmp_path
):
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    case = KINDS[kind](project, manager, auditor, tmp_path)
    _worker_killed(case.job)

    assert jobs_reap() == 1

    job = type(case.job).objects.get(pk=case.job.pk)
    assert (job.status, job.error) == (JobStatus.FAILED, WORKER_LOST)
    assert job.finished_at is not None and not job.is_active
    if case.held is not None:
        assert not case.held.exists(), f"the {kind} job's {case.held.name} was not released"
    if case.event is not None:
        event = AuditEvent.objects.filter(action=case.event).last()
        assert event is not None and event.target_id == str(job.pk)
    assert jobs_reap() == 0, "a reaped job is not reaped twice"


@pytest.mark.parametrize("kind", KINDS)
def test_a_job_still_sending_heartbeats_is_left_running(
    kind, project, manager, auditor, settings, tmp_path
):
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    case = KINDS[kind](project, manager, auditor, tmp_path)
    type(case.job).objects.filter(pk=case.job.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )

    assert jobs_reap() == 0
    assert type(case.job).objects.get(pk=case.job.pk).status == JobStatus.RUNNING
    if case.held is not None:
        assert case.held.exists()


def test_reaping_one_project_leaves_the_jobs_of_others_and_of_no_project(project, manager, auditor):
    other = PreannotationJob.objects.create(project=project, requested_by=manager)
    verification = AuditVerification.objects.create(requested_by=auditor)
    for job in (other, verification):
        _worker_killed(job)
    elsewhere = project_make(name="Elsewhere", manager=manager)
    assert jobs_reap(project=elsewhere) == 0
    assert jobs_reap(project=project) == 1
    assert AuditVerification.objects.get(pk=verification.pk).status == JobStatus.RUNNING
