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


def _safe_cell(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


# The same rule for every CSV the app writes (the audit trail export uses it too).
safe_cell = _safe_cell


def csv_lines(records: Iterable[dict]) -> Iterator[bytes]:
    """One CSV row per annotation in each record; neutralises spreadsheet formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> bytes:
        data = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for record in records:
        for annotation in record["annotations"]:
            writer.writerow(
                [
                    _safe_cell(record["id"]),
                    _safe_cell(record["external_id"]),
                    _safe_cell(record["text"]),
                    _safe_cell(annotation["annotator"]),
                    _safe_cell(annotation["status"]),
                    _safe_cell(";".join(annotation["value"].get("labels", []))),
                    _safe_cell(json.dumps(annotation["value"]["spans"]) if "spans" in annotation["value"] else ""),
                    annotation["lead_time_ms"],
                    annotation["created_at"],
                    annotation["updated_at"],
                ]
            )
        yield flush()
