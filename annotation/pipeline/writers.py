"""Turn export records into JSONL, CSV, CoNLL (IOB2) or Parquet, one record at a time."""

import json
import re
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


# One CoNLL document per item; the importer (annotation/pipeline/readers/conll.py) reads it back.
CONLL_DOCSTART = "-DOCSTART- O"
_WORD = re.compile(r"\S+")


def _bio_tags(text: str, spans: list[tuple[int, int, str]]) -> list[str]:
    # The rule of training/ml/evaluate.py's word_bio, which scores spans: the ML core imports no
    # app, so it keeps its copy; tests/training/test_dataset_exports.py holds the two to one answer.
    tags: list[str] = []
    previous = None
    for word in _WORD.finditer(text):
        entity = next((s for s in spans if s[0] < word.end() and word.start() < s[1]), None)
        tags.append("O" if entity is None else f"{'I' if entity is previous else 'B'}-{entity[2]}")
        previous = entity
    return tags


def conll_document(text: str, spans: list[dict]) -> list[str]:
    """One item as CoNLL lines: ``token TAG`` per whitespace word, a blank line where the text has a line break.

    Tokenisation is the one the product scores spans with: words are runs of non-space characters,
    so punctuation stays attached ("Paris," is one token) and a word that a span covers only in part
    is tagged whole. Tags are IOB2: B- opens every entity. Text imported from a CoNLL file (tokens
    joined by spaces, sentences by line breaks) comes back token for token.
    """
    ordered = sorted((span["start"], span["end"], span["label"]) for span in spans)
    lines = [CONLL_DOCSTART, ""]
    previous_end = None
    for word, tag in zip(_WORD.finditer(text), _bio_tags(text, ordered)):
        if previous_end is not None and "\n" in text[previous_end : word.start()]:
            lines.append("")
        lines.append(f"{word.group()} {tag}")
        previous_end = word.end()
    if previous_end is not None:
        lines.append("")
    return lines


def conll_lines(records: Iterable[dict]) -> Iterator[bytes]:
    """One CoNLL (IOB2) document per span annotation, preceded by a comment naming item and annotator."""
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
