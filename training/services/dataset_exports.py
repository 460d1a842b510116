"""Streamed exports of a dataset version's records as JSONL, CSV or CoNLL, audited as an export and as item reads."""

import json
from collections.abc import Iterable, Iterator
from itertools import chain

from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.pipeline.writers import conll_document, jsonl_lines
from common.streaming import csv_stream
from governance.audit import AuditAction, audit_record
from governance.audited_streams import audited_item_stream
from governance.keyring import project_readable_check
from governance.sealed_files import SealedFileError
from projects.models import TaskType
from training.models import DatasetStatus, DatasetVersion, Split
from training.services.datasets import dataset_version_records

DATASET_CSV_COLUMNS = (
    "item_id",
    "external_id",
    "split",
    "text",
    "labels",
    "spans",
    "agreement",
    "source",
)


def _csv_rows(records: Iterable[dict]) -> Iterator[list]:
    for record in records:
        value = record["value"]
        yield [
            record["id"],
            record["external_id"],
            record["split"],
            record["text"],
            ";".join(value.get("labels", [])),
            json.dumps(value["spans"], ensure_ascii=False) if "spans" in value else "",
            record.get("agreement", ""),
            record.get("source", ""),
        ]


def dataset_csv_lines(records: Iterable[dict]) -> Iterator[bytes]:
    """One row per record; every cell formula-safe through the project's one CSV writer."""
    return csv_stream(DATASET_CSV_COLUMNS, _csv_rows(records))


def dataset_conll_lines(records: Iterable[dict]) -> Iterator[bytes]:
    for record in records:
        yield (
            "\n".join(conll_document(record["text"], record["value"].get("spans", []))) + "\n"
        ).encode()


DATASET_EXPORT_FORMATS = {
    "jsonl": ("application/x-ndjson", jsonl_lines),
    "csv": ("text/csv", dataset_csv_lines),
    "conll": ("text/plain", dataset_conll_lines),
}


def dataset_export_content_type(fmt: str) -> str:
    return DATASET_EXPORT_FORMATS[fmt][0]


def dataset_export_filename(*, version: DatasetVersion, fmt: str, split: str = "") -> str:
    suffix = f"-{split}" if split else ""
    return f"project-{version.project_id}-dataset-v{version.number}{suffix}.{fmt}"


def dataset_export_check(*, version: DatasetVersion, fmt: str, split: str = "") -> None:
    """Refuse what cannot be exported, with the reason; views call it before they sign a download link."""
    if fmt not in DATASET_EXPORT_FORMATS:
        raise ValidationError(
            {"format": f"Unknown export format '{fmt}'; choose jsonl, csv or conll."}
        )
    if split and split not in Split.values:
        raise ValidationError(
            {"split": f"Unknown split '{split}'; choose train, dev or test, or none for all."}
        )
    if version.status != DatasetStatus.READY:
        raise ValidationError(
            {"version": f"Dataset version {version.number} is {version.public_status}, not ready."}
        )
    if fmt == "conll" and version.manifest.get("task_type") != TaskType.SPANS:
        raise ValidationError(
            {
                "format": f"CoNLL holds entity spans; dataset version {version.number} is a classification dataset."
            }
        )


def dataset_version_export(
    *, actor, version: DatasetVersion, fmt: str, split: str = ""
) -> Iterator[bytes]:
    """Record the export, then return a generator of the file's bytes (one sealed chunk in memory at a time).

    Everything that can fail before the first byte is checked here (format, shredded key, missing or
    altered file at its first chunk), so callers can still answer with an error page.
    """
    dataset_export_check(version=version, fmt=fmt, split=split)
    project = version.project
    project_readable_check(project=project)
    records = dataset_version_records(version=version)
    try:
        first = next(records, None)
    except (OSError, SealedFileError) as error:
        raise ValidationError(
            {
                "version": f"The stored file of dataset version {version.number} cannot be read: {error}"
            }
        ) from None
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.DATASET_EXPORT,
            project=project,
            target=version,
            details={
                "number": version.number,
                "format": fmt,
                "split": split or "all",
                "content_hash": version.content_hash,
            },
        )
    every = chain([first], records) if first is not None else iter(())
    chosen = (record for record in every if not split or record["split"] == split)
    _, writer = DATASET_EXPORT_FORMATS[fmt]
    return audited_item_stream(
        chosen,
        writer,
        actor=actor,
        project=project,
        target=version,
        via=f"dataset.export.{fmt}",
        details={"version": version.number},
    )
