"""Background imports: the upload sealed to disk in chunks, the job run in a worker with progress and a report."""

import io
import logging
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotation.models import (
    DataSource,
    ImportJob,
    ImportOnError,
    ImportStatus,
    Item,
    PiiFinding,
    Project,
)
from annotation.pipeline.readers import ImportReader, ImportRowError
from annotation.services.imports import REPORT_LIMIT, Importer, batches
from governance.access import has_project_perm
from governance.audit import audit_record
from governance.crypto import open_sealed, seal
from governance.keyring import project_cipher
from governance.pii import pii_reidentify
from governance.roles import Perm

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024


# --- the sealed upload ------------------------------------------------------------------------


def _chunk_context(job: ImportJob, index: int, last: bool) -> bytes:
    # Each chunk names its job, position and whether it ends the file: chunks cannot be
    # reordered, moved to another job, or the file cut short without the open failing.
    return project_cipher(job.project_id).context("importjob.upload", job.pk, index, int(last))


def upload_seal(*, job: ImportJob, stream) -> None:
    """Copy the upload to ARTIFACT_DIR chunk by chunk, each sealed under the project key."""
    folder = Path(settings.ARTIFACT_DIR) / "imports" / f"project-{job.project_id}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job.pk}-{uuid.uuid4().hex}.sealed"
    aead, size, index = project_cipher(job.project_id).aead, 0, 0
    with path.open("wb") as out:
        chunk = stream.read(CHUNK_BYTES)
        while True:
            following = stream.read(CHUNK_BYTES) if chunk else b""
            blob = seal(aead, chunk, _chunk_context(job, index, not following))
            out.write(len(blob).to_bytes(4, "big") + blob)
            size += len(chunk)
            index += 1
            if not following:
                break
            chunk = following
    job.upload_path, job.upload_bytes = str(path), size


class _SealedReader(io.RawIOBase):
    """The sealed upload read back one chunk at a time: memory stays flat as the file grows."""

    def __init__(self, job: ImportJob):
        self._file = open(job.upload_path, "rb")  # noqa: SIM115 - closed with the reader
        self._job, self._aead = job, project_cipher(job.project_id).aead
        self._index, self._buffer, self._done = 0, b"", False

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer and not self._done:
            header = self._file.read(4)
            if len(header) < 4:
                raise ValueError("the sealed upload ends before its last chunk")
            blob = self._file.read(int.from_bytes(header, "big"))
            # Try "not last" first: every chunk but one is.
            for last in (False, True):
                try:
                    self._buffer = open_sealed(
                        self._aead, blob, _chunk_context(self._job, self._index, last)
                    )
                    self._done = last
                    break
                except Exception:
                    if last:
                        raise
            self._index += 1
        size = min(len(target), len(self._buffer))
        target[:size], self._buffer = self._buffer[:size], self._buffer[size:]
        return size

    def close(self) -> None:
        self._file.close()
        super().close()


def _upload_delete(job: ImportJob) -> None:
    if job.upload_path:
        Path(job.upload_path).unlink(missing_ok=True)
        ImportJob.objects.filter(pk=job.pk).update(upload_path="")


# --- requesting and running -------------------------------------------------------------------


@transaction.atomic
def import_job_create(
    *,
    actor,
    project: Project,
    stream,
    filename: str,
    fmt: str | None = None,
    on_error: str = ImportOnError.REJECT,
    source: DataSource | None = None,
    create_missing_labels: bool = False,
) -> ImportJob:
    """Seal the upload to disk, record the job, and queue it for a worker once this commits."""
    if source is not None and source.project_id != project.pk:
        raise ValidationError({"source": gettext("The data source belongs to another project.")})
    if on_error not in ImportOnError.values:
        raise ValidationError({"on_error": gettext("Choose 'reject' or 'skip'.")})
    job = ImportJob.objects.create(
        project=project,
        requested_by=actor,
        source=source,
        filename=os.path.basename(filename)[:255],
        format=fmt or "",
        on_error=on_error,
        create_missing_labels=create_missing_labels,
    )
    upload_seal(job=job, stream=stream)
    job.save(update_fields=["upload_path", "upload_bytes"])
    audit_record(
        actor=actor,
        action="items.import.request",
        project=project,
        target=job,
        details={
            "file": job.filename,
            "bytes": job.upload_bytes,
            "on_error": on_error,
            "source": source.name if source else None,
        },
    )
    from annotation.celery_tasks import import_run_task

    transaction.on_commit(lambda: import_run_task.delay(job.pk))
    return job


