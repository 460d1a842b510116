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
    # Rows whose text (normalised) the project already had, or that repeated an earlier row.
    duplicates: int = 0


def _batches(rows, size):
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _item_build(project: Project, row: ImportRow) -> Item:
    # Encrypted values are set after construction: passed to Item(...) they would send Django's
    # __init__ down its slow keyword path, which costs more than the encryption itself.
    item = Item(project=project, external_id=row.external_id)
    item.text = row.text
    item.meta = row.meta
    return item


def _insert_batch(project: Project, batch: list[ImportRow], seen_texts: set[str]) -> tuple[int, int]:
    """Insert the batch's new rows; return (created, duplicates). ``seen_texts`` grows with each batch."""
    ids = [row.external_id for row in batch if row.external_id]
    existing = set(
        Item.objects.filter(project=project, external_id__in=ids).values_list("external_id", flat=True)
    ) if ids else set()
    candidates = [_item_build(project, row) for row in batch if not row.external_id or row.external_id not in existing]
    # A row without an external id is identified by its text, found through the blind index
    # (set with the text): the texts themselves are never compared in the database.
    unseen = {item.text_index for item in candidates if not item.external_id} - seen_texts
    if unseen:
        seen_texts.update(
            Item.objects.filter(project=project, text_index__in=unseen).values_list("text_index", flat=True)
        )
    new_items = []
    for item in candidates:
        if not item.external_id and item.text_index in seen_texts:
            continue
        seen_texts.add(item.text_index)
        new_items.append(item)
    Item.objects.bulk_create(new_items, batch_size=BATCH_SIZE)
    return len(new_items), len(candidates) - len(new_items)


@transaction.atomic
def items_import(*, actor, project: Project, stream: BinaryIO, filename: str, fmt: str | None = None) -> ImportResult:
    """Import every row of the file or none of them.

    A row's identity is its external id when it has one, its text otherwise. Rows whose
    external id the project already has are skipped; so are rows without one whose text
    exactly matches (after Unicode and whitespace normalisation) an item of the project or
    an earlier row. Importing the same file twice therefore adds nothing.
    The first bad row raises ImportRowError, which rolls back everything this call inserted.
    """
    rows_seen = created = duplicates = 0
    seen_texts: set[str] = set()
    rows = read_rows(stream, filename=filename, fmt=fmt, max_text_chars=settings.IMPORT_MAX_TEXT_CHARS)
    for batch in _batches(rows, BATCH_SIZE):
        rows_seen += len(batch)
        batch_created, batch_duplicates = _insert_batch(project, batch, seen_texts)
        created += batch_created
        duplicates += batch_duplicates
    result = ImportResult(
        rows=rows_seen,
        created=created,
        skipped_existing=rows_seen - created - duplicates,
        duplicates=duplicates,
    )
    audit_record(
        actor=actor,
        action="items.import",
        project=project,
        details={
            "file": filename,
            "rows": result.rows,
            "created": result.created,
            "skipped_existing": result.skipped_existing,
            "duplicates": result.duplicates,
        },
    )
    return result
