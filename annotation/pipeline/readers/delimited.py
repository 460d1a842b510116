"""CSV and TSV files with a header row: a 'text' column is required, others become metadata."""

import csv
import io
from collections.abc import Iterator

from annotation.pipeline.readers.base import Context, ImportRow, ImportRowError, row_from_record
from annotation.pipeline.readers.streams import Source, decode_error_message, raw_lines
from annotation.pipeline.readers.text import json_object

Item = ImportRow | ImportRowError


class _LineFeed(io.TextIOBase):
    """Hands csv.reader decoded lines, keeping the physical line number and the record's problems.

    A line that is too long or badly encoded is still handed over (as its quotes only, or with
    replacement characters) so the parser keeps its place in quoted fields; the record it belongs
    to is then reported.
    """

    def __init__(self, source: Source, encoding: str, ctx: Context):
        self._lines = raw_lines(source, ctx.limits.max_row_bytes)
        self._encoding, self._ctx = encoding, ctx
        self._limit = ctx.limits.max_row_bytes
        self.line_number = 0
        self.record_start(1)

    def record_start(self, line: int) -> None:
        self.problem: ImportRowError | None = None
        self._record_line, self._record_bytes = line, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        self.line_number, raw, dropped_quotes = next(self._lines)
        self._record_bytes += len(raw)
        if self._record_bytes > self._limit and self.line_number > self._record_line:
            raise self._ctx.error(
                self._record_line,
                None,
                f"the record runs over more than {self._limit} bytes (lines {self._record_line} to "
                f"{self.line_number}); a quote is probably left open, so reading cannot continue",
                fatal=True,
            )
        if dropped_quotes is not None:
            self._report(f"line {self.line_number} is longer than the limit of {self._limit} bytes")
            # Hand the parser only the dropped line's quote parity, so its in-quotes state after
            # this line is the same as if it had read the whole line.
            return '"' * (dropped_quotes % 2) + "\n"
        try:
            return raw.decode(self._encoding)
        except UnicodeDecodeError as error:
            self._report(f"line {self.line_number}: {decode_error_message(self._encoding, error)}")
            return raw.decode(self._encoding, errors="replace")

    def _report(self, message: str) -> None:
        if self.problem is None:
            self.problem = self._ctx.error(self._record_line, None, message)


def _header(reader, feed: _LineFeed, ctx: Context) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise ctx.error(None, None, "the file is empty", fatal=True) from None
    except csv.Error as error:
        raise ctx.error(1, None, f"malformed header: {error}", fatal=True) from None
    if feed.problem is not None:
        raise ctx.error(1, None, f"unreadable header: {feed.problem.message}", fatal=True)
    header = [name.strip() for name in header]
    if "text" not in header:
        raise ctx.error(1, "text", "the header has no 'text' column", fatal=True)
    if len(set(header)) != len(header):
        raise ctx.error(1, None, "the header repeats a column name", fatal=True)
    return header


def read_delimited(
    source: Source, encoding: str, ctx: Context, *, delimiter: str
) -> Iterator[Item]:
    # The C parser's field limit (131,072 characters by default) is process-wide; the feed bounds
    # every record by max_row_bytes, so raising the field limit to match is safe.
    if csv.field_size_limit() < ctx.limits.max_row_bytes:
        csv.field_size_limit(ctx.limits.max_row_bytes)
    feed = _LineFeed(source, encoding, ctx)
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    header = _header(reader, feed, ctx)
    while True:
        start_line = feed.line_number + 1
        feed.record_start(start_line)
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if feed.problem is not None:
                yield feed.problem
                continue
            if "unexpected end of data" in str(error):
                raise ctx.error(
                    start_line,
                    None,
                    "a quoted field opened in this row is never closed",
                    fatal=True,
                ) from None
            yield ctx.error(start_line, None, f"malformed {ctx.fmt.upper()}: {error}")
            continue
        if feed.problem is not None:
            yield feed.problem
            continue
        if not values or values == [""]:
            continue
        if len(values) != len(header):
            yield ctx.error(
                start_line,
                None,
                f"expected {len(header)} columns as in the header, found {len(values)}",
            )
            continue
        record = dict(zip(header, values, strict=True))
        try:
            if "meta" in record:
                record["meta"] = _meta_cell(record["meta"], ctx, start_line)
            yield row_from_record(ctx, start_line, record)
        except ImportRowError as error:
            yield error


def _meta_cell(cell: str, ctx: Context, row: int) -> dict:
    if not cell.strip():
        return {}
    try:
        value = json_object(ctx, row, cell)
    except ImportRowError as error:
        raise ctx.error(
            row, "meta", f"the 'meta' column must hold a JSON object ({error.message})"
        ) from None
    if not isinstance(value, dict):
        raise ctx.error(row, "meta", "the 'meta' column must hold a JSON object")
    return value
