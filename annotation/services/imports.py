"""Importing items from an uploaded file: cleaning, labels, PII, dedup, batch by batch; near-dup links follow."""

import hmac
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from annotation.hooks import Hook, hook_run
from annotation.models import DataSource, ImportJob, Item, ItemWord, Label
from annotation.pipeline.cleaning import CleaningPolicy
from annotation.pipeline.readers import ImportReader, ImportRow, ImportRowError
from annotation.services.bulk_insert import StatisticsSchedule, rows_insert, values_present
from annotation.services.import_batches import (
    BATCH_SIZE,
    ImportResult,
    ImportTally,
    scanned_batches,
)
from annotation.services.import_rows import ImportedRows
from annotation.services.import_scan import RowScan, RowScanner, ScanPolicy
from annotation.services.item_words import item_words_file
from annotation.services.neardup_jobs import neardup_job_request
from annotation.services.projects import hotkeys_next
from annotation.services.table_statistics import table_statistics_refresh
from common.id_ranges import id_ranges_add
from governance.audit import AuditAction, audit_record
from governance.crypto import FieldCipher, text_words
from governance.keyring import project_cipher
from projects.models import Project, TaskType


def cleaning_policy_of(project: Project) -> CleaningPolicy:
    values = dict(project.cleaning_policy or {})
    if "languages" in values:
        values["languages"] = tuple(values["languages"])
    return CleaningPolicy(**values)


# Distinct words an import remembers the token of (about 200 bytes each: 40 MB at most); bounded
# so memory stays flat however long the file.
_WORD_CACHE_LIMIT = 200_000


class WordTokens:
    """``cipher.word_tokens`` with each word's token remembered for the rest of the import.

    Words repeat heavily across a file (a few thousand make up most of any text), so most
    lookups skip the HMAC: ~40 µs a short text became ~15 µs. The tokens are the same keyed
    hashes (tests compare the two); they live in this process's memory only while it imports.
    """

    def __init__(self, cipher: FieldCipher):
        if not cipher.word_key:
            raise ValueError("No word key: build the cipher with FieldCipher.from_data_key.")
        self._key, self._cache = cipher.word_key, {}

    def __call__(self, text: str) -> set[int]:
        cache, tokens = self._cache, set()
        for word in text_words(text):
            token = cache.get(word)
            if token is None:
                if len(cache) >= _WORD_CACHE_LIMIT:
                    cache.clear()
                digest = hmac.digest(self._key, word.encode(), "sha256")
                token = cache[word] = int.from_bytes(digest[:8], "big", signed=True)
            tokens.add(token)
        return tokens


@dataclass
class _Prepared:
    row: ImportRow
    text: str
    meta: dict
    findings: list
    mapping: dict


