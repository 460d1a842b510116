"""Turn export records into JSONL or CSV bytes, one line at a time."""

import csv
import io
import json
from collections.abc import Iterable, Iterator

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
# Cells starting with these are run as formulas by spreadsheet programs.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def jsonl_lines(records: Iterable[dict]) -> Iterator[bytes]:
    for record in records:
        yield (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet will show as text: formula-like values get a leading quote."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def csv_stream(header: Iterable[str], rows: Iterable[Iterable], *, rows_per_chunk: int = 500) -> Iterator[bytes]:
    """CSV bytes in chunks of rows, every cell passed through ``safe_cell``: the rule for every CSV we write."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> bytes:
        data = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(header)
    yield flush()
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(cell) for cell in row])
        if count % rows_per_chunk == 0:
            yield flush()
    yield flush()


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
