"""Retention periods, schedule runs and erasure requests."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ProjectRetention(models.Model):
    """How long a project keeps its items; older items are deleted by the retention job."""

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="retention")
    days = models.PositiveIntegerField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    # Last time the retention job ran on this project, and how many items it removed then.
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_deleted = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Project {self.project_id}: {self.days} days"


class ScheduleRun(models.Model):
    """When beat last ran one entry of the schedule: web replicas cannot read beat's own file."""

    entry = models.CharField(max_length=100, unique=True)  # the key in CELERY_BEAT_SCHEDULE
    last_run_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.entry} at {self.last_run_at:%Y-%m-%d %H:%M}"


class ErasureStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ErasureRequest(models.Model):
    """A data subject's erasure request and, once done, its record; the identifier is never stored in clear."""

    # Keyed hash (HMAC under a key derived from SECRET_KEY) of the normalised identifier: lets a
    # repeated request be recognised without keeping the identifier.
    subject_index = models.CharField(max_length=64, db_index=True)
    # The identifier itself, sealed under the newest master key only while the worker needs it to
    # search; emptied when the request finishes, whatever the outcome.
    subject_ct = models.BinaryField(null=True)
    # The project it is limited to; null reaches every project.
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=ErasureStatus.choices, default=ErasureStatus.QUEUED)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What was removed: counts per kind, item id ranges per project, versions and exports made unreadable.
    record = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Erasure {self.pk} ({self.status})"