class Importer:
    """Turns validated rows into items of one project; ``fail`` decides what a bad row does."""

    def __init__(
        self,
        *,
        project: Project,
        actor,
        filename: str,
        fail,
        source: DataSource | None = None,
        create_missing_labels: bool = False,
    ):
        self.project, self.actor, self.filename, self.fail = project, actor, filename, fail
        self.source, self.create_missing_labels = source, create_missing_labels
        self.cipher = project_cipher(project.pk)
        self.scan_policy = ScanPolicy(
            cleaning=cleaning_policy_of(project),
            pii=project.pii_policy,
            pseudonym_key=self.cipher.pseudonym_key,
        )
        self.labels = set(project.labels.values_list("name", flat=True))
        self.tally = ImportTally()
        # The new items' ids as [first, last] runs, for the near-duplicate pass that follows.
        self.created_ranges: list[list[int]] = []
        self.rows = ImportedRows(project, self.cipher)
        self.word_tokens = WordTokens(self.cipher)
        # A new item's values in field order (no Item field has a mutable default to share).
        self._item_defaults = {
            field.attname: field.get_default() for field in Item._meta.concrete_fields
        } | {"project_id": project.pk, "source_id": source.pk if source is not None else None}
        # Planned from stale statistics, a batch's lookups would read every item of the project.
        self._statistics = StatisticsSchedule(Item)
        self._word_rows = 0  # ItemWord rows filed: nothing reads them during the import

    # --- per row ------------------------------------------------------------------------------

    def _error(self, row: ImportRow, field_name: str, message: str) -> ImportRowError:
        return ImportRowError(
            filename=self.filename,
            row=row.row,
            field=field_name,
            message=message,
            member=row.member,
        )

    def _values_check(self, row: ImportRow) -> bool:
        """Whether every label the row brings is usable; a bad row goes to ``fail`` first."""
        task_type = self.project.task_type
        wanted = [("spans", {"spans": row.spans})] if row.spans else []
        wanted += [("annotations", entry["value"]) for entry in row.annotations]
        wanted += [("predictions", entry["value"]) for entry in row.predictions]
        missing: dict[str, set[str]] = {}
        for where, value in wanted:
            if task_type == TaskType.SPANS and "labels" in value:
                return self._bad(
                    row, where, "holds classification labels; this project labels spans"
                )
            if task_type != TaskType.SPANS and "spans" in value:
                return self._bad(row, where, "holds spans; this project classifies whole texts")
            if task_type == TaskType.SINGLE_LABEL and len(value.get("labels", [])) > 1:
                return self._bad(row, where, "holds several labels; this project takes one")
            names = set(value.get("labels", [])) | {
                span["label"] for span in value.get("spans", [])
            }
            if names - self.labels:
                missing.setdefault(where, set()).update(names - self.labels)
        if missing and not self.create_missing_labels:
            where, names = next(iter(missing.items()))
            return self._bad(
                row,
                where,
                f"labels not in the project: {', '.join(sorted(names))} "
                "(add them, or tick 'create missing labels')",
            )
        for names in missing.values():
            self._labels_create(names)
        return True

    def _bad(self, row: ImportRow, field_name: str, message: str) -> bool:
        self.fail(self._error(row, field_name, message))
        return False

    def _labels_create(self, names: set[str]) -> None:
        order = (self.project.labels.aggregate(top=Max("order"))["top"] or 0) + 1
        new_names = sorted(names - self.labels)
        hotkeys = hotkeys_next(taken=self.project.labels.values_list("hotkey", flat=True), count=len(new_names))
        for offset, (name, hotkey) in enumerate(zip(new_names, hotkeys)):
            Label.objects.create(project=self.project, name=name[:100], order=order + offset, hotkey=hotkey)
            self.labels.add(name)
            self.tally.labels_created.append(name)

    def _prepare(self, row: ImportRow, scan: RowScan) -> _Prepared | None:
        cleaned = scan.cleaned
        if cleaned.rejected:
            self.fail(self._error(row, "text", cleaned.rejected_reason))
            return None
        if not self._values_check(row):
            return None
        text, findings, mapping = scan.text, scan.findings, scan.mapping
        has_spans = row.spans or any(
            "spans" in e["value"] for e in row.annotations + row.predictions
        )
        if has_spans and text != row.text:
            self.fail(
                self._error(
                    row,
                    "spans",
                    "cleaning or personal-data masking changed the text, so the span offsets no "
                    "longer fit it; import this file into a project whose policies keep the text as it is",
                )
            )
            return None
        meta = dict(row.meta)
        if cleaned.changes or cleaned.language:
            meta["_import"] = {
                "cleaning": cleaned.changes,
                **({"language": cleaned.language} if cleaned.language else {}),
            }
        return _Prepared(row, text, meta, findings, mapping)

    # --- per batch ----------------------------------------------------------------------------

    def batch_import(self, batch: list[ImportRow], scans: list[RowScan]) -> None:
        """Import one batch with its rows' scans (see scanned_batches); the caller holds the
        transaction."""
        self.tally.rows += len(batch)
        # A row repeating an earlier row of the file (same id and text) is that row's item.
        fresh_rows = [(row, scan) for row, scan in zip(batch, scans) if not row.repeat_of]
        self.tally.duplicates += len(batch) - len(fresh_rows)
        prepared = [p for p in (self._prepare(row, scan) for row, scan in fresh_rows) if p]
        ids = [p.row.external_id for p in prepared if p.row.external_id]
        existing = values_present(
            Item, project_id=self.project.pk, field_name="external_id", values=ids
        )
        fresh = [p for p in prepared if not p.row.external_id or p.row.external_id not in existing]
        self.tally.skipped_existing += len(prepared) - len(fresh)
        built = [(p, self._item_build(p)) for p in fresh]
        # A row without an external id is identified by its text, found through the blind index
        # (set with the text): the texts themselves are never compared in the database. Earlier
        # batches are in the database already (committed, or inside this same transaction), so
        # only this batch's indexes are held: memory stays flat however long the file is.
        wanted = {item.text_index for p, item in built if not item.external_id}
        seen = values_present(
            Item, project_id=self.project.pk, field_name="text_index", values=wanted
        )
        kept = []
        for p, item in built:
            if not item.external_id and item.text_index in seen:
                self.tally.duplicates += 1
                continue
            seen.add(item.text_index)
            kept.append((p, item))
        rows_insert(Item, [item for _, item in kept], batch_size=BATCH_SIZE)
        self.tally.created += len(kept)
        self._statistics.rows_added(self.tally.created)
        self.rows.create(kept)
        # The word index, while the texts are in memory anyway (governance.crypto.word_tokens).
        self._word_rows += item_words_file(
            cipher=self.cipher,
            texts=[(item.pk, p.text) for p, item in kept],
            word_tokens=self.word_tokens,
        )
        for _, item in kept:
            id_ranges_add(self.created_ranges, item.pk)

    def _item_build(self, p: _Prepared) -> Item:
        # Built from positional values, the path the ORM takes for the rows it reads: keyword
        # arguments (project=..., text=...) cost Django's __init__ more than the encryption itself.
        item = Item(*(self._item_defaults | {"external_id": p.row.external_id}).values())
        item.text = p.text
        item.meta = p.meta
        if p.mapping:
            item.pii_mapping = p.mapping
        submitted = {self.rows.annotator_id(entry["annotator"]) for entry in p.row.annotations}
        item.annotation_count = len(submitted)
        item.is_done = item.annotation_count >= self.project.overlap
        return item

    def statistics_refresh(self) -> None:
        """Refresh the statistics of the tables this import grew enough (table_statistics), inside
        the caller's transaction when it holds one, so they are fresh when the rows appear."""
        since_schedule = self.tally.created - self._statistics.refreshed_at
        added = {Item: since_schedule, ItemWord: self._word_rows, **self.rows.added}
        table_statistics_refresh(added)

    def neardup_request(self, *, import_job: ImportJob | None = None) -> None:
        """Queue the near-duplicate pass over the items created so far, once the caller's
        transaction commits (annotation.services.neardup_jobs); call it in the transaction that
        writes the import's audit event."""
        neardup_job_request(
            project=self.project, item_ranges=self.created_ranges, import_job=import_job
        )

    def audit(self, *, action: AuditAction = AuditAction.ITEM_IMPORT, target=None) -> None:
        result = self.tally.result()
        audit_record(
            actor=self.actor,
            action=action,
            project=self.project,
            target=target,
            details={
                "file": self.filename,
                "source": self.source.name if self.source else None,
                "rows": result.rows,
                "created": result.created,
                "skipped_existing": result.skipped_existing,
                "duplicates": result.duplicates,
                "errors": result.errors,
                "labels_created": self.tally.labels_created,
            },
        )


