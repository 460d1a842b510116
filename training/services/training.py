"""Training jobs: requested from the web app, run by a Celery worker, cancelled, and failed when their worker dies."""

import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy

from common.jobs.lifecycle import job_cancel, job_claim, job_finish, job_heartbeat, jobs_reap
from common.jobs.models import ERROR_CHARS, JobStatus
from common.jobs.registry import JobKind
from governance.access import has_project_perm
from governance.audit import AuditAction, audit_record
from governance.keyring import project_readable_check
from governance.roles import Perm
from projects.models import Project
from training.models import (
    BaseModel,
    DatasetStatus,
    DatasetVersion,
    Split,
    TrainingJob,
)

logger = logging.getLogger(__name__)

# name: (type, lowest, highest). Only these FinetuneConfig fields may be set by users;
# the rest (device, precision, paths) belong to the worker.
HYPERPARAMETERS = {
    "epochs": (int, 1, 100),
    "learning_rate": (float, 1e-7, 1e-2),
    "batch_size": (int, 1, 512),
    "max_length": (int, 8, 512),
    "weight_decay": (float, 0.0, 1.0),
    "warmup_ratio": (float, 0.0, 0.5),
    "patience": (int, 1, 100),
    "seed": (int, 0, 2**31 - 1),
    "min_steps": (int, 0, 200_000),
    "max_steps": (int, 1, 1_000_000),
}
# name: allowed values, for settings that are words.
CHOICE_HYPERPARAMETERS = {"class_weighting": ("balanced", "none")}
TIME_LIMIT_RANGE = (1, 7 * 24 * 60 * 60)
MAX_LOG_CHARS = 200_000


class TrainingRefused(Exception):
    """The job cannot run as requested; the message says why and is stored on the job."""


class JobLost(Exception):
    """The job stopped being this attempt's to run (failed as stale, deleted, or taken over)."""


# --- paths --------------------------------------------------------------------------------------


def models_dir(project_id: int) -> Path:
    return Path(settings.ARTIFACT_DIR) / "models" / f"project-{project_id}"


def staging_dir(job: TrainingJob) -> Path:
    """Where a run writes its model before it is registered; removed when the run fails."""
    return models_dir(job.project_id) / f"job-{job.pk}.partial"


# --- requests from users ------------------------------------------------------------------------


def hyperparameters_clean(hyperparameters: dict | None) -> dict:
    """The user's hyperparameters, checked against the whitelist and its ranges, with proper types."""
    given = dict(hyperparameters or {})
    allowed = [*HYPERPARAMETERS, *CHOICE_HYPERPARAMETERS]
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValidationError(
            {"hyperparameters": f"unknown: {', '.join(unknown)}; allowed: {', '.join(allowed)}."}
        )
    clean = {}
    for name, raw in given.items():
        if raw in (None, ""):
            continue
        if name in CHOICE_HYPERPARAMETERS:
            if raw not in CHOICE_HYPERPARAMETERS[name]:
                raise ValidationError({name: f"{raw!r} is not one of {', '.join(CHOICE_HYPERPARAMETERS[name])}."})
            clean[name] = raw
            continue
        kind, lowest, highest = HYPERPARAMETERS[name]
        try:
            if isinstance(raw, bool):
                raise ValueError
            value = kind(raw)
            if kind is int and float(raw) != value:
                raise ValueError
        except (TypeError, ValueError):
            raise ValidationError(
                {name: f"{raw!r} is not {'a whole number' if kind is int else 'a number'}."}
            ) from None
        if not lowest <= value <= highest:
            raise ValidationError({name: f"{value} is outside {lowest}..{highest}."})
        clean[name] = value
    return clean


def _time_limit_clean(time_limit_seconds) -> int:
    if time_limit_seconds in (None, ""):
        return TrainingJob._meta.get_field("time_limit_seconds").default
    try:
        value = int(time_limit_seconds)
    except (TypeError, ValueError):
        raise ValidationError(
            {"time_limit_seconds": f"{time_limit_seconds!r} is not a whole number of seconds."}
        ) from None
    lowest, highest = TIME_LIMIT_RANGE
    if not lowest <= value <= highest:
        raise ValidationError({"time_limit_seconds": f"{value} is outside {lowest}..{highest} seconds."})
    return value