def _progress(job: ImportJob, importer: Importer, reader: ImportReader) -> None:
    tally = importer.tally
    ImportJob.objects.filter(pk=job.pk).update(
        rows_read=reader.rows_read + len(reader.errors),
        created=tally.created,
        skipped=tally.skipped_existing + tally.duplicates,
        near_duplicates=tally.near_count,
        errors_count=len(reader.errors) + len(tally.errors),
        heartbeat_at=timezone.now(),
    )


class _SideProgress:
    """Progress of a "reject" job, written on a connection of its own so the page sees it while the
    import's one transaction is still open. PostgreSQL only: SQLite has a single writer, which the
    import holds, so there the counters appear when the job ends."""

    def __init__(self, job: ImportJob):
        self._job_id, self._side = job.pk, None
        if connection.vendor == "postgresql":
            self._side = connections.create_connection(DEFAULT_DB_ALIAS)

    def __call__(self, importer: Importer, reader: ImportReader) -> None:
        if self._side is None:
            return
        with self._side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ImportJob._meta.db_table} SET rows_read = %s, errors_count = %s, "
                "heartbeat_at = %s WHERE id = %s",
                [reader.rows_read, len(reader.errors), timezone.now(), self._job_id],
            )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()


def _report(importer: Importer, reader: ImportReader) -> dict:
    errors = [error.as_dict() for error in reader.errors + importer.tally.errors]
    errors.sort(key=lambda e: (e["member"], e["row"] if e["row"] is not None else -1))
    return {
        "errors": errors[:REPORT_LIMIT],
        "near_duplicates": importer.tally.near_links[:REPORT_LIMIT],
        "labels_created": importer.tally.labels_created,
    }


