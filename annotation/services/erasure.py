"""Erasing a data subject's items everywhere they were copied: rows, dataset version files and export files."""

import hashlib
import hmac
import re
from bisect import bisect_left
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotation.hooks import Hook, hook_run
from annotation.models import (
    Annotation,
    ExportRecord,
    ExportStatus,
    FinalAnnotation,
    Item,
    Prediction,
    Review,
)
from common.id_ranges import id_ranges
from governance.audit import AuditAction, audit_record
from governance.crypto import DecryptionError, open_sealed, seal, text_normalise
from governance.keyring import DataShredded, master_key_current, master_keys, project_cipher
from governance.models import AuditEvent, ErasureRequest, ErasureStatus, ProjectKey
from projects.models import Project

BATCH = 500
# Metadata keys whose value names the data subject; matched exactly (after normalisation).
SUBJECT_META_KEYS = ("subject_id", "customer_id", "user_id", "email", "subject")
_SUBJECT_INFO = b"sensitive-annotator/erasure-subject/v1"


def _in_ranges(ranges: list[list[int]], ids: set[int]) -> bool:
    ordered = sorted(ids)
    for first, last in ranges:
        at = bisect_left(ordered, first)
        if at < len(ordered) and ordered[at] <= last:
            return True
    return False


def subject_index(identifier: str) -> str:
    """Keyed hash of the identifier: recognises a repeated request without storing the identifier."""
    key = hashlib.sha256(_SUBJECT_INFO + settings.SECRET_KEY.encode()).digest()
    return hmac.digest(key, text_normalise(identifier).casefold().encode(), "sha256").hex()


def _file_destroy(path: str) -> None:
    # Unlinked at once rather than after commit: should the transaction roll back, a version
    # left unreadable errs on the side the subject asked for.
    if path:
        Path(path).unlink(missing_ok=True)


def items_purge(*, project: Project, item_ids: list[int], why: str) -> dict:
    """Delete items with everything attached, and destroy dataset version and export files that held them.

    Runs in the caller's transaction. Export files are deleted and their record marked erased;
    training, through Hook.ITEMS_PURGING, destroys the files of dataset versions that held them.
    """
    ids = set(item_ids)
    counts = {
        "items": len(ids),
        "annotations": Annotation.objects.filter(item_id__in=ids).count(),
        "reviews": Review.objects.filter(annotation__item_id__in=ids).count(),
        "finals": FinalAnnotation.objects.filter(item_id__in=ids).count(),
        "predictions": Prediction.objects.filter(item_id__in=ids).count(),
    }
    versions = [pk for destroyed in hook_run(Hook.ITEMS_PURGING, item_ids=ids, why=why) for pk in destroyed]
    exports = []
    live = ExportRecord.objects.select_for_update().filter(project=project).exclude(status=ExportStatus.ERASED)
    for export in live.order_by("pk"):
        if export.is_active or _in_ranges(export.item_ranges, ids):
            # A running export may be writing one of these items right now; its file goes too.
            _file_destroy(export.file_path)
            export.status = ExportStatus.ERASED
            export.erased_at = timezone.now()
            export.file_path = ""
            export.save(update_fields=["status", "erased_at", "file_path"])
            exports.append(export.pk)
    Item.objects.filter(project=project, pk__in=ids).delete()
    return {**counts, "item_ranges": id_ranges(sorted(ids)), "dataset_versions": versions, "exports": exports}


def _subject_seal(identifier: str, request_id: int) -> tuple[bytes, str]:
    key_id, master = master_key_current()
    return seal(AESGCM(master), identifier.encode(), f"erasure:{request_id}:{key_id}".encode()), key_id


def _subject_open(request: ErasureRequest) -> str:
    for key_id, master in master_keys():
        try:
            return open_sealed(AESGCM(master), bytes(request.subject_ct), f"erasure:{request.pk}:{key_id}".encode()).decode()
        except DecryptionError:  # sealed under another master key; try the next
            continue
    raise ValidationError(gettext("The subject identifier of erasure request %(id)s cannot be opened.") % {"id": request.pk})


@transaction.atomic
def erasure_request_create(*, actor, identifier: str, project: Project | None = None, reason: str = "") -> ErasureRequest:
    """Record the request and queue the search and removal; the identifier is kept sealed until done."""
    identifier = text_normalise(identifier or "")
    if len(identifier) < 3:
        raise ValidationError({"identifier": gettext("Give the subject's identifier (at least 3 characters).")})
    request = ErasureRequest.objects.create(
        subject_index=subject_index(identifier), project=project, reason=reason.strip()[:500], requested_by=actor
    )
    request.subject_ct, _ = _subject_seal(identifier, request.pk)
    request.save(update_fields=["subject_ct"])
    audit_record(
        actor=actor,
        action=AuditAction.ERASURE_REQUEST,
        project=project,
        target=request,
        details={"subject_index": request.subject_index[:16], "scope": project.pk if project else "all"},
    )
    from annotation.celery_tasks import erasure_run_task

    transaction.on_commit(lambda: erasure_run_task.delay(request.pk))
    return request


def _word_pattern(identifier: str) -> re.Pattern:
    # Bounded by non-word characters, so "ann@x.io" does not match inside "joann@x.io".
    return re.compile(r"(?<!\w)" + re.escape(identifier.casefold()) + r"(?!\w)")


