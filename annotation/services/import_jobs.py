"""Background imports: the upload sealed to disk in chunks, the job run in a worker with progress and a report."""

import io
import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from annotation.models import DataSource, ImportJob, ImportOnError
from annotation.pipeline.readers import QUOTING, ImportReader, ImportRowError, detect_format
from annotation.services.import_batches import REPORT_LIMIT, scanned_batches
from annotation.services.import_scan import RowScanner
from annotation.services.import_uploads import (
    CHUNK_BYTES,
    SealedUploadReader,
    upload_delete,
    upload_seal,
)
from annotation.services.imports import Importer, embeddings_request
from common.jobs.lifecycle import job_claim, job_finish, job_progress, jobs_reap
from common.jobs.models import JobStatus
from common.jobs.registry import JobKind
from governance.access import has_project_perm
from governance.audit import AuditAction, audit_record
from governance.roles import Perm
from projects.models import Project

logger = logging.getLogger(__name__)

# A running job whose worker sent no heartbeat for this long is taken to be dead (killed, machine
# lost). Heartbeats come once a batch (1,000 rows, about half a second); on SQLite a "reject" job
# sends none until it ends (the import holds the only writer), so keep this well above a large
# SQLite import when running there.
STALE_SECONDS = 10 * 60
# Stored on the job in English (the worker has no user language); translated when displayed.
UPLOAD_LOST = gettext_noop(
    "The uploaded file of this import is gone (a worker that stopped had already removed it); "
    "nothing more was imported. Upload the file again: rows already imported are not added twice."
)


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
    quoting: str = "auto",
) -> ImportJob:
    """Seal the upload to disk, record the job, and queue it for a worker once this commits.

    The project's jobs whose worker died are stopped first, so a dead job never sits "running"
    beside the new one.
    """
    jobs_reap(model=ImportJob, project=project)
    if source is not None and source.project_id != project.pk:
        raise ValidationError({"source": gettext("The data source belongs to another project.")})
    if on_error not in ImportOnError.values:
        raise ValidationError({"on_error": gettext("Choose 'reject' or 'skip'.")})
    if quoting not in QUOTING:
        raise ValidationError({"quoting": gettext("Choose 'auto', 'standard' or 'none'.")})
    if not fmt:
        try:
            detect_format(filename)
        except ImportRowError as error:  # refused now, not once a worker opened the file
            raise ValidationError({"file": error.message}) from None
    job = ImportJob.objects.create(
        project=project,
        requested_by=actor,
        source=source,
        filename=os.path.basename(filename)[:255],
        format=fmt or "",
        on_error=on_error,
        create_missing_labels=create_missing_labels,
        quoting=quoting,
    )
    upload_seal(job=job, stream=stream)
    job.save(update_fields=["upload_path", "upload_bytes"])
    audit_record(
        actor=actor,
        action=AuditAction.IMPORT_REQUEST,
        project=project,
        target=job,
        details={
            "file": job.filename,
            "bytes": job.upload_bytes,
            "on_error": on_error,
            "quoting": quoting,
            "source": source.name if source else None,
        },
    )
    from annotation.celery_tasks import import_run_task

    transaction.on_commit(lambda: import_run_task.delay(job.pk))
    return job


def _bad_rows(errors: list[ImportRowError]) -> int:
    # A fatal error stopped the reading (a quote never closed, too many bad rows): not a row.
    return sum(1 for error in errors if not error.fatal)


def _rows_read(reader: ImportReader) -> int:
    """Rows read, good and bad: each one is created, already present or bad (see _counts)."""
    return reader.rows_read + _bad_rows(reader.errors)


def _counts(importer: Importer, reader: ImportReader) -> dict:
    """The job's counters; every row read is counted once: rows read = created + skipped + errors
    (near duplicates are created items, linked to the first of their group by the pass that
    follows, which sets near_duplicates)."""
    tally = importer.tally
    return {
        "progress_done": _rows_read(reader),
        "created": tally.created,
        "skipped": tally.skipped_existing + tally.duplicates,
        "errors_count": _bad_rows(reader.errors + tally.errors),
    }


def _progress(job: ImportJob, importer: Importer, reader: ImportReader) -> None:
    counts = _counts(importer, reader)
    job_progress(job, done=counts.pop("progress_done"), **counts)


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
                f"UPDATE {ImportJob._meta.db_table} SET progress_done = %s, errors_count = %s, "
                "heartbeat_at = %s WHERE id = %s",
                [_rows_read(reader), len(reader.errors), timezone.now(), self._job_id],
            )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()


def _report(importer: Importer, reader: ImportReader) -> dict:
    errors = [error.as_dict() for error in reader.errors + importer.tally.errors]
    errors.sort(key=lambda e: (e["member"], e["row"] if e["row"] is not None else -1))
    return {
        "errors": errors[:REPORT_LIMIT],
        "labels_created": importer.tally.labels_created,
        # The quoting each CSV/TSV file was read with ("auto" decides per file).
        "quoting": reader.quoting_used,
    }


def import_job_reaped(job: ImportJob) -> None:
    """What a dead worker's import leaves behind (``common.jobs`` hook): its audit event, counters and upload.

    In "reject" mode its transaction was rolled back, so nothing was imported; in "skip" mode
    the rows counted were committed. Nothing will read its sealed upload again.
    """
    if job.on_error == ImportOnError.REJECT:
        ImportJob.objects.filter(pk=job.pk).update(created=0, skipped=0, near_duplicates=0)
    audit_record(
        actor="system",
        action=AuditAction.IMPORT_REAP,
        project=job.project,
        target=job,
        details={"heartbeat_at": job.heartbeat_at.isoformat()},
    )
    upload_delete(job)


