"""Streaming exports of annotations; audited before the first byte leaves and after the last."""

from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.models import Project
from annotation.pipeline.writers import csv_lines, jsonl_lines
from annotation.selectors import export_records
from governance.audit import audit_record
from governance.keyring import project_readable_check

EXPORT_FORMATS = {
    "jsonl": ("application/x-ndjson", jsonl_lines),
    "csv": ("text/csv", csv_lines),
}


def export_content_type(fmt: str) -> str:
    return EXPORT_FORMATS[fmt][0]


def annotations_export(*, actor, project: Project, fmt: str) -> Iterator[bytes]:
    """Record the export, then return a generator of the file's bytes (constant memory)."""
    if fmt not in EXPORT_FORMATS:
        raise ValidationError({"format": f"Unknown export format '{fmt}'; choose jsonl or csv."})
    # Checked here, not while streaming: once the first byte is sent, no error page can follow.
    project_readable_check(project=project)
    with transaction.atomic():
        audit_record(actor=actor, action="annotations.export", project=project, details={"format": fmt})
    _, writer = EXPORT_FORMATS[fmt]
    read: list[int] = []
    return _audited_stream(writer(_noting_ids(export_records(project=project), read)), actor, project, fmt, read)


def _noting_ids(records: Iterable[dict], read: list[int]) -> Iterator[dict]:
    for record in records:
        read.append(record["id"])
        yield record


def id_ranges(ids: list[int]) -> list[list[int]]:
    """Ascending ids as [first, last] runs: an export of a whole project is one or a few runs."""
    runs: list[list[int]] = []
    for item_id in ids:
        if runs and item_id == runs[-1][1] + 1:
            runs[-1][1] = item_id
        else:
            runs.append([item_id, item_id])
    return runs


def _audited_stream(chunks: Iterator[bytes], actor, project: Project, fmt: str, read: list[int]) -> Iterator[bytes]:
    """Pass the file through, then record which items' text left, also when the client hangs up."""
    complete = False
    try:
        yield from chunks
        complete = True
    finally:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="item.read",
                project=project,
                details={"via": f"export.{fmt}", "complete": complete, "count": len(read), "items": id_ranges(read)},
            )