def subject_items_find(*, project: Project, identifier: str) -> list[int]:
    """Ids of the project's items that belong to the subject.

    Found four ways: the blind index (an item whose whole text is the identifier) without
    decrypting anything; an exact match of a metadata value under SUBJECT_META_KEYS; a scan of
    the decrypted texts, in batches, for the identifier as a whole word (case-insensitive); and
    the same scan over the original values of pseudonymised personal data.
    """
    cipher = project_cipher(project.pk)
    found = set(
        Item.objects.filter(project=project, text_index=cipher.blind_index(identifier)).values_list("pk", flat=True)
    )
    wanted = identifier.casefold()
    pattern = _word_pattern(identifier)
    items = Item.objects.filter(project=project).select_related("project").only(
        "pk", "project", "text_ct", "text_index", "meta_ct", "pii_mapping_ct"
    )
    for item in items.order_by("pk").iterator(chunk_size=BATCH):
        if item.pk in found:
            continue
        meta = item.meta or {}
        if isinstance(meta, dict) and any(
            isinstance(meta.get(key), str | int) and text_normalise(str(meta[key])).casefold() == wanted
            for key in SUBJECT_META_KEYS
        ) or pattern.search(item.text.casefold()) or item.pii_mapping_ct is not None and any(
            # Pseudonymised at import: the text holds a token, the sealed mapping the original value.
            isinstance(value, str) and pattern.search(value.casefold()) for value in (item.pii_mapping or {}).values()
        ):
            found.add(item.pk)
    return sorted(found)


def erasure_run(*, request_id: int) -> ErasureRequest:
    """Find and remove the subject's items in every project in scope, batch by batch; idempotent."""
    with transaction.atomic():
        request = ErasureRequest.objects.select_for_update().get(pk=request_id)
        if request.status not in (ErasureStatus.QUEUED, ErasureStatus.RUNNING) or request.subject_ct is None:
            return request
        request.status = ErasureStatus.RUNNING
        request.save(update_fields=["status"])
    record = {"projects": {}, "totals": {}, "skipped_shredded": []}
    try:
        identifier = _subject_open(request)
        projects = Project.objects.filter(pk=request.project_id) if request.project_id else Project.objects.all()
        shredded = set(ProjectKey.objects.filter(wrapped_key__isnull=True).values_list("project_id", flat=True))
        for project in projects.order_by("pk"):
            if project.pk in shredded:
                # Crypto-shredded already: its data can no longer be read by anyone, this subject's included.
                record["skipped_shredded"].append(project.pk)
                continue
            try:
                ids = subject_items_find(project=project, identifier=identifier)
            except DataShredded:
                record["skipped_shredded"].append(project.pk)
                continue
            if ids:
                record["projects"][str(project.pk)] = _project_erase(request, project, ids)
        for summary in record["projects"].values():
            for key in ("items", "annotations", "reviews", "finals", "predictions"):
                record["totals"][key] = record["totals"].get(key, 0) + summary[key]
        status, error = ErasureStatus.DONE, ""
    except Exception as exc:  # noqa: BLE001 (recorded on the request; the worker stays up)
        status, error = ErasureStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    with transaction.atomic():
        request = ErasureRequest.objects.select_for_update().get(pk=request_id)
        request.status, request.error, request.record = status, error, record
        request.subject_ct = None
        request.finished_at = timezone.now()
        request.save(update_fields=["status", "error", "record", "subject_ct", "finished_at"])
        audit_record(
            actor=request.requested_by,
            action=AuditAction.ERASURE_COMPLETE if status == ErasureStatus.DONE else AuditAction.ERASURE_FAIL,
            project=request.project,
            target=request,
            details={"totals": record["totals"], "projects": sorted(record["projects"]), "error": error},
        )
    return request


def downloads_holding(*, project: Project, ids: set[int]) -> list[int]:
    """Audit seqs of streamed downloads that took any of these items out: copies beyond reach, to follow up."""
    seqs = []
    reads = AuditEvent.objects.filter(project_id=project.pk, action=AuditAction.ITEM_READ).values_list("seq", "details")
    for seq, details in reads.order_by("seq").iterator(chunk_size=BATCH):
        if str(details.get("via", "")).startswith(("export", "dataset")) and _in_ranges(details.get("items", []), ids):
            seqs.append(seq)
    return seqs


def _project_erase(request: ErasureRequest, project: Project, ids: list[int]) -> dict:
    summary: dict = {"items": 0, "annotations": 0, "reviews": 0, "finals": 0, "predictions": 0,
                     "item_ranges": [], "dataset_versions": [], "exports": [],
                     "downloads_audit_seqs": downloads_holding(project=project, ids=set(ids))}
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            batch = items_purge(project=project, item_ids=ids[start : start + BATCH], why=f"erasure {request.pk}")
            audit_record(
                actor=request.requested_by,
                action=AuditAction.ERASURE_BATCH,
                project=project,
                target=request,
                details=batch,
            )
        for key in ("items", "annotations", "reviews", "finals", "predictions"):
            summary[key] += batch[key]
        summary["item_ranges"] += batch["item_ranges"]
        summary["dataset_versions"] += batch["dataset_versions"]
        summary["exports"] += batch["exports"]
    return summary

