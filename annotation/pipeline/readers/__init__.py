"""Stream uploads (CSV, TSV, JSONL, JSON, Label Studio, text, CoNLL, zip) into validated rows."""

from collections.abc import Iterator
from dataclasses import replace
from typing import BinaryIO

from annotation.pipeline.readers.archive import read_zip
from annotation.pipeline.readers.base import (
    ConllOptions,
    Context,
    ImportFileRefused,
    ImportRow,
    ImportRowError,
    ReadLimits,
    external_id_check,
    text_check,
)
from annotation.pipeline.readers.conll import read_conll
from annotation.pipeline.readers.delimited import QUOTING, read_delimited
from annotation.pipeline.readers.jsonarray import read_json
from annotation.pipeline.readers.streams import Source, decode_error_message, open_source
from annotation.pipeline.readers.text import read_jsonl, read_txt

__all__ = [
    "FORMATS",
    "QUOTING",
    "ConllOptions",
    "ImportFileRefused",
    "ImportReader",
    "ImportRow",
    "ImportRowError",
    "ReadLimits",
    "detect_format",
    "read_rows",
]

FORMATS = ("csv", "tsv", "jsonl", "json", "labelstudio", "txt", "conll", "zip")
ON_ERROR = ("reject", "skip")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".txt": "txt",
    ".conll": "conll",
    ".iob": "conll",
    ".bio": "conll",
    ".zip": "zip",
}
# Inside an archive a .txt file is one item (its path the external id), not one item per line.
_WHOLE_TEXT_FILE = "text file"

Item = ImportRow | ImportRowError


def detect_format(filename: str) -> str:
    lowered = filename.lower()
    for extension, fmt in _EXTENSIONS.items():
        if lowered.endswith(extension):
            return fmt
    raise ImportRowError(
        filename=filename,
        row=None,
        field=None,
        message="unknown file type; upload a .csv, .tsv, .jsonl, .json, .txt, .conll or .zip file",
    )


def _read_text_file(source: Source, encoding: str, ctx: Context) -> Iterator[Item]:
    # At most 4 bytes a character in UTF-8, so a longer file is refused before it is read whole.
    limit = 4 * ctx.max_text_chars + 4
    data = source.read(limit + 1)
    if len(data) > limit:
        yield ctx.error(
            None, "text", f"is longer than the limit of {ctx.max_text_chars} characters"
        )
        return
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        yield ctx.error(
            None, None, decode_error_message(encoding, error).replace("of the line", "of the file")
        )
        return
    if text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    try:
        external_id = external_id_check(ctx, 1, ctx.member, "path")
        yield ImportRow(
            row=1,
            text=text_check(ctx, 1, text),
            external_id=external_id,
            id_field="path",
            member=ctx.member,
        )
    except ImportRowError as error:
        yield error


def _read_file(stream: BinaryIO, ctx: Context) -> Iterator[Item]:
    """Rows of one (non-archive) file; a file with no rows at all is an error."""
    source, encoding = open_source(stream, ctx, utf8_only=ctx.fmt in ("json", "labelstudio"))
    if ctx.fmt in ("csv", "tsv"):
        items = read_delimited(source, encoding, ctx, delimiter="," if ctx.fmt == "csv" else "\t")
    elif ctx.fmt == "jsonl":
        items = read_jsonl(source, encoding, ctx)
    elif ctx.fmt in ("json", "labelstudio"):
        items = read_json(source, ctx)
    elif ctx.fmt == "txt":
        items = read_txt(source, encoding, ctx)
    elif ctx.fmt == "conll":
        items = read_conll(source, encoding, ctx)
    else:
        items = _read_text_file(source, encoding, ctx)
    first = next(items, None)
    if first is None:
        if source.bytes_read == 0:
            raise ctx.error(None, None, "the file is empty", fatal=True)
        rows = "has a header but no rows" if ctx.fmt in ("csv", "tsv") else "has no rows"
        raise ctx.error(None, None, f"the file {rows}", fatal=True)
    yield first
    yield from items


def _member_format(name: str) -> str:
    fmt = detect_format(name)
    return _WHOLE_TEXT_FILE if fmt == "txt" else fmt


def _read(stream: BinaryIO, ctx: Context) -> Iterator[Item]:
    if ctx.fmt == "zip":
        return read_zip(stream, ctx, _member_format, _read_file)
    return _read_file(stream, ctx)


