"""Importing items from an uploaded file: streamed, validated, all-or-nothing."""

from dataclasses import dataclass
from itertools import islice
from typing import BinaryIO

from django.conf import settings
from django.db import transaction

from annotation.models import Item, Project
from annotation.pipeline.readers import ImportRow, read_rows
from governance.audit import audit_record

BATCH_SIZE = 1000


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int
    skipped_existing: int


def _batches(rows, size):
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _insert_batch(project: Project, batch: list[ImportRow]) -> int:
    ids = [row.external_id for row in batch if row.external_id]
    existing = set(
        Item.objects.filter(project=project, external_id__in=ids).values_list("external_id", flat=True)
    ) if ids else set()
    new_items = [
        Item(project=project, text=row.text, external_id=row.external_id, meta=row.meta)
        for row in batch
        if not row.external_id or row.external_id not in existing
    ]
    Item.objects.bulk_create(new_items, batch_size=BATCH_SIZE)
    return len(new_items)


@transaction.atomic
def items_import(*, actor, project: Project, stream: BinaryIO, filename: str, fmt: str | None = None) -> ImportResult:
    """Import every row of the file or none of them.

    Rows whose external id already exists in the project are skipped, so importing
    the same file twice adds nothing. The first bad row raises ImportRowError, which
    rolls back everything this call inserted.
    """
    rows_seen = created = 0
    rows = read_rows(stream, filename=filename, fmt=fmt, max_text_chars=settings.IMPORT_MAX_TEXT_CHARS)
    for batch in _batches(rows, BATCH_SIZE):
        rows_seen += len(batch)
        created += _insert_batch(project, batch)
    result = ImportResult(rows=rows_seen, created=created, skipped_existing=rows_seen - created)
    audit_record(
        actor=actor,
        action="items.import",
        project=project,
        details={"file": filename, "rows": result.rows, "created": result.created, "skipped_existing": result.skipped_existing},
    )
    return result
