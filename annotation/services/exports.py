"""Streaming exports of annotations; the export itself is audited before the first byte leaves."""

from collections.abc import Iterator

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
    return writer(export_records(project=project))
