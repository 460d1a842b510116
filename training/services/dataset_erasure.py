"""Dataset versions that held erased items lose their file (annotation's erasure and retention call this)."""

from pathlib import Path

from django.utils.translation import gettext

from training.models import DatasetStatus, DatasetVersion, DatasetVersionItem


def dataset_versions_purge(*, item_ids: set[int], why: str) -> list[int]:
    """Destroy the files of dataset versions holding any of these items (erasure, retention).

    Runs in the purge's transaction (annotation.hooks.Hook.ITEMS_PURGING). Versions keep their row,
    manifest and content hash, so lineage stays checkable, but lose their sealed file and become
    failed with the reason.
    """
    version_ids = set(DatasetVersionItem.objects.filter(item_id__in=item_ids).values_list("version_id", flat=True))
    versions = []
    for version in DatasetVersion.objects.select_for_update().filter(pk__in=version_ids).order_by("pk"):
        # Unlinked at once rather than after commit: should the transaction roll back, a version
        # left unreadable errs on the side the subject asked for.
        if version.file_path:
            Path(version.file_path).unlink(missing_ok=True)
        if version.status == DatasetStatus.READY:
            version.status = DatasetStatus.FAILED
        version.error = gettext("Erased (%(why)s): the file was destroyed because it held removed items.") % {
            "why": why
        }
        version.file_path = ""
        version.save(update_fields=["status", "error", "file_path"])
        versions.append(version.pk)
    return versions
