"""Turn export records into JSONL or CSV bytes, one line at a time."""

import json
from collections.abc import Iterable, Iterator

from common.streaming import csv_stream

CSV_COLUMNS = (
    "item_id",
    "external_id",
    "text",
    "annotator",
    "status",
    "labels",
    "spans",
    "lead_time_ms",
    "created_at",
    "updated_at",
)


def jsonl_lines(records: Iterable[dict]) -> Iterator[bytes]:
    for record in records:
        yield (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _annotation_rows(records: Iterable[dict]) -> Iterator[list]:
    for record in records:
        for annotation in record["annotations"]:
            value = annotation["value"]
            yield [
                record["id"],
                record["external_id"],
                record["text"],
                annotation["annotator"],
                annotation["status"],
                ";".join(value.get("labels", [])),
                json.dumps(value["spans"]) if "spans" in value else "",
                annotation["lead_time_ms"],
                annotation["created_at"],
                annotation["updated_at"],
            ]


def csv_lines(records: Iterable[dict]) -> Iterator[bytes]:
    """One CSV row per annotation in each record; neutralises spreadsheet formulas."""
    return csv_stream(CSV_COLUMNS, _annotation_rows(records))


def conll_lines(records: Iterable[dict]) -> Iterator[bytes]:
    """One CoNLL (IOB2) document per span annotation, preceded by a comment naming item and annotator."""
    # The dataset-version export's tokeniser, so both exports tag words the same way.
    from training.services.dataset_exports import conll_document

    for record in records:
        for annotation in record["annotations"]:
            lines = [f"# item_id = {record['id']}", f"# annotator = {annotation['annotator']}"]
            lines += conll_document(record["text"], annotation["value"].get("spans", []))
            yield ("\n".join(lines) + "\n").encode()


PARQUET_ROWS_PER_GROUP = 2000


def _parquet_schema():
    import pyarrow as pa

    span = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string())])
    return pa.schema(
        [
            ("item_id", pa.int64()),
            ("external_id", pa.string()),
            ("text", pa.string()),
            ("annotator", pa.string()),
            ("status", pa.string()),
            ("labels", pa.list_(pa.string())),
            ("spans", pa.list_(span)),
            ("lead_time_ms", pa.int64()),
            ("created_at", pa.string()),
            ("updated_at", pa.string()),
        ]
    )


def parquet_write(records: Iterable[dict], sink) -> None:
    """Write one row per annotation to ``sink`` (a binary file) as Parquet, one row group at a time.

    Hugging Face ``datasets`` loads it as is: ``load_dataset("parquet", data_files=path)``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema()
    columns = schema.names
    rows: list[list] = []
    with pq.ParquetWriter(pa.PythonFile(sink, mode="w"), schema, compression="zstd") as writer:

        def flush():
            writer.write_table(pa.Table.from_pylist([dict(zip(columns, row)) for row in rows], schema=schema))
            rows.clear()

        for record in records:
            for annotation in record["annotations"]:
                value = annotation["value"]
                rows.append(
                    [
                        record["id"],
                        record["external_id"],
                        record["text"],
                        annotation["annotator"],
                        annotation["status"],
                        value.get("labels", []),
                        [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in value.get("spans", [])],
                        annotation["lead_time_ms"],
                        annotation["created_at"],
                        annotation["updated_at"],
                    ]
                )
            if len(rows) >= PARQUET_ROWS_PER_GROUP:
                flush()
        if rows:
            flush()
