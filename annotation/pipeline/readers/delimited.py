"""CSV and TSV files with a header row: a 'text' column is required, others become metadata."""

import csv
import io
from collections.abc import Iterator
from itertools import chain

from annotation.pipeline.readers.base import Context, ImportRow, ImportRowError, row_from_record
from annotation.pipeline.readers.streams import Source, decode_error_message, raw_lines
from annotation.pipeline.readers.text import json_object

Item = ImportRow | ImportRowError

# "standard": RFC 4180, a field may be wrapped in double quotes (inner ones doubled) and then hold
# delimiters and line breaks. "none": a quote is a character of the text like any other, a record
# is one line. "auto": standard for CSV; for TSV, standard only when the file's first lines use
# quotes the way a CSV writer does (GoEmotions), none otherwise: public corpora write their TSV
# without quoting, and reading their quotes as CSV quoting merged rows and stripped texts' quotes.
QUOTING = ("auto", "standard", "none")
# The first lines "auto" looks at before deciding; held in memory, so bounded.
SAMPLE_BYTES = 1024 * 1024
_NONE_HINT = "if the quotes are part of the text, import the file again with quoting 'none'"


class _LineFeed(io.TextIOBase):
    """Hands csv.reader decoded lines, keeping the physical line number and the record's problems.

    A line that is too long or badly encoded is still handed over (as its quotes only, or with
    replacement characters) so the parser keeps its place in quoted fields; the record it belongs
    to is then reported.
    """

    def __init__(self, lines: Iterator, encoding: str, ctx: Context, *, quoted: bool):
        self._lines = lines
        self._encoding, self._ctx, self._quoted = encoding, ctx, quoted
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
            return '"' * (dropped_quotes % 2 if self._quoted else 0) + "\n"
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


def _fields_quoted_as_csv(line: str, delimiter: str) -> bool:
    """Whether every quote of the line is where a CSV writer puts it: a field wrapped in quotes
    (inner quotes doubled) that closes on this line, and no quote inside an unwrapped field."""
    pos, end = 0, len(line)
    while True:
        if line.startswith('"', pos):
            close = pos + 1
            while True:
                close = line.find('"', close)
                if close == -1:
                    return False  # the quoted field would run on into the next line
                if not line.startswith('"', close + 1):
                    break
                close += 2
            after = close + 1
            if after == end:
                return True
            if line[after] != delimiter:
                return False  # text after the closing quote: '"Hi," she said'
            pos = after + 1
        else:
            stop = line.find(delimiter, pos)
            if '"' in line[pos : end if stop == -1 else stop]:
                return False
            if stop == -1:
                return True
            pos = stop + 1


def quoting_detect(lines: list[str], delimiter: str) -> str:
    """"standard" when some line quotes a field and every quote is where a CSV writer puts it."""
    quoted = False
    for line in lines:
        if '"' not in line:
            continue
        if not _fields_quoted_as_csv(line.rstrip("\r\n"), delimiter):
            return "none"
        quoted = True
    return "standard" if quoted else "none"


def _quoting_choose(lines: Iterator, encoding: str, ctx: Context, delimiter: str):
    """The quoting to read with, and the lines (those looked at put back in front)."""
    if ctx.quoting != "auto":
        return ctx.quoting, lines
    if delimiter == ",":
        return "standard", lines
    head, size = [], 0
    for entry in lines:
        head.append(entry)
        size += len(entry[1])
        if size >= SAMPLE_BYTES:
            break
    sample = [raw.decode(encoding, errors="replace") for _, raw, _ in head]
    return quoting_detect(sample, delimiter), chain(head, lines)


def read_delimited(
    source: Source, encoding: str, ctx: Context, *, delimiter: str
) -> Iterator[Item]:
    # The C parser's field limit (131,072 characters by default) is process-wide; the feed bounds
    # every record by max_row_bytes, so raising the field limit to match is safe.
    if csv.field_size_limit() < ctx.limits.max_row_bytes:
        csv.field_size_limit(ctx.limits.max_row_bytes)
    quoting, lines = _quoting_choose(
        raw_lines(source, ctx.limits.max_row_bytes), encoding, ctx, delimiter
    )
    ctx.notes.setdefault("quoting", {})[ctx.member or ctx.filename] = quoting
    # Detected standard quoting in a TSV: a field running over lines is more likely a stray quote
    # than a text with line breaks, so such a record is reported rather than read as one row.
    one_line_records = ctx.quoting == "auto" and delimiter == "\t"
    feed = _LineFeed(lines, encoding, ctx, quoted=quoting == "standard")
    reader = csv.reader(
        feed,
        delimiter=delimiter,
        strict=True,
        quoting=csv.QUOTE_MINIMAL if quoting == "standard" else csv.QUOTE_NONE,
    )
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
                    f"a quoted field opened in this row is never closed; {_NONE_HINT}",
                    fatal=True,
                ) from None
            hint = f"; {_NONE_HINT}" if quoting == "standard" else ""
            lines_read = (
                f" (lines {start_line} to {feed.line_number} were read as one row)"
                if feed.line_number > start_line
                else ""
            )
            yield ctx.error(
                start_line, None, f"malformed {ctx.fmt.upper()}: {error}{lines_read}{hint}"
            )
            continue
        if feed.problem is not None:
            yield feed.problem
            continue
        if one_line_records and feed.line_number > start_line:
            yield ctx.error(
                start_line,
                None,
                f"a quoted field runs from line {start_line} to line {feed.line_number}, so these "
                f"lines were not read as rows; {_NONE_HINT}, or with quoting 'standard' if fields "
                "really hold line breaks",
            )
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