def _dataset_check(project: Project, version: DatasetVersion) -> None:
    if version.project_id != project.pk:
        raise ValidationError({"dataset_version": "The dataset version belongs to another project."})
    if version.status != DatasetStatus.READY:
        raise ValidationError(
            {
                "dataset_version": f"Dataset version {version.number} is {version.public_status}; only a ready version can be trained on."
            }
        )
    splits = version.manifest.get("splits", {})
    for split in (Split.TRAIN, Split.DEV):
        if not splits.get(split):
            raise ValidationError(
                {
                    "dataset_version": f"Dataset version {version.number} has no {split} examples; "
                    f"training needs train and dev examples (it has {dict(splits)})."
                }
            )


@transaction.atomic
def training_request(
    *,
    actor,
    project: Project,
    dataset_version: DatasetVersion,
    base_model: BaseModel | None = None,
    hyperparameters: dict | None = None,
    time_limit_seconds: int | None = None,
    then_suggest: bool = False,
) -> TrainingJob:
    """Queue a fine-tuning run of a ready dataset version; a worker on the training queue runs it.

    With ``then_suggest`` the worker then pre-annotates with whichever of the new model and the
    embedding head scores better on the same held-out items (``registry.suggestions_after_training``).
    """
    project_readable_check(project=project)
    _dataset_check(project, dataset_version)
    clean = hyperparameters_clean(hyperparameters)
    limit = _time_limit_clean(time_limit_seconds)
    jobs_reap(model=TrainingJob, project=project)
    job = TrainingJob.objects.create(
        project=project,
        dataset_version=dataset_version,
        base_model=base_model,
        hyperparameters=clean,
        requested_by=actor,
        time_limit_seconds=limit,
        then_suggest=bool(then_suggest),
        log=log_line(
            f"Queued by {actor.get_username()}: dataset version {dataset_version.number}, "
            f"base model {base_model.name if base_model else 'bundled MiniLM-L6'}, settings {clean or 'default'}."
        ),
    )
    audit_record(
        actor=actor,
        action=AuditAction.TRAINING_REQUEST,
        project=project,
        target=job,
        details={
            "dataset_version": dataset_version.number,
            "dataset_hash": dataset_version.content_hash,
            "base_model": base_model.name if base_model else None,
            "hyperparameters": clean,
            "time_limit_seconds": limit,
            "then_suggest": bool(then_suggest),
        },
    )
    from training.celery_tasks import train_model_task

    queue = settings.TRAINING_QUEUE
    transaction.on_commit(lambda: train_model_task.apply_async((job.pk,), queue=queue))
    return job


@transaction.atomic
def training_cancel(*, actor, job: TrainingJob) -> TrainingJob:
    """Cancel a queued job at once; ask a running one to stop at its next step."""
    job = TrainingJob.objects.select_for_update().get(pk=job.pk)
    who = actor.get_username()
    if job.status == JobStatus.QUEUED and job_cancel(job):
        note = f"Cancelled by {who} before it started."
    elif job.status == JobStatus.RUNNING:
        if job.cancel_requested:
            return job
        note = f"Cancel requested by {who}; the worker stops at its next step."
    else:
        raise ValidationError(
            {"job": f"Training job {job.pk} is already {job.status}; only queued or running jobs can be cancelled."}
        )
    TrainingJob.objects.filter(pk=job.pk).update(cancel_requested=True, log=Concat(F("log"), Value(log_line(note))))
    job.refresh_from_db()
    audit_record(actor=actor, action=AuditAction.TRAINING_CANCEL, project=job.project, target=job, details={"status": job.status})
    return job


# --- dead workers -------------------------------------------------------------------------------


def training_job_reaped(job: TrainingJob) -> None:
    """What a dead worker's run leaves (``common.jobs`` hook): a line in its log, its audit event, its partial model."""
    TrainingJob.objects.filter(pk=job.pk).update(log=Concat(F("log"), Value(log_line(job.error))))
    _failure_audit(job, status=job.status, message=job.error, attempt=job.attempts)
    shutil.rmtree(staging_dir(job), ignore_errors=True)


def _training_send(job_id: int) -> None:
    from training.celery_tasks import train_model_task

    train_model_task.apply_async((job_id,), queue=settings.TRAINING_QUEUE)


TRAINING_JOB_KIND = JobKind(
    name="training",
    label=gettext_lazy("Training"),
    model=TrainingJob,
    stale_seconds=lambda: settings.TRAINING_STALE_SECONDS,
    on_reap=training_job_reaped,
    cancel=training_cancel,
    cancel_perm=Perm.TRAIN_MODELS,
    send=_training_send,
)


