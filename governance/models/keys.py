"""Project data keys, stored only wrapped by a master key."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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

    # Disabled: kept, but refused to every reader and writer until re-enabled (audited both ways).
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Set once the project's encryption key has versions (ProjectKeyVersion rows): until then the
    # keyring builds its cipher from this row alone, with no query for versions.
    versioned = models.BooleanField(default=False)

    @property
    def is_shredded(self) -> bool:
        return self.wrapped_key is None

    @property
    def state(self) -> str:
        if self.is_shredded:
            return "destroyed"
        return "disabled" if self.disabled_at else "active"


class ProjectKeyVersionState(models.TextChoices):
    # The master keys' states (Tink, Vault transit), for the key that encrypts a project's data.
    PRIMARY = "primary", _("Active (primary)")
    DECRYPT_ONLY = "decrypt_only", _("Decrypt only")
    DISABLED = "disabled", _("Disabled")
    DESTROYED = "destroyed", _("Destroyed")


class ProjectKeyVersion(models.Model):
    """One version of the key that encrypts a project's data (docs/keys.md).

    Version 1 is derived from the project's root data key (``ProjectKey``), so data written
    before versions existed is version 1 without a rewrite, and it keeps no key of its own.
    Versions 2 and up are random keys stored only wrapped under a key derived from the root: a
    master-key re-wrap moves them along with the root, and shredding the root shreds them all.
    The index, pseudonym and near-duplicate keys always come from the root. A project without
    rows here has version 1 only, as the primary.
    """

    key = models.ForeignKey(ProjectKey, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    wrapped_key = models.BinaryField(null=True)  # None for version 1 (derived) and once destroyed
    state = models.CharField(max_length=20, choices=ProjectKeyVersionState.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    state_changed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="governance_project_key_version_unique"),
            # One primary per project: every process seals new data under the same version.
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(state="primary"),
                name="governance_one_primary_project_key_version",
            ),
        ]

    def __str__(self) -> str:
        return f"Project key {self.key_id} v{self.version} ({self.state})"
