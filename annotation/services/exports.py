"""Exports of annotations: streamed downloads, and sealed background files behind short-lived links; all audited."""

from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from annotation.models import AnnotationStatus, ExportRecord, ExportStatus, Item
from annotation.pipeline.writers import conll_lines, csv_lines, jsonl_lines, parquet_write
from annotation.selectors import export_records
from common.id_ranges import id_ranges_add
from common.jobs.lifecycle import job_claim, job_error_text, job_fail, job_finish, job_progress
from common.jobs.registry import JobKind
from common.signed_links import link_open, link_sign
from governance.audit import AuditAction, audit_record
from governance.audited_streams import audited_item_stream
from governance.keyring import project_cipher, project_readable_check
from governance.sealed_files import SealedBytesWriter, sealed_bytes_read, sealed_file_discard
from projects.models import Project, TaskType

EXPORT_FORMATS = {
    "jsonl": ("application/x-ndjson", jsonl_lines),
    "csv": ("text/csv", csv_lines),
    "conll": ("text/plain", conll_lines),
}


def export_content_type(fmt: str) -> str:
    return EXPORT_FORMATS[fmt][0]


def annotations_export(*, actor, project: Project, fmt: str) -> Iterator[bytes]:
    """Record the export, then return a generator of the file's bytes (constant memory)."""
    if fmt not in EXPORT_FORMATS:
        raise ValidationError({"format": f"Unknown export format '{fmt}'; choose jsonl, csv or conll."})
    _format_check(project, fmt)
    # Checked here, not while streaming: once the first byte is sent, no error page can follow.
    project_readable_check(project=project)
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.ANNOTATION_EXPORT, project=project, details={"format": fmt})
    _, writer = EXPORT_FORMATS[fmt]
    return audited_item_stream(
        export_records(project=project), writer, actor=actor, project=project, via=f"export.{fmt}"
    )


def format_fits(task_type: str, fmt: str) -> bool:
    """CoNLL/BIO tags tokens, so only span answers fit it; the other formats fit every task type."""
    return fmt != "conll" or task_type == TaskType.SPANS


def _format_check(project: Project, fmt: str) -> None:
    if not format_fits(project.task_type, fmt):
        raise ValidationError({"format": gettext("CoNLL/BIO exports are for span projects; this project classifies texts.")})