def _raise(error: ImportRowError):
    raise error


@transaction.atomic
def items_import(
    *,
    actor,
    project: Project,
    stream: BinaryIO,
    filename: str,
    fmt: str | None = None,
    source: DataSource | None = None,
    create_missing_labels: bool = False,
    quoting: str = "auto",
) -> ImportResult:
    """Import every row of the file or none of them, synchronously (tests, fixtures, demo data).

    The same pipeline as a background ImportJob in "reject" mode: cleaning, label checks, PII
    policy, exact dedup (external id, else the blind index of the text); near-duplicate links
    follow in a worker's pass once this commits (neardup_jobs).
    Importing the same file twice therefore adds nothing. The first bad row raises
    ImportRowError, which rolls back everything this call wrote.
    """
    importer = Importer(
        project=project,
        actor=actor,
        filename=filename,
        fail=_raise,
        source=source,
        create_missing_labels=create_missing_labels,
    )
    reader = ImportReader(
        stream,
        filename=filename,
        fmt=fmt,
        max_text_chars=settings.IMPORT_MAX_TEXT_CHARS,
        quoting=quoting,
    )
    # Small files: scanned here, in this process, one batch at a time.
    for batch, scans in scanned_batches(
        reader.rows(), RowScanner(importer.scan_policy, processes=0)
    ):
        importer.batch_import(batch, scans)
    importer.statistics_refresh()
    importer.neardup_request()
    importer.audit()
    result = importer.tally.result()
    if result.created:
        embeddings_request(project=project)
    return result


def embeddings_request(*, project: Project) -> None:
    """Have a worker embed the new items once the import commits (active learning, search reuse them)."""
    hook_run(Hook.ITEMS_IMPORTED, project=project)
