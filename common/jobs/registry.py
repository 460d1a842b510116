"""The job kinds, registered by each app in its ``AppConfig.ready()`` so that common code lists and reaps them all."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class JobKind:
    """How the lifecycle treats one kind of job.

    ``stale_seconds`` says how long a running job may go without a heartbeat; ``on_reap(job)``
    runs in the transaction that fails a job whose worker died, and releases what that kind
    holds (its audit event, a lock, a partial file); ``cancel(*, actor, job)`` is the kind's
    audited cancel service, None where the kind cannot be cancelled; ``send(job_id)`` queues the
    job's task again (its claim makes a repeated message harmless).
    """

    name: str
    label: str
    model: type[models.Model]
    stale_seconds: Callable[[], int]
    on_reap: Callable[[models.Model], None]
    cancel: Callable | None = None
    # The project permission (a governance.roles.Perm value) a member needs to cancel it.
    cancel_perm: str | None = None
    # Kinds without a project (an audit verification) are listed on the admins' page only.
    has_project: bool = True
    # Sends the job's task again, ``send(job_id)``: for a queued job whose message the broker lost
    # (``jobs_requeue``). None: such a job stays queued until a user cancels it.
    send: Callable[[int], None] | None = None


_KINDS: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    """Register a kind once; registering the same name again replaces it (Django may call ready() twice)."""
    _KINDS[kind.name] = kind


def job_kinds() -> list[JobKind]:
    return list(_KINDS.values())


def job_kind(name: str) -> JobKind:
    """The kind registered under ``name``; KeyError if no app registered it."""
    return _KINDS[name]


def job_kind_of(model: type[models.Model]) -> JobKind:
    for kind in _KINDS.values():
        if kind.model is model:
            return kind
    raise LookupError(
        f"{model.__name__} is not a registered job kind; register it in its AppConfig.ready()."
    )
