"""Stream CSV and JSONL uploads into validated rows, one at a time."""

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

FORMATS = ("csv", "jsonl")
_ID_KEYS = ("external_id", "id")
_MAX_EXTERNAL_ID = 255


@dataclass(frozen=True)
class ImportRow:
    row: int
    text: str
    external_id: str = ""
    meta: dict = field(default_factory=dict)
    # Which key or column held the external id ("id" or "external_id"), for error messages.
    id_field: str = "external_id"


class ImportRowError(ValueError):
    """A row that cannot be imported; says which file, row and field, and why."""

    def __init__(self, *, filename: str, row: int | None, field: str | None, message: str):
        self.filename, self.row, self.field, self.message = filename, row, field, message
        where = filename
        if row is not None:
            where += f", row {row}"
        if field:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")

    def as_dict(self) -> dict:
        return {"file": self.filename, "row": self.row, "field": self.field, "message": self.message}


def detect_format(filename: str) -> str:
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise ImportRowError(
        filename=filename, row=None, field=None, message="unknown file type; upload a .csv or .jsonl file"
    )


def read_rows(stream: BinaryIO, *, filename: str, fmt: str | None = None, max_text_chars: int) -> Iterator[ImportRow]:
    """Yield validated rows; raise ImportRowError at the first bad one."""
    fmt = fmt or detect_format(filename)
    if fmt not in FORMATS:
        raise ImportRowError(filename=filename, row=None, field=None, message=f"unknown format '{fmt}'")
    rows = _read_csv(stream, filename) if fmt == "csv" else _read_jsonl(stream, filename)
    seen_ids: set[str] = set()
    for row_number, raw in rows:
        row = _validate(raw, row_number, filename, max_text_chars)
        if row.external_id:
            if row.external_id in seen_ids:
                raise ImportRowError(
                    filename=filename,
                    row=row_number,
                    field=row.id_field,
                    message=f"'{row.external_id}' appears twice in this file",
                )
            seen_ids.add(row.external_id)
        yield row


def _text_lines(stream: BinaryIO, filename: str) -> Iterator[tuple[int, str]]:
    """Decode UTF-8 (with or without a BOM) line by line, naming the line that fails to decode."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    for line_number, raw_line in enumerate(stream, start=1):
        try:
            yield line_number, decoder.decode(raw_line)
        except UnicodeDecodeError as error:
            raise ImportRowError(
                filename=filename,
                row=line_number,
                field=None,
                message=f"not valid UTF-8 at byte {error.start} of the line; save the file as UTF-8",
            ) from None


def _read_jsonl(stream: BinaryIO, filename: str) -> Iterator[tuple[int, dict]]:
    for line_number, line in _text_lines(stream, filename):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ImportRowError(
                filename=filename, row=line_number, field=None, message=f"invalid JSON: {error.msg} at column {error.colno}"
            ) from None
        if not isinstance(record, dict):
            raise ImportRowError(
                filename=filename, row=line_number, field=None, message="each line must be a JSON object"
            )
        yield line_number, record


class _LineFeed(io.TextIOBase):
    """Lets csv.reader pull decoded lines while we remember the physical line number."""

    def __init__(self, lines: Iterator[tuple[int, str]]):
        self._lines = lines
        self.line_number = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        self.line_number, text = next(self._lines)
        return text


def _read_csv(stream: BinaryIO, filename: str) -> Iterator[tuple[int, dict]]:
    feed = _LineFeed(_text_lines(stream, filename))
    reader = csv.reader(feed, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRowError(filename=filename, row=None, field=None, message="the file is empty") from None
    except csv.Error as error:
        raise ImportRowError(filename=filename, row=1, field=None, message=f"malformed header: {error}") from None
    header = [name.strip() for name in header]
    if "text" not in header:
        raise ImportRowError(
            filename=filename, row=1, field="text", message="the header has no 'text' column"
        )
    if len(set(header)) != len(header):
        raise ImportRowError(filename=filename, row=1, field=None, message="the header repeats a column name")
    while True:
        start_line = feed.line_number + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ImportRowError(filename=filename, row=start_line, field=None, message=f"malformed CSV: {error}") from None
        if not values or values == [""]:
            continue
        if len(values) != len(header):
            raise ImportRowError(
                filename=filename,
                row=start_line,
                field=None,
                message=f"expected {len(header)} columns as in the header, found {len(values)}",
            )
        record = dict(zip(header, values))
        if "meta" in record:
            record["meta"] = _parse_meta_cell(record["meta"], filename, start_line)
        yield start_line, record


def _parse_meta_cell(cell: str, filename: str, row: int):
    if not cell.strip():
        return {}
    try:
        return json.loads(cell)
    except json.JSONDecodeError:
        raise ImportRowError(
            filename=filename, row=row, field="meta", message="the 'meta' column must hold a JSON object"
        ) from None


def _validate(record: dict, row: int, filename: str, max_text_chars: int) -> ImportRow:
    def fail(field_name: str, message: str):
        raise ImportRowError(filename=filename, row=row, field=field_name, message=message)

    text = record.get("text")
    if text is None:
        fail("text", "is missing")
    if not isinstance(text, str):
        fail("text", f"must be a string, not {type(text).__name__}")
    if not text.strip():
        fail("text", "is empty")
    if len(text) > max_text_chars:
        fail("text", f"is {len(text)} characters long; the limit is {max_text_chars}")

    external_id = ""
    id_key = next((key for key in _ID_KEYS if key in record), None)
    if id_key is not None:
        raw_id = record[id_key]
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
            fail(id_key, "must be a string or an integer")
        external_id = str(raw_id).strip()
        if len(external_id) > _MAX_EXTERNAL_ID:
            fail(id_key, f"is longer than {_MAX_EXTERNAL_ID} characters")

    meta = record.get("meta", {})
    if not isinstance(meta, dict):
        fail("meta", "must be an object")
    extra = {key: value for key, value in record.items() if key not in ("text", "meta", *_ID_KEYS)}
    return ImportRow(row=row, text=text, external_id=external_id, meta={**extra, **meta}, id_field=id_key or "external_id")