def _import_send(job_id: int) -> None:
    from annotation.celery_tasks import import_run_task

    import_run_task.delay(job_id)


IMPORT_JOB_KIND = JobKind(
    name="import",
    label=gettext_lazy("Import"),
    model=ImportJob,
    stale_seconds=lambda: STALE_SECONDS,
    on_reap=import_job_reaped,
    send=_import_send,
)


def import_job_run(*, job_id: int) -> None:
    """Run a queued job once (claimed by a conditional UPDATE, so a repeated message does nothing).

    "reject": the whole file in one transaction, so a bad row leaves nothing behind. "skip":
    each batch commits on its own and bad rows go to the report; re-running adds nothing twice.
    A running job whose worker died (stale heartbeat; the broker redelivers its message thanks
    to late acknowledgement) is taken over and run again from the start: in "reject" mode its
    transaction was rolled back, in "skip" mode the rows already committed count as present.
    """
    if not job_claim(ImportJob, job_id=job_id):
        logger.info("Import job %s is not queued any more; nothing to do.", job_id)
        return
    job = ImportJob.objects.select_related("project", "requested_by", "source").get(pk=job_id)
    if not job.upload_path or not Path(job.upload_path).exists():
        _finish(job, JobStatus.FAILED, error=UPLOAD_LOST)
        return
    if job.requested_by is None or not has_project_perm(
        user=job.requested_by, project=job.project, perm=Perm.IMPORT_ITEMS
    ):
        _finish(
            job,
            JobStatus.FAILED,
            error="The requester may no longer import items; nothing was imported.",
        )
        return
    skip, stream, importer, reader = job.on_error == ImportOnError.SKIP, None, None, None
    try:
        errors: list[ImportRowError] = []
        importer = Importer(
            project=job.project,
            actor=job.requested_by,
            filename=job.filename,
            fail=_collector(errors, job.filename) if skip else _recorder(errors),
            source=job.source,
            create_missing_labels=job.create_missing_labels,
        )
        importer.tally.errors = errors
        stream = io.BufferedReader(SealedUploadReader(job), buffer_size=CHUNK_BYTES)
        reader = ImportReader(
            stream,
            filename=job.filename,
            fmt=job.format or None,
            max_text_chars=settings.IMPORT_MAX_TEXT_CHARS,
            on_error=job.on_error,
            quoting=job.quoting,
        )
        scanner = RowScanner(importer.scan_policy, processes=settings.IMPORT_SCAN_PROCESSES)
        with scanner:
            if skip:
                _run_in_batches(job, importer, reader, scanner)
            else:
                side_progress = _SideProgress(job)
                try:
                    with transaction.atomic():
                        for batch, scans in scanned_batches(reader.rows(), scanner):
                            importer.batch_import(batch, scans)
                            side_progress(importer, reader)
                        importer.statistics_refresh()
                        importer.neardup_request(import_job=job)
                        importer.audit(target=job)
                finally:
                    side_progress.close()
        _progress(job, importer, reader)
        _finish(job, JobStatus.SUCCEEDED, report=_report(importer, reader))
    except ImportRowError as error:
        if not skip:
            # The rows read up to the bad one were read all the same: say how many, not 0. A row
            # the importer refused was counted by the reader already.
            bad = 0 if error.fatal else 1
            rows_read = _rows_read(reader) + (0 if error in importer.tally.errors else bad)
            importer.tally = type(importer.tally)()  # rolled back: nothing was imported
            reader.errors.append(error)
            ImportJob.objects.filter(pk=job.pk).update(progress_done=rows_read, errors_count=bad)
        else:
            if error not in reader.errors and error not in importer.tally.errors:
                importer.tally.errors.append(error)  # the collector's "too many bad rows"
            _progress(job, importer, reader)
        status = JobStatus.FAILED if not skip or error.fatal else JobStatus.SUCCEEDED
        _finish(
            job,
            status,
            report=_report(importer, reader),
            error=str(error) if error.fatal or not skip else "",
        )
    except Exception as error:  # recorded on the job; the worker stays up for the next one
        logger.exception("Import job %s failed", job_id)
        if reader is not None:
            ImportJob.objects.filter(pk=job.pk).update(progress_done=_rows_read(reader))
        _finish(job, JobStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
    finally:
        if stream is not None:
            stream.close()
        upload_delete(job)
    if importer is not None and importer.tally.result().created:
        embeddings_request(project=job.project)


def _run_in_batches(
    job: ImportJob, importer: Importer, reader: ImportReader, scanner: RowScanner
) -> None:
    try:
        for batch, scans in scanned_batches(reader.rows(), scanner):
            with transaction.atomic():
                importer.batch_import(batch, scans)
            _progress(job, importer, reader)
    finally:
        # Rows committed so far are imported whatever stops the reading: record them.
        with transaction.atomic():
            importer.statistics_refresh()
            importer.neardup_request(import_job=job)
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


def _recorder(errors: list):
    """A "reject" job's bad row: noted (so the job knows the importer refused it), then raised."""

    def record(error: ImportRowError) -> None:
        errors.append(error)
        raise error

    return record


@transaction.atomic
def _finish(job: ImportJob, status: str, *, report: dict | None = None, error: str = "") -> None:
    fields = {} if report is None else {"report": report}
    if status == JobStatus.FAILED and job.on_error == ImportOnError.REJECT:
        fields.update(created=0, skipped=0, near_duplicates=0)
    elif report is not None:
        # The near-duplicate pass, queued when the rows committed, may have ended already and
        # written its links (both lock the row): keep them.
        written = ImportJob.objects.select_for_update().filter(pk=job.pk).values_list("report", flat=True)
        links = (written.first() or {}).get("near_duplicates")
        if links is not None:
            report["near_duplicates"] = links
    job_finish(job, status=status, error=error, **fields)