# Background exports: sealed files with progress, downloaded through a short-lived signed link.
JOB_FORMATS = {
    "jsonl": ("application/x-ndjson", "jsonl"),
    "csv": ("text/csv", "csv"),
    "conll": ("text/plain", "conll"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
}
# For the API's schema (a named enum) and its input serializer.
JOB_FORMAT_CHOICES = sorted(JOB_FORMATS)
# What the export form offers first: every task type can export it.
DEFAULT_JOB_FORMAT = "jsonl"


def job_formats_for(project: Project) -> list[str]:
    """The background-export formats that fit the project's task type, the default first."""
    return [fmt for fmt in JOB_FORMATS if format_fits(project.task_type, fmt)]
EXPORT_LINK_SECONDS = 5 * 60
EXPORT_FILE_HOURS = 24
_PROGRESS_EVERY = 500
EXPORT_STALE_SECONDS = 30 * 60
_LINK_SALT = "annotation.export-download"


@transaction.atomic
def export_request(
    *, actor, project: Project, fmt: str, redact: bool = False, selection: list[list[int]] | None = None
) -> ExportRecord:
    """Record a background export and queue its build; the file is written sealed by a worker.

    ``selection``: only these items ([first, last] id runs, ascending), e.g. chosen in the item browser.
    """
    if fmt not in JOB_FORMATS:
        raise ValidationError({"format": f"Unknown export format '{fmt}'; choose one of {', '.join(sorted(JOB_FORMATS))}."})
    _format_check(project, fmt)
    project_readable_check(project=project)
    export = ExportRecord.objects.create(
        project=project, requested_by=actor, format=fmt, redacted=redact, selection=selection
    )
    details = {"format": fmt, "redacted": redact}
    if selection is not None:
        details["selection"] = selection
    audit_record(actor=actor, action=AuditAction.EXPORT_REQUEST, project=project, target=export, details=details)
    from annotation.celery_tasks import export_build_task

    transaction.on_commit(lambda: export_build_task.delay(export.pk))
    return export


def _redacted(records: Iterable[dict]) -> Iterator[dict]:
    """Personal data in texts overwritten by asterisks of the same length, so span offsets stay right."""
    from governance.pii import pii_detect

    for record in records:
        text = record["text"]
        for finding in pii_detect(text):
            text = text[: finding.start] + "*" * (finding.end - finding.start) + text[finding.end :]
        yield {**record, "text": text, "meta": None}


def export_path(export: ExportRecord) -> Path:
    return Path(settings.ARTIFACT_DIR) / "exports" / f"project-{export.project_id}" / f"export-{export.pk}.sealed"


def _export_name(export: ExportRecord) -> str:
    return f"export:{export.pk}"


def export_build(*, export_id: int) -> ExportRecord:
    """Write the export's sealed file with progress; a queued export (or one whose worker died) is claimed once."""
    claimed = job_claim(ExportRecord, job_id=export_id)
    export = ExportRecord.objects.select_related("project", "requested_by").get(pk=export_id)
    if not claimed:
        return export
    job_progress(
        export,
        done=0,
        total=Item.objects.filter(project=export.project, annotations__status=AnnotationStatus.SUBMITTED)
        .distinct()
        .count(),
    )
    project = export.project
    # Runs of ids rather than every id: memory stays flat however many items the file holds.
    runs: list[list[int]] = []
    count = 0
    writer = None
    try:
        cipher = project_cipher(project.pk)
        path = export_path(export)
        writer = SealedBytesWriter(path, cipher=cipher, name=_export_name(export))

        def progressing(records):
            nonlocal count
            for record in records:
                id_ranges_add(runs, record["id"])
                count += 1
                if count % _PROGRESS_EVERY == 0:
                    job_progress(export, done=count)
                yield record

        records = progressing(export_records(project=project, selection=export.selection))
        if export.redacted:
            records = _redacted(records)
        if export.format == "parquet":
            parquet_write(records, writer)
        else:
            for chunk in EXPORT_FORMATS[export.format][1](records):
                writer.write(chunk)
        writer.close()
    except Exception as error:  # recorded on the export; the worker stays up
        if writer is not None and not writer.closed:
            writer.abort()
        job_fail(export, error=job_error_text(error))
        raise
    with transaction.atomic():
        current = ExportRecord.objects.select_for_update().get(pk=export.pk)
        if current.status != ExportStatus.RUNNING:
            # Erased while it was being written: the file must not survive.
            path.unlink(missing_ok=True)
            return current
        job_finish(
            current,
            status=ExportStatus.READY,
            progress_done=count,
            item_ranges=runs,
            file_path=str(path),
            file_bytes=path.stat().st_size,
            expires_at=timezone.now() + timedelta(hours=EXPORT_FILE_HOURS),
        )
        current.refresh_from_db()
        audit_record(
            actor=current.requested_by,
            action=AuditAction.ITEM_READ,
            project=project,
            target=current,
            details={"via": f"export-file.{current.format}", "redacted": current.redacted,
                     "count": count, "items": current.item_ranges},
        )
    return current


def export_reaped(export: ExportRecord) -> None:
    """What a dead worker's export leaves (``common.jobs`` hook): its partial sealed file."""
    sealed_file_discard(export_path(export))


def _export_send(export_id: int) -> None:
    from annotation.celery_tasks import export_build_task

    export_build_task.delay(export_id)


EXPORT_JOB_KIND = JobKind(
    name="export",
    label=gettext_lazy("Export"),
    model=ExportRecord,
    # Progress (a heartbeat) comes every 500 items written; a large redacted export is slow per item.
    stale_seconds=lambda: EXPORT_STALE_SECONDS,
    on_reap=export_reaped,
    send=_export_send,
)


def export_download_signature(*, user, export: ExportRecord) -> str:
    """A link token naming who may use it and for which export; valid for EXPORT_LINK_SECONDS."""
    return link_sign(salt=_LINK_SALT, user=user, e=export.pk)


def export_download_check(*, user, export: ExportRecord, signature: str) -> None:
    """PermissionDenied (a LinkRefused saying why) unless the link is recent and made for this user and export."""
    link_open(signature, salt=_LINK_SALT, max_age=EXPORT_LINK_SECONDS, user=user, e=export.pk)


def export_download(*, actor, export: ExportRecord) -> Iterator[bytes]:
    """Audit the download, then return the decrypted file chunk by chunk."""
    if export.status != ExportStatus.READY:
        raise ValidationError({"export": gettext("Export %(id)s is %(status)s, not ready.") % {"id": export.pk, "status": export.status}})
    if export.expires_at and export.expires_at < timezone.now():
        raise ValidationError({"export": gettext("Export %(id)s has expired; make a new one.") % {"id": export.pk}})
    cipher = project_cipher(export.project_id)
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.EXPORT_DOWNLOAD, project=export.project, target=export,
                     details={"format": export.format, "count": export.progress_done, "items": export.item_ranges})
    return sealed_bytes_read(Path(export.file_path), cipher=cipher, name=_export_name(export))


def export_filename(export: ExportRecord) -> str:
    return f"project-{export.project_id}-export-{export.pk}.{JOB_FORMATS[export.format][1]}"


def exports_expire() -> int:
    """Delete the files of exports past their expiry; their records stay, marked erased."""
    expired = 0
    for export in ExportRecord.objects.filter(status=ExportStatus.READY, expires_at__lt=timezone.now()):
        with transaction.atomic():
            if export.file_path:
                Path(export.file_path).unlink(missing_ok=True)
            ExportRecord.objects.filter(pk=export.pk).update(status=ExportStatus.ERASED, erased_at=timezone.now(), file_path="")
            audit_record(actor="retention", action=AuditAction.EXPORT_EXPIRE, project=export.project, target=export, details={})
        expired += 1
    return expired


def export_get(*, project: Project, export_id: int) -> ExportRecord:
    """The project's export ``export_id``, or 404 (an export of another project is not revealed)."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(ExportRecord.objects.select_related("project"), project=project, pk=export_id)
