"""The abstract job row: state, who asked, when it ran, how far it got and why it failed."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
# Shown on pages and lists; the full text stays in the kind's own fields (a training log, a report).
ERROR_CHARS = 2000


def status_choices(*statuses: JobStatus) -> list[tuple[str, str]]:
    """The choices of ``statuses`` only: for an API whose kind never reaches the others."""
    return [(status.value, status.label) for status in statuses]


class Job(models.Model):
    """One piece of background work; each kind (an import, a training run) adds only what is its own.

    A worker claims a queued job, sends heartbeats while it runs and ends it succeeded, failed or
    cancelled; a running job whose heartbeat is older than its kind's stale time lost its worker
    and is reaped (``common.jobs.lifecycle``).
    """

    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Running: the worker's last sign of life. Queued: when the job's message was last sent again
    # (``jobs_requeue``), so a lost message is re-sent at most once per JOB_REQUEUE_SECONDS.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Units of work done and to do (rows, items, steps); a total of 0 means not known yet.
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    # What a kind calls success; an export says "ready" (its API's word), every other kind "succeeded".
    SUCCESS_STATUSES = (JobStatus.SUCCEEDED,)

    class Meta:
        abstract = True
        ordering = ["-id"]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def has_succeeded(self) -> bool:
        return self.status in self.SUCCESS_STATUSES

    @property
    def duration(self):
        """How long it ran (so far, while running); None before it started."""
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at
