"""The state changes of a job, the same for every kind: claim, heartbeat, progress, cancel, finish, fail, reap.

Each is one conditional UPDATE, so two workers (a redelivered message, a reaper and a worker
coming back to life) never both win: the loser's update matches no row and it learns so.
"""

import errno
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_noop

from common.jobs.models import ERROR_CHARS, Job, JobStatus
from common.jobs.registry import JobKind, job_kind_of, job_kinds
from common.observability import job_finished_record

# Stored on the job in English (the worker has no user language); translated when displayed.
WORKER_LOST = gettext_noop(
    "The worker running this job stopped responding (no heartbeat in time); the job was stopped."
)

DISK_FULL = gettext_noop(
    "No space left on the disk that holds this job's files; nothing was kept. "
    "Free space (or ask an administrator to), then run it again."
)


def job_error_text(error: BaseException) -> str:
    """What a failed job tells its user about ``error``: a full disk in words (ENOSPC), anything else as raised."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return DISK_FULL
    return f"{type(error).__name__}: {error}"


def stale_seconds(kind: JobKind) -> int:
    """How long a running job of ``kind`` may go without a heartbeat: JOB_STALE_SECONDS if set, else the kind's."""
    return getattr(settings, "JOB_STALE_SECONDS", None) or kind.stale_seconds()


def stale_before(model: type[Job]) -> datetime:
    return timezone.now() - timedelta(seconds=stale_seconds(job_kind_of(model)))


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
    now = timezone.now()
    ended = bool(rows.update(status=status, finished_at=now, error=error[:ERROR_CHARS], **fields))
    if ended:
        _ended_record(job, status=status, finished_at=now)
    return ended


def job_fail(job: Job, *, error: str, rows: QuerySet | None = None, **fields) -> bool:
    return job_finish(job, status=JobStatus.FAILED, error=error, rows=rows, **fields)


def job_cancel(job: Job) -> bool:
    """Cancel a job that no worker took yet; False if one did (a running job stops at the kind's next check)."""
    now = timezone.now()
    cancelled = bool(
        type(job)
        .objects.filter(pk=job.pk, status=JobStatus.QUEUED)
        .update(status=JobStatus.CANCELLED, finished_at=now)
    )
    if cancelled:
        _ended_record(job, status=JobStatus.CANCELLED, finished_at=now, started=False)
    return cancelled


def _ended_record(job: Job, *, status: str, finished_at: datetime, started: bool = True) -> None:
    """Count the end in the metrics once the transaction that wrote it commits (a rollback took it back)."""
    try:
        kind = job_kind_of(type(job)).name
    except LookupError:
        kind = type(job).__name__.lower()
    started_at = job.started_at if started else None
    transaction.on_commit(
        lambda: job_finished_record(kind=kind, outcome=str(status), started_at=started_at, finished_at=finished_at)
    )


def jobs_reap(*, model: type[Job] | None = None, project=None) -> int:
    """Fail every running job whose worker died, of one kind or of all; how many there were.

    Each job is failed by one UPDATE conditional on the heartbeat read, so a worker that came
    back to life in between keeps its job; in the same transaction the kind's ``on_reap`` hook
    records its audit event and releases what the job held. Queued jobs whose message the
    broker may have lost are sent again (``jobs_requeue``).
    """
    kinds = job_kinds() if model is None else [job_kind_of(model)]
    reaped = sum(_kind_reap(kind, project=project) for kind in kinds)
    for kind in kinds:
        _kind_requeue(kind, project=project)
    return reaped


def jobs_requeue(*, model: type[Job] | None = None, project=None) -> int:
    """Send again the task of every queued job whose message went out JOB_REQUEUE_SECONDS ago; how many.

    A broker that restarts without persistence (Redis as usually run) loses the messages it held,
    and their jobs would stay queued for ever. A job still waiting behind others gets a second
    message, which does nothing once the first has run it: only one claim of a queued job wins.
    For a queued job ``heartbeat_at`` holds when its message was last sent (a claim overwrites it),
    so each job is sent at most once per JOB_REQUEUE_SECONDS.
    """
    kinds = job_kinds() if model is None else [job_kind_of(model)]
    return sum(_kind_requeue(kind, project=project) for kind in kinds)


def _kind_requeue(kind: JobKind, *, project) -> int:
    if kind.send is None or (project is not None and not kind.has_project):
        return 0
    now = timezone.now()
    before = now - timedelta(seconds=settings.JOB_REQUEUE_SECONDS)
    lost = kind.model.objects.alias(sent_at=Coalesce("heartbeat_at", "created_at")).filter(
        status=JobStatus.QUEUED, sent_at__lt=before
    )
    if project is not None:
        lost = lost.filter(project=project)
    sent = 0
    for job_id in list(lost.values_list("pk", flat=True)):
        # Conditional on the job still being queued and unsent: of two reapers, one sends.
        marked = (
            kind.model.objects.alias(sent_at=Coalesce("heartbeat_at", "created_at"))
            .filter(pk=job_id, status=JobStatus.QUEUED, sent_at__lt=before)
            .update(heartbeat_at=now)
        )
        if marked:
            transaction.on_commit(lambda job_id=job_id: kind.send(job_id))
            sent += 1
    return sent


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