class ImportReader:
    """Reads one uploaded file; ``rows()`` yields the good rows, ``errors`` collects the bad ones.

    ``on_error="reject"``: the first bad row raises ImportRowError. ``on_error="skip"``: bad rows
    are appended to ``errors`` (file, member, row, field, reason) and reading goes on. Either way,
    a problem that stops reading (a JSON syntax error, an archive over its limits, a quote never
    closed) raises ImportRowError with ``fatal`` set; in "skip" mode it also ends ``errors``.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        filename: str,
        fmt: str | None = None,
        max_text_chars: int,
        on_error: str = "reject",
        encoding: str = "utf-8",
        limits: ReadLimits | None = None,
        conll: ConllOptions | None = None,
        labelstudio_text_key: str = "text",
        quoting: str = "auto",
    ):
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, not {on_error!r}")
        if quoting not in QUOTING:
            raise ValueError(f"quoting must be one of {QUOTING}, not {quoting!r}")
        self._stream, self._on_error = stream, on_error
        self._ctx = Context(
            filename=filename,
            fmt=fmt or "",
            max_text_chars=max_text_chars,
            encoding=encoding,
            limits=limits or ReadLimits(),
            conll=conll or ConllOptions(),
            labelstudio_text_key=labelstudio_text_key,
            quoting=quoting,
        )
        self.errors: list[ImportRowError] = []
        self.rows_read = 0
        # Rows that repeat an earlier row of the file (same id, same text): yielded with
        # ``repeat_of`` set, for the import to count as duplicates.
        self.repeats = 0

    @property
    def quoting_used(self) -> dict[str, str]:
        """The quoting each CSV/TSV file (or archive member) was read with, by name."""
        return dict(self._ctx.notes.get("quoting", {}))

    def _fail(self, error: ImportRowError) -> None:
        if self._on_error == "reject":
            raise error
        self.errors.append(error)
        limit = self._ctx.limits.max_errors
        if len(self.errors) >= limit:
            stop = self._ctx.error(
                None,
                None,
                f"{limit} bad rows; reading stopped (is this the right file?)",
                fatal=True,
            )
            self.errors.append(stop)
            raise stop

    def rows(self) -> Iterator[ImportRow]:
        seen: dict[str, int | tuple[str, int]] = {}
        items = self._items()
        while True:
            try:
                item = next(items)
            except StopIteration:
                return
            except ImportRowError as error:
                # Whatever escapes a format reader ended its reading.
                error.fatal = True
                if self._on_error == "skip":
                    self.errors.append(error)
                raise
            if isinstance(item, ImportRow) and item.external_id:
                item = self._unique(item, seen)
            if isinstance(item, ImportRowError):
                self._fail(item)
                continue
            self.rows_read += 1
            yield item

    def _items(self) -> Iterator[Item]:
        ctx = self._ctx
        if not ctx.fmt:
            ctx = self._ctx = replace(ctx, fmt=detect_format(ctx.filename))
        if ctx.fmt not in FORMATS:
            raise ctx.error(
                None,
                None,
                f"unknown format '{ctx.fmt}'; use one of {', '.join(FORMATS)}",
                fatal=True,
            )
        yield from _read(self._stream, ctx)

    def _unique(self, row: ImportRow, seen: dict) -> Item:
        """The row, marked as a repeat when an earlier row had its id and text; an error when an
        earlier row had its id and another text (which of the two would be the item?)."""
        first = seen.get(row.external_id)
        if first is None:
            seen[row.external_id] = (row.member, row.row, hash(row.text))
            return row
        member, first_row, text_hash = first
        if text_hash == hash(row.text):
            row.repeat_of = first_row
            self.repeats += 1
            return row
        if member or row.member:
            where = (
                f"in this archive: member '{member}' row {first_row}"
                f" and member '{row.member}' row {row.row}"
            )
        else:
            where = f"in this file: rows {first_row} and {row.row}"
        return ImportRowError(
            filename=self._ctx.filename,
            row=row.row,
            field=row.id_field,
            member=row.member,
            message=f"'{row.external_id}' appears twice {where}, with different texts; an id names "
            "one item, so give one of the rows another id",
        )


def read_rows(
    stream: BinaryIO,
    *,
    filename: str,
    fmt: str | None = None,
    max_text_chars: int,
    encoding: str = "utf-8",
    limits: ReadLimits | None = None,
    conll: ConllOptions | None = None,
    labelstudio_text_key: str = "text",
    quoting: str = "auto",
) -> Iterator[ImportRow]:
    """Yield validated rows; raise ImportRowError at the first bad one."""
    reader = ImportReader(
        stream,
        filename=filename,
        fmt=fmt,
        max_text_chars=max_text_chars,
        encoding=encoding,
        limits=limits,
        conll=conll,
        labelstudio_text_key=labelstudio_text_key,
        quoting=quoting,
    )
    yield from reader.rows()