def import_job_run(*, job_id: int) -> None:
    """Run a queued job once (claimed by a conditional UPDATE, so a repeated message does nothing).

    "reject": the whole file in one transaction, so a bad row leaves nothing behind. "skip":
    each batch commits on its own and bad rows go to the report; re-running adds nothing twice.
    """
    now = timezone.now()
    if not ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=now, heartbeat_at=now
    ):
        logger.info("Import job %s is not queued any more; nothing to do.", job_id)
        return
    job = ImportJob.objects.select_related("project", "requested_by", "source").get(pk=job_id)
    if job.requested_by is None or not has_project_perm(
        user=job.requested_by, project=job.project, perm=Perm.IMPORT_ITEMS
    ):
        _finish(
            job,
            ImportStatus.FAILED,
            error="The requester may no longer import items; nothing was imported.",
        )
        return
    skip, stream = job.on_error == ImportOnError.SKIP, None
    try:
        errors: list[ImportRowError] = []
        importer = Importer(
            project=job.project,
            actor=job.requested_by,
            filename=job.filename,
            fail=_collector(errors, job.filename) if skip else _raise,
            source=job.source,
            create_missing_labels=job.create_missing_labels,
        )
        importer.tally.errors = errors
        stream = io.BufferedReader(_SealedReader(job), buffer_size=CHUNK_BYTES)
        reader = ImportReader(
            stream,
            filename=job.filename,
            fmt=job.format or None,
            max_text_chars=settings.IMPORT_MAX_TEXT_CHARS,
            on_error=job.on_error,
        )
        if skip:
            _run_in_batches(job, importer, reader)
        else:
            side_progress = _SideProgress(job)
            try:
                with transaction.atomic():
                    for batch in batches(reader.rows()):
                        importer.batch_import(batch)
                        side_progress(importer, reader)
                    importer.neardup_save()
                    importer.audit(target=job)
            finally:
                side_progress.close()
        _progress(job, importer, reader)
        _finish(job, ImportStatus.SUCCEEDED, report=_report(importer, reader))
    except ImportRowError as error:
        if not skip:
            importer.tally = type(importer.tally)()  # rolled back: nothing was imported
            reader.errors.append(error)
        else:
            if error not in reader.errors and error not in importer.tally.errors:
                importer.tally.errors.append(error)  # the collector's "too many bad rows"
            _progress(job, importer, reader)
        status = ImportStatus.FAILED if not skip or error.fatal else ImportStatus.SUCCEEDED
        _finish(
            job,
            status,
            report=_report(importer, reader),
            error=str(error) if error.fatal or not skip else "",
        )
    except Exception as error:  # recorded on the job; the worker stays up for the next one
        logger.exception("Import job %s failed", job_id)
        _finish(job, ImportStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
    finally:
        if stream is not None:
            stream.close()
        _upload_delete(job)


def _run_in_batches(job: ImportJob, importer: Importer, reader: ImportReader) -> None:
    try:
        for batch in batches(reader.rows()):
            with transaction.atomic():
                importer.batch_import(batch)
            _progress(job, importer, reader)
    finally:
        # Rows committed so far are imported whatever stops the reading: record them.
        with transaction.atomic():
            importer.neardup_save()
            importer.audit(target=job)


def _collector(errors: list, filename: str):
    def collect(error: ImportRowError) -> None:
        errors.append(error)
        # Like the reader: past this many bad rows the file is likely not what was meant.
        if len(errors) >= REPORT_LIMIT:
            raise ImportRowError(
                filename=filename,
                row=None,
                field=None,
                message=f"{REPORT_LIMIT} bad rows; reading stopped (is this the right file?)",
                fatal=True,
            )

    return collect


def _raise(error: ImportRowError):
    raise error


def _finish(job: ImportJob, status: str, *, report: dict | None = None, error: str = "") -> None:
    fields = {"status": status, "finished_at": timezone.now(), "error": error[:2000]}
    if report is not None:
        fields["report"] = report
        fields["errors_count"] = len(report["errors"])
    if status == ImportStatus.FAILED and job.on_error == ImportOnError.REJECT:
        fields.update(created=0, skipped=0, near_duplicates=0)
    ImportJob.objects.filter(pk=job.pk).update(**fields)


# --- provenance, findings, reveal ------------------------------------------------------------


@transaction.atomic
def data_source_create(
    *,
    actor,
    project: Project,
    name: str,
    origin: str = "",
    licence: str = "",
    consent_basis: str = "",
    collection_date=None,
    retention_days=None,
) -> DataSource:
    if DataSource.objects.filter(project=project, name=name).exists():
        raise ValidationError(
            {"name": gettext("The project already has a data source of this name.")}
        )
    source = DataSource.objects.create(
        project=project,
        name=name,
        origin=origin,
        licence=licence,
        consent_basis=consent_basis,
        collection_date=collection_date,
        retention_days=retention_days,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="datasource.create",
        project=project,
        target=source,
        details={"name": name},
    )
    return source


@transaction.atomic
def import_policy_update(
    *,
    actor,
    project: Project,
    cleaning_policy: dict,
    pii_policy: str,
    neardup_threshold: float | None,
) -> Project:
    from annotation.services.imports import cleaning_policy_of

    project.cleaning_policy, project.pii_policy, project.neardup_threshold = (
        cleaning_policy,
        pii_policy,
        neardup_threshold,
    )
    try:
        cleaning_policy_of(project)
    except (TypeError, ValueError) as error:
        raise ValidationError({"cleaning_policy": str(error)}) from None
    project.full_clean()
    project.save(update_fields=["cleaning_policy", "pii_policy", "neardup_threshold", "updated_at"])
    audit_record(
        actor=actor,
        action="project.import_policy",
        project=project,
        details={
            "cleaning_policy": cleaning_policy,
            "pii_policy": pii_policy,
            "neardup_threshold": neardup_threshold,
        },
    )
    return project


@transaction.atomic
def pii_finding_review(*, actor, finding: PiiFinding, status: str) -> PiiFinding:
    finding.status, finding.reviewed_by, finding.reviewed_at = status, actor, timezone.now()
    finding.full_clean()
    finding.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    audit_record(
        actor=actor,
        action="pii.review",
        project=finding.project,
        target=finding,
        details={"item": finding.item_id, "entity": finding.entity, "status": status},
    )
    return finding


@transaction.atomic
def item_pii_reveal(*, actor, item: Item) -> str:
    """The item's text with its pseudonyms put back; managers only, and every reveal is audited."""
    if not has_project_perm(user=actor, project=item.project, perm=Perm.MANAGE_MEMBERS):
        raise PermissionError("Only the project's managers may reveal pseudonymised values.")
    audit_record(
        actor=actor,
        action="pii.reveal",
        project=item.project,
        target=item,
        details={"tokens": len(item.pii_mapping)},
    )
    return pii_reidentify(item.text, item.pii_mapping)
