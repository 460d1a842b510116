"""Export files made in the background: who asked, what they hold, where they lie sealed."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _



class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    ERASED = "erased", _("Erased")


class ExportRecord(models.Model):
    """One export file: who made it, of what, in which format, where it lies sealed, until when."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="export_records")
    dataset_version = models.ForeignKey(
        "training.DatasetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    format = models.CharField(max_length=10)
    redacted = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    items_total = models.PositiveIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    # Which items the file holds, as [first, last] id runs; erasure looks here for files to destroy.
    item_ranges = models.JSONField(default=list, blank=True)
    file_path = models.CharField(max_length=500, blank=True)
    file_bytes = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when the model lived in governance (moved, not copied).
        db_table = "governance_exportrecord"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.format}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
