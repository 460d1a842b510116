"""Project data keys, stored only wrapped by a master key."""

from django.conf import settings
from django.db import models


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

    @property
    def is_shredded(self) -> bool:
        return self.wrapped_key is None

    @property
    def state(self) -> str:
        if self.is_shredded:
            return "destroyed"
        return "disabled" if self.disabled_at else "active"
