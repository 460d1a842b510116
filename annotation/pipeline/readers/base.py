"""The row, error, limit and option types every reader shares, and checks common to all formats."""

from dataclasses import dataclass, field

from common.errors import ClientError

_ID_KEYS = ("external_id", "id")
MAX_EXTERNAL_ID = 255
MiB = 2**20


# Not frozen: a frozen dataclass sets each field through object.__setattr__, about 1.5 µs a row,
# which shows on imports of a million rows. Readers never change a row once yielded.
@dataclass(slots=True)
class ImportRow:
    row: int
    text: str
    external_id: str = ""
    meta: dict = field(default_factory=dict)
    # Which key or column held the external id ("id" or "external_id"), for error messages.
    id_field: str = "external_id"
    # Character (code point) offsets into ``text``: [{"start", "end", "label"}]. The service decides
    # whether they become annotations or predictions.
    spans: list = field(default_factory=list)
    # [{"annotator": str | None, "value": {...}}], as exported by another tool.
    annotations: list = field(default_factory=list)
    # [{"model_version": str | None, "value": {...}, "score": float | None}].
    predictions: list = field(default_factory=list)
    # The path inside an archive the row came from; empty for a plain file.
    member: str = ""
    # The earlier row of the file this one repeats (same id, same text); 0 when it is no repeat.
    repeat_of: int = 0


class ImportRowError(ValueError, ClientError):
    """A row that cannot be imported; says which file (and archive member), row and field, and why.

    ``fatal`` is true when reading could not go on past this point, so no later row was read.
    """

    def __init__(
        self,
        *,
        filename: str,
        row: int | None,
        field: str | None,
        message: str,
        member: str = "",
        fatal: bool = False,
    ):
        self.filename, self.row, self.field, self.message = filename, row, field, message
        self.member, self.fatal = member, fatal
        where = filename
        if member:
            where += f", member '{member}'"
        if row is not None:
            where += f", row {row}"
        if field:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")

    def as_dict(self) -> dict:
        return {
            "file": self.filename,
            "member": self.member,
            "row": self.row,
            "field": self.field,
            "message": self.message,
            "fatal": self.fatal,
        }

    def response_data(self) -> dict:
        return {"detail": str(self), "error": self.as_dict()}


class ImportFileRefused(ImportRowError):
    """The whole upload is refused (an archive over its limits); never skipped per row or member."""

    def __init__(self, *, filename: str, message: str, member: str = ""):
        super().__init__(
            filename=filename, row=None, field=None, message=message, member=member, fatal=True
        )


@dataclass(frozen=True)
class ReadLimits:
    """Bounds that keep a hostile file from exhausting memory; defaults suit uploads of a few GB."""

    # A line (or JSON array element, or CSV record) longer than this is refused without being read
    # whole.
    max_row_bytes: int = 4 * MiB
    # Nesting of objects and arrays inside one row; the row object itself is level 1.
    max_depth: int = 64
    # In "skip" mode, reading stops once this many rows were bad: the file is likely not what was
    # meant.
    max_errors: int = 10_000
    zip_max_members: int = 10_000
    zip_max_total_bytes: int = 2 * 1024 * MiB
    # Uncompressed size over compressed size, checked for members above zip_ratio_min_bytes.
    zip_max_ratio: int = 100
    zip_ratio_min_bytes: int = 1 * MiB


TAG_SCHEMES = ("iob2", "bio", "iob1")


@dataclass(frozen=True)
class ConllOptions:
    # "iob2" (= "bio"): every entity starts with B-; "iob1": B- only separates two adjacent entities
    # of a type.
    tag_scheme: str = "iob2"
    # Which whitespace-separated column holds the tag; the token is always column 0.
    tag_column: int = -1
    # One item per document (-DOCSTART- to -DOCSTART-, sentences joined by a newline) instead of per
    # sentence.
    documents: bool = False


@dataclass(frozen=True)
class Context:
    """What a format reader needs to know besides its stream."""

    filename: str
    fmt: str
    max_text_chars: int
    encoding: str
    limits: ReadLimits
    conll: ConllOptions
    labelstudio_text_key: str = "text"
    member: str = ""
    # CSV/TSV quoting: "auto" (see delimited.py), "standard" (RFC 4180) or "none" (quotes are text).
    quoting: str = "auto"
    # What the readers decided while reading (the quoting each delimited file was read with), for
    # the import's report. Shared by the archive members' contexts.
    notes: dict = field(default_factory=dict, compare=False)

    def error(
        self, row: int | None, field: str | None, message: str, *, fatal: bool = False
    ) -> ImportRowError:
        return ImportRowError(
            filename=self.filename,
            row=row,
            field=field,
            message=message,
            member=self.member,
            fatal=fatal,
        )


def text_check(ctx: Context, row: int, text, field_name: str = "text") -> str:
    if text is None:
        raise ctx.error(row, field_name, "is missing")
    if not isinstance(text, str):
        raise ctx.error(row, field_name, f"must be a string, not {type(text).__name__}")
    if not text.strip():
        raise ctx.error(row, field_name, "is empty")
    if len(text) > ctx.max_text_chars:
        raise ctx.error(
            row, field_name, f"is {len(text)} characters long; the limit is {ctx.max_text_chars}"
        )
    return text


def external_id_check(ctx: Context, row: int, raw_id, field_name: str) -> str:
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        raise ctx.error(row, field_name, "must be a string or an integer")
    external_id = str(raw_id).strip()
    if len(external_id) > MAX_EXTERNAL_ID:
        raise ctx.error(row, field_name, f"is longer than {MAX_EXTERNAL_ID} characters")
    return external_id


def row_from_record(ctx: Context, row: int, record: dict) -> ImportRow:
    """A flat record (CSV row, JSON object): 'text', 'id' or 'external_id', 'meta', other keys."""
    text = text_check(ctx, row, record.get("text"))
    external_id = ""
    id_key = next((key for key in _ID_KEYS if key in record), None)
    if id_key is not None:
        external_id = external_id_check(ctx, row, record[id_key], id_key)
    meta = record.get("meta", {})
    if not isinstance(meta, dict):
        raise ctx.error(row, "meta", "must be an object")
    extra = {key: value for key, value in record.items() if key not in ("text", "meta", *_ID_KEYS)}
    return ImportRow(
        row=row,
        text=text,
        external_id=external_id,
        meta={**extra, **meta},
        id_field=id_key or "external_id",
        member=ctx.member,
    )


def depth_exceeds(value, max_depth: int) -> bool:
    """Whether objects and arrays nest deeper than ``max_depth``; iterative: no RecursionError."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
