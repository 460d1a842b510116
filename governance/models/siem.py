"""How far the audit trail has been shipped to each SIEM sink (syslog, file)."""

from django.db import models


class SiemCursor(models.Model):
    """One configured sink's position in the trail: every event up to ``last_seq`` was delivered.

    A shipper holds a lock named by this row's id while it works (governance/services/siem.py),
    so one shipper at a time writes to a sink.
    """

    # The sink's URL as configured in AUDIT_SIEM_SINKS (file:///..., syslog+tcp://host:port).
    sink = models.CharField(max_length=500, unique=True)
    last_seq = models.BigIntegerField(default=0)
    # File sinks: the file's length after the last shipped record and which file that was
    # ("device:inode"); bytes past the offset were written by a shipper that died before its
    # cursor committed, and are cut off before the next append.
    file_offset = models.BigIntegerField(default=0)
    file_identity = models.CharField(max_length=64, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    # Consecutive failed attempts; the next one waits until retry_at (back-off).
    failures = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.sink} at #{self.last_seq}"
