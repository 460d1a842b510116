"""Archives of the audit trail: signed files that hold a contiguous range of events moved out of the table."""

from django.db import models
from django.utils.translation import pgettext_lazy


class AuditArchiveState(models.TextChoices):
    # The events are in the file only; the table's append-only trigger let them go for this row.
    SEALED = "sealed", pgettext_lazy("audit archive state", "Sealed")
    # The events were put back into the table; the file stays as it was written.
    RESTORED = "restored", pgettext_lazy("audit archive state", "Restored")


class AuditArchive(models.Model):
    """Events ``first_seq``..``last_seq`` in the file ``file_name`` of AUDIT_ARCHIVE_DIR (docs/audit-archive.md).

    The row is the app's index of its archives; what verification trusts is the file's signed
    manifest and the checkpoint note inside it, compared with this row.
    """

    first_seq = models.BigIntegerField(unique=True)
    last_seq = models.BigIntegerField(unique=True)
    event_count = models.BigIntegerField()
    # The hash the first event links to, and the last event's hash (= the covering checkpoint's head).
    first_prev_hash = models.CharField(max_length=64)
    last_hash = models.CharField(max_length=64)
    # The range's earliest and latest event times (the date search picks files by them).
    earliest_created_at = models.DateTimeField()
    latest_created_at = models.DateTimeField()
    file_name = models.CharField(max_length=200, unique=True)
    file_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    # The signed checkpoint inside the file: its size is last_seq, its head last_hash.
    checkpoint_size = models.BigIntegerField()
    checkpoint_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=AuditArchiveState.choices, default=AuditArchiveState.SEALED)
    created_at = models.DateTimeField()
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["first_seq"]
        constraints = [
            models.CheckConstraint(condition=models.Q(last_seq__gte=models.F("first_seq")), name="audit_archive_range"),
        ]

    def __str__(self) -> str:
        return f"Archive {self.pk} (#{self.first_seq}..#{self.last_seq})"
