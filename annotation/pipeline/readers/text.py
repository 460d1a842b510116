"""Line-based formats: plain text (one item per line) and JSON Lines (one object per line)."""

import json
from collections.abc import Iterator

from annotation.pipeline.readers.base import (
    Context,
    ImportRow,
    ImportRowError,
    depth_exceeds,
    row_from_record,
    text_check,
)
from annotation.pipeline.readers.streams import Source, text_lines

Item = ImportRow | ImportRowError


def read_txt(source: Source, encoding: str, ctx: Context) -> Iterator[Item]:
    for line in text_lines(source, ctx, encoding):
        if isinstance(line, ImportRowError):
            yield line
            continue
        number, text = line
        if not text.strip():
            continue
        try:
            yield ImportRow(row=number, text=text_check(ctx, number, text), member=ctx.member)
        except ImportRowError as error:
            yield error


class _NotJson(Exception):
    pass


def _refuse_constant(name: str):
    # Python's json accepts NaN and Infinity, which JSON (and PostgreSQL's jsonb) does not.
    raise _NotJson(name)


def json_object(ctx: Context, row: int, text: str) -> dict:
    """Parse one JSON value, refusing nesting deeper than the limit (RecursionError included)."""
    max_depth = ctx.limits.max_depth
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ctx.error(row, None, f"invalid JSON: {error.msg} at column {error.colno}") from None
    except _NotJson as error:
        raise ctx.error(row, None, f"invalid JSON: {error.args[0]} is not a JSON value") from None
    except RecursionError:
        raise ctx.error(row, None, f"JSON nested deeper than {max_depth} levels") from None
    # Counting brackets (in C) rules out deep nesting for almost every row without walking it.
    if text.count("{") + text.count("[") > max_depth and depth_exceeds(value, max_depth):
        raise ctx.error(row, None, f"JSON nested deeper than {max_depth} levels")
    return value


def read_jsonl(source: Source, encoding: str, ctx: Context) -> Iterator[Item]:
    for line in text_lines(source, ctx, encoding):
        if isinstance(line, ImportRowError):
            yield line
            continue
        number, text = line
        if not text.strip():
            continue
        try:
            record = json_object(ctx, number, text)
            if not isinstance(record, dict):
                raise ctx.error(number, None, "each line must be a JSON object")
            yield row_from_record(ctx, number, record)
        except ImportRowError as error:
            yield error
