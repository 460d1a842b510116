"""Rotating the master key that wraps project data keys, and crypto-shredding a project's data."""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from governance.audit import AuditAction, audit_record
from governance.keyring import (
    data_key_destroy,
    data_key_rewrap,
    master_key_current,
    project_key_create,
)
from governance.models import ProjectKey


@dataclass(frozen=True)
class RotationResult:
    master_key_id: str
    rotated: int
    already_current: int


def project_key_rewrap(*, actor, key_pk: int) -> int:
    """Re-wrap one data key under the primary master key in its own transaction, audited; 1 if it moved."""
    with transaction.atomic():
        key = ProjectKey.objects.select_for_update().select_related("project").get(pk=key_pk)
        new_id, _ = master_key_current()
        if key.is_shredded or key.master_key_id == new_id:
            return 0
        old_id = data_key_rewrap(key)
        audit_record(
            actor=actor,
            action=AuditAction.PROJECT_KEY_ROTATE,
            project=key.project,
            target=key,
            details={"from_master_key": old_id, "to_master_key": new_id},
        )
        return 1


def project_keys_rotate(*, actor) -> RotationResult:
    """Re-wrap every live data key under the primary master key, one project per transaction, inline.

    No data is re-encrypted: data keys stay the same, only their wrapping changes. Reads go
    on throughout, since a key not yet re-wrapped names an older master key that is still
    configured. Running it again re-wraps nothing. The background form with progress is
    ``key_lifecycle.key_rewrap_request``.
    """
    new_id, _ = master_key_current()
    stale = ProjectKey.objects.filter(wrapped_key__isnull=False).exclude(master_key_id=new_id)
    rotated = 0
    for key_pk in stale.order_by("pk").values_list("pk", flat=True):
        rotated += project_key_rewrap(actor=actor, key_pk=key_pk)
    already_current = (
        ProjectKey.objects.filter(wrapped_key__isnull=False, master_key_id=new_id).count() - rotated
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.MASTER_KEY_ROTATE,
            details={
                "to_master_key": new_id,
                "rotated": rotated,
                "already_current": already_current,
            },
        )
    return RotationResult(master_key_id=new_id, rotated=rotated, already_current=already_current)


# Indexes a higher app keeps under a project's data key (annotation's word index) go with the key:
# the app registers a function (project_id=) in its AppConfig.ready() and shredding calls it in its
# transaction, so this kernel module imports nothing above it.
_shred_hooks: list[Callable] = []


def data_shred_hook_register(function: Callable) -> None:
    """Have ``function(project_id=)`` called whenever a project's data key is destroyed."""
    if function not in _shred_hooks:
        _shred_hooks.append(function)


@transaction.atomic
def project_data_shred(*, actor, project) -> ProjectKey:
    """Destroy the project's data key: its encrypted data becomes unreadable for good, everywhere.

    Item texts, metadata, annotation values, skip reasons and predictions stay in the
    database (and in any backup) as ciphertext nobody can open; names, labels, external ids,
    counts and the audit trail remain readable. Indexes kept under the key for search (the
    word index) are deleted. This cannot be undone.
    """
    key = ProjectKey.objects.select_for_update().filter(project=project).first()
    if key is None:
        key = project_key_create(project_id=project.pk)
    if key.is_shredded:
        raise ValidationError(
            {
                "project": gettext(
                    "The data of project %(project)s was already destroyed on %(date)s."
                )
                % {"project": project.pk, "date": f"{key.shredded_at:%Y-%m-%d}"}
            }
        )
    data_key_destroy(key, actor=actor)
    for hook in _shred_hooks:
        hook(project_id=project.pk)
    audit_record(
        actor=actor,
        action=AuditAction.PROJECT_SHRED,
        project=project,
        target=project,
        details={"master_key_id": key.master_key_id, "items": project.items.count()},
    )
    return key
