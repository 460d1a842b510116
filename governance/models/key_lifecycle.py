"""The lifecycle of master keys (versions and states), the key-state stamp and the background re-wrap job."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from common.jobs.models import Job


class MasterKeyState(models.TextChoices):
    # Tink's and Vault's states: one primary wraps; the others unwrap until re-wrapped, can be
    # switched off without losing them, and are retired once nothing depends on them.
    PRIMARY = "primary", _("Active (primary)")
    DECRYPT_ONLY = "decrypt_only", _("Decrypt only")
    DISABLED = "disabled", _("Disabled")
    DESTROYED = "destroyed", _("Destroyed")


class MasterKeyVersion(models.Model):
    """One master key, known by its fingerprint; the key itself lives only in MASTER_KEYS."""

    fingerprint = models.CharField(max_length=64, unique=True)
    version = models.PositiveIntegerField(unique=True)
    state = models.CharField(max_length=20, choices=MasterKeyState.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    state_changed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            # At most one primary: every process wraps new data keys under the same master key.
            models.UniqueConstraint(
                fields=["state"],
                condition=models.Q(state="primary"),
                name="governance_one_primary_master_key",
            )
        ]

    def __str__(self) -> str:
        return f"Master key v{self.version} {self.fingerprint} ({self.state})"


class KeyringStamp(models.Model):
    """One row whose generation grows with every change that makes a key unreadable or readable again.

    Each process compares it with the generation it last saw (at most every
    KEY_REVALIDATE_SECONDS) and forgets its unwrapped keys when it moved.
    """

    generation = models.BigIntegerField(default=0)


class KeyRewrap(Job):
    """Re-wrapping every live project data key under the primary master key, in a worker."""

    master_key_id = models.CharField(max_length=64, blank=True)
    rewrapped = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Key re-wrap {self.pk} ({self.status})"


class ProjectKeyReencrypt(Job):
    """Re-encrypting every encrypted column of one project under its primary key version, in a worker."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    key_version = models.PositiveIntegerField(default=0)  # the primary it seals under
    reencrypted = models.PositiveIntegerField(default=0)  # rows rewritten

    def __str__(self) -> str:
        return f"Project {self.project_id} re-encryption {self.pk} ({self.status})"


class ProjectKeyState(models.TextChoices):
    ACTIVE = "active", _("Active")
    DISABLED = "disabled", _("Disabled")
    DESTROYED = "destroyed", _("Destroyed (shredded)")


__all__ = [
    "KeyRewrap",
    "KeyringStamp",
    "ProjectKeyReencrypt",
    "MasterKeyState",
    "MasterKeyVersion",
    "ProjectKeyState",
]
