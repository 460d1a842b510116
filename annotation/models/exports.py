"""Export files made in the background: who asked, what they hold, where they lie sealed."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from common.jobs.models import Job


class ExportStatus(models.TextChoices):
    """The job states (common.jobs.JobStatus) under the names the exports API has always shown.

    A finished export is "ready" rather than "succeeded", and "erased" once its file is deleted.
    """

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    ERASED = "erased", _("Erased")


class ExportRecord(Job):
    """One export file: who made it, of what, in which format, where it lies sealed, until when.

    Its progress counts items written, out of the items with a submitted answer when it started.
    """

    SUCCESS_STATUSES = (ExportStatus.READY,)

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="export_records")
    dataset_version = models.ForeignKey(
        "training.DatasetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    format = models.CharField(max_length=10)
    redacted = models.BooleanField(default=False)
    # The lifecycle's states under the exports API's names (see ExportStatus).
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    # Only these items, as [first, last] id runs (a selection made in the item browser); null: all.
    selection = models.JSONField(null=True, blank=True)
    # Which items the file holds, as [first, last] id runs; erasure looks here for files to destroy.
    item_ranges = models.JSONField(default=list, blank=True)
    file_path = models.CharField(max_length=500, blank=True)
    file_bytes = models.PositiveBigIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when the model lived in governance (moved, not copied).
        db_table = "governance_exportrecord"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.format}, {self.status})"
