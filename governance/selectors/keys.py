"""Reads of the key lifecycle for the Keys page and the `keys list` command: never key material."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from governance.keyring import master_keys, master_versions_sync
from governance.models import KeyRewrap, MasterKeyVersion, ProjectKey


@dataclass(frozen=True)
class MasterKeyRow:
    version: int
    fingerprint: str
    state: str
    state_label: str
    state_changed_at: datetime | None
    state_changed_by: str
    data_keys: int  # live project data keys it wraps
    configured: bool  # present in this process's MASTER_KEYS


def master_key_rows() -> list[MasterKeyRow]:
    """Every master key version, newest first, with how many live data keys each wraps."""
    master_versions_sync()
    wraps = dict(
        ProjectKey.objects.filter(wrapped_key__isnull=False)
        .values_list("master_key_id")
        .annotate(n=Count("pk"))
        .values_list("master_key_id", "n")
    )
    configured = {key_id for key_id, _ in master_keys()}
    return [
        MasterKeyRow(
            version=row.version,
            fingerprint=row.fingerprint,
            state=row.state,
            state_label=row.get_state_display(),
            state_changed_at=row.state_changed_at,
            state_changed_by=row.state_changed_by,
            data_keys=wraps.get(row.fingerprint, 0),
            configured=row.fingerprint in configured,
        )
        for row in MasterKeyVersion.objects.order_by("-version")
    ]


def project_key_counts() -> dict[str, int]:
    return ProjectKey.objects.aggregate(
        active=Count("pk", filter=Q(wrapped_key__isnull=False, disabled_at__isnull=True)),
        disabled=Count("pk", filter=Q(wrapped_key__isnull=False, disabled_at__isnull=False)),
        destroyed=Count("pk", filter=Q(wrapped_key__isnull=True)),
    )


def project_keys_disabled() -> list[ProjectKey]:
    return list(
        ProjectKey.objects.filter(wrapped_key__isnull=False, disabled_at__isnull=False)
        .select_related("project", "disabled_by")
        .order_by("project_id")
    )


def key_rewrap_latest() -> KeyRewrap | None:
    return KeyRewrap.objects.select_related("requested_by").order_by("-pk").first()


def key_rewrap_get(*, job_id: int) -> KeyRewrap:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(KeyRewrap, pk=job_id)
