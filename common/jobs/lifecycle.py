"""The state changes of a job, the same for every kind: claim, heartbeat, progress, cancel, finish, fail, reap.

Each is one conditional UPDATE, so two workers (a redelivered message, a reaper and a worker
coming back to life) never both win: the loser's update matches no row and it learns so.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from common.jobs.models import ERROR_CHARS, Job, JobStatus
from common.jobs.registry import JobKind, job_kind_of, job_kinds

# Stored on the job in English (the worker has no user language); translated when displayed.
WORKER_LOST = gettext_noop(
    "The worker running this job stopped responding (no heartbeat in time); the job was stopped."
)


def stale_before(model: type[Job]) -> datetime:
    return timezone.now() - timedelta(seconds=job_kind_of(model).stale_seconds())


def stale_q(model: type[Job]) -> Q:
    """Running jobs of ``model`` whose worker is taken to be dead (no heartbeat within the stale time)."""
    before = stale_before(model)
    return Q(status=JobStatus.RUNNING) & (
        Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True, started_at__lt=before)
    )


def running_rows(job: Job) -> QuerySet:
    """The job's row while it is still running; a kind narrows it further (training: to its attempt)."""
    return type(job).objects.filter(pk=job.pk, status=JobStatus.RUNNING)


def job_claim(model: type[Job], *, job_id: int, **fields) -> bool:
    """Take a queued job, or a running one whose worker died, for this worker; False if it is not takeable.

    Run from the task that the broker may deliver twice (late acknowledgement): the second
    delivery finds the job running with a fresh heartbeat and does nothing.
    """
    now = timezone.now()
    takeable = Q(status=JobStatus.QUEUED) | stale_q(model)
    return bool(
        model.objects.filter(takeable, pk=job_id).update(
            status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, **fields
        )
    )


def job_heartbeat(job: Job, *, rows: QuerySet | None = None, **fields) -> bool:
    """Say the worker is alive (and set ``fields``); False once the job is no longer this worker's."""
    rows = running_rows(job) if rows is None else rows
    return bool(rows.update(heartbeat_at=timezone.now(), **fields))


def job_progress(
    job: Job, *, done: int, total: int | None = None, rows: QuerySet | None = None, **fields
) -> bool:
    """Record how far the job got; a heartbeat too."""
    if total is not None:
        fields["progress_total"] = total
    return job_heartbeat(job, rows=rows, progress_done=done, **fields)


def job_finish(
    job: Job,
    *,
    status: str = JobStatus.SUCCEEDED,
    error: str = "",
    rows: QuerySet | None = None,
    **fields,
) -> bool:
    """End the job with ``status``; ``rows`` narrows which state it may end from (default: any)."""
    rows = type(job).objects.filter(pk=job.pk) if rows is None else rows
    return bool(
        rows.update(status=status, finished_at=timezone.now(), error=error[:ERROR_CHARS], **fields)
    )


def job_fail(job: Job, *, error: str, rows: QuerySet | None = None, **fields) -> bool:
    return job_finish(job, status=JobStatus.FAILED, error=error, rows=rows, **fields)


def job_cancel(job: Job) -> bool:
    """Cancel a job that no worker took yet; False if one did (a running job stops at the kind's next check)."""
    return bool(
        type(job)
        .objects.filter(pk=job.pk, status=JobStatus.QUEUED)
        .update(status=JobStatus.CANCELLED, finished_at=timezone.now())
    )


def jobs_reap(*, model: type[Job] | None = None, project=None) -> int:
    """Fail every running job whose worker died, of one kind or of all; how many there were.

    Each job is failed by one UPDATE conditional on the heartbeat read, so a worker that came
    back to life in between keeps its job; in the same transaction the kind's ``on_reap`` hook
    records its audit event and releases what the job held.
    """
    kinds = job_kinds() if model is None else [job_kind_of(model)]
    return sum(_kind_reap(kind, project=project) for kind in kinds)


def _kind_reap(kind: JobKind, *, project) -> int:
    stale = kind.model.objects.filter(stale_q(kind.model))
    if project is not None:
        if not kind.has_project:
            return 0
        stale = stale.filter(project=project)
    reaped = 0
    for job in stale:
        with transaction.atomic():
            seen = kind.model.objects.filter(
                stale_q(kind.model), pk=job.pk, heartbeat_at=job.heartbeat_at
            )
            if not job_fail(job, error=WORKER_LOST, rows=seen):
                continue
            job.status, job.error = JobStatus.FAILED, WORKER_LOST
            kind.on_reap(job)
        reaped += 1
    return reaped
