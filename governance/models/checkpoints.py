"""Signed checkpoints of the audit trail and their delivery to each sink outside the database."""

from django.db import models


class AuditCheckpoint(models.Model):
    """One signed checkpoint: the chain had ``size`` events, the last hashing to ``head_hash``.

    The row is the app's own record; what counts for verification are the copies in the sinks.
    """

    size = models.BigIntegerField(unique=True)
    head_hash = models.CharField(max_length=64)
    origin = models.CharField(max_length=255)
    # The signed note, with the cosignatures witnesses returned appended.
    note = models.TextField()
    created_at = models.DateTimeField()
    # The audit.checkpoint event recorded with it: the one event after ``size`` that is not news.
    audit_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-size"]

    def __str__(self) -> str:
        return f"Checkpoint {self.size}"


class AuditCheckpointDelivery(models.Model):
    """A checkpoint's delivery to one sink (named by its URL): pending until ``delivered_at``."""

    checkpoint = models.ForeignKey(AuditCheckpoint, on_delete=models.PROTECT, related_name="deliveries")
    sink = models.CharField(max_length=500)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # The last failure's message; cleared once delivered.
    error = models.TextField(blank=True)
    cosignatures = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["checkpoint", "sink"], name="checkpoint_delivery_once")]
        # The retry reads a sink's pending deliveries in size order.
        indexes = [models.Index(fields=["sink", "delivered_at"], name="checkpoint_pending_idx")]

    def __str__(self) -> str:
        return f"{self.checkpoint} to {self.sink}"
