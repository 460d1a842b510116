"""Project membership, project object permissions and the append-only audit trail."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.jobs.models import Job

# The project permission tables belong to the permission gate, the one module that talks to
# django-guardian; importing them here registers them with the governance app.
from governance.access import ProjectGroupObjectPermission, ProjectUserObjectPermission  # noqa: F401
from governance.roles import ProjectRole


class Membership(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=ProjectRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_one_per_user")]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.project_id}"


class AuditEvent(models.Model):
    """One audited action. Rows are only ever inserted; each carries the hash of its predecessor."""

    seq = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField()
    # No database constraint and no cascade: deleting a user must never rewrite the trail.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # Kept as text too, so the trail stays readable after a user is deleted.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    # A plain integer, not a foreign key: events outlive the projects they describe.
    project_id = models.BigIntegerField(null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        # The auditor pages filter on these columns and page newest-first by seq (keyset, never OFFSET).
        indexes = [
            models.Index(fields=["project_id", "seq"], name="audit_project_idx"),
            models.Index(fields=["actor", "seq"], name="audit_actor_idx"),
            models.Index(fields=["actor_name", "seq"], name="audit_actor_name_idx"),
            # Pattern ops so that PostgreSQL can serve "action LIKE 'prefix%'" under any collation.
            models.Index(
                fields=["action", "seq"],
                name="audit_action_prefix_idx",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
            models.Index(fields=["created_at"], name="audit_created_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditVerification(Job):
    """One chain verification started from the auditor pages; a worker fills in the outcome."""

    # The outcome: null until done; intact or broken at first_broken_seq for reason.
    intact = models.BooleanField(null=True)
    checked = models.BigIntegerField(default=0)
    first_broken_seq = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"Verification {self.pk} ({self.status})"


class ProjectKey(models.Model):
    """A project's data key, stored only wrapped (encrypted) by a master key from the environment.

    Destroying ``wrapped_key`` (crypto-shredding) makes every encrypted field of the project
    unreadable for good, wherever copies of the ciphertext live.
    """

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="data_key")
    wrapped_key = models.BinaryField(null=True)
    # Fingerprint of the master key that wrapped it; rotation re-wraps under the newest.
    master_key_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    shredded_at = models.DateTimeField(null=True, blank=True)
    shredded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    @property
    def is_shredded(self) -> bool:
        return self.wrapped_key is None


class ApiToken(models.Model):
    """An API token; only its SHA-256 digest is stored, the secret is shown once at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The first characters of the token, kept in clear so users can tell their tokens apart.
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"


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