def training_job_refresh(*, job: TrainingJob) -> TrainingJob:
    """The job as stored now, failed first if its worker died; for pages and clients that poll it."""
    jobs = TrainingJob.objects.select_related("project", "dataset_version", "base_model", "requested_by")
    fresh = jobs.get(pk=job.pk)
    if fresh.status == JobStatus.RUNNING and jobs_reap(model=TrainingJob, project=fresh.project):
        fresh = jobs.get(pk=job.pk)
    return fresh


# --- the worker side ----------------------------------------------------------------------------


def training_run(*, job_id: int, worker: str = "") -> None:
    """Fine-tune, evaluate and register a model for one job; runs in a Celery worker.

    Only a queued job, or a running one whose worker died (stale heartbeat; the broker
    redelivers its message thanks to late acknowledgement), is taken, with one conditional
    UPDATE: a second delivery of the same message does nothing. Every later write names the
    attempt it belongs to, so a worker that lost its job cannot overwrite the new attempt.
    """
    claimed = job_claim(
        TrainingJob,
        job_id=job_id,
        attempts=F("attempts") + 1,
        worker=worker[:200],
        error="",
        progress={},
        progress_done=0,
        progress_total=0,
    )
    if not claimed:
        logger.info("Training job %s is not queued any more; nothing to do.", job_id)
        return
    job = TrainingJob.objects.select_related("project", "dataset_version", "base_model", "requested_by").get(pk=job_id)
    attempt = job.attempts
    shutil.rmtree(staging_dir(job), ignore_errors=True)  # what an earlier, killed attempt left
    attempt_log(job, attempt, f"Attempt {attempt} started on worker {worker or 'unknown'}.")
    try:
        if job.requested_by is not None and not has_project_perm(
            user=job.requested_by, project=job.project, perm=Perm.TRAIN_MODELS
        ):
            raise TrainingRefused(
                f"{job.requested_by.get_username()} may no longer train models in this project; the job was not run."
            )
        from training.services.finetuning import training_execute

        training_execute(job, attempt)
    except JobLost:
        logger.warning("Training job %s attempt %s lost its claim; stopping without writing.", job_id, attempt)
        shutil.rmtree(staging_dir(job), ignore_errors=True)
    except Exception as error:
        from training.ml.finetune import TimeLimitExceeded, TrainingCancelled

        if isinstance(error, TrainingCancelled):
            _finish(job, JobStatus.CANCELLED, f"Cancelled: {error}", attempt=attempt)
        elif isinstance(error, (TrainingRefused, TimeLimitExceeded)):
            _finish(job, JobStatus.FAILED, str(error), attempt=attempt)
        else:
            logger.exception("Training job %s failed.", job_id)
            _finish(job, JobStatus.FAILED, f"{type(error).__name__}: {error}", attempt=attempt)


def log_line(text: str) -> str:
    """One timestamped line of a job's log."""
    return f"[{timezone.now().strftime('%Y-%m-%d %H:%M:%S')}] {text}\n"


def attempt_rows(job: TrainingJob, attempt: int):
    """The job's row while ``attempt`` still owns it (running, not reaped, not taken over); else none."""
    return TrainingJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=attempt)


def attempt_log(job: TrainingJob, attempt: int, text: str, **fields) -> None:
    """Append a line to the job's log (and set ``fields``) if this attempt still owns the job."""
    if not job_heartbeat(job, rows=attempt_rows(job, attempt), log=Concat(F("log"), Value(log_line(text))), **fields):
        raise JobLost()


def _finish(job: TrainingJob, status: str, message: str, *, attempt: int) -> bool:
    """End a run as failed or cancelled, keep its log, remove its partial model; False if it was not ours."""
    message = message[:ERROR_CHARS]
    with transaction.atomic():
        updated = job_finish(
            job,
            status=status,
            error=message if status == JobStatus.FAILED else "",
            rows=attempt_rows(job, attempt),
            log=Concat(F("log"), Value(log_line(message))),
        )
        if updated and Project.objects.filter(pk=job.project_id).exists():
            _failure_audit(job, status=status, message=message, attempt=attempt)
    if updated:
        shutil.rmtree(staging_dir(job), ignore_errors=True)
    return updated


def _failure_audit(job: TrainingJob, *, status: str, message: str, attempt: int) -> None:
    audit_record(
        actor=None,
        action=AuditAction.TRAINING_FAIL,
        project=job.project,
        target=job,
        details={"status": status, "error": message, "attempt": attempt},
    )
