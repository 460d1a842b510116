"""A top-level JSON array of objects (rows or Label Studio tasks), parsed incrementally by ijson."""

from collections.abc import Iterator

import ijson

from annotation.pipeline.readers.base import Context, ImportRow, ImportRowError, row_from_record
from annotation.pipeline.readers.labelstudio import is_labelstudio_task, row_from_task
from annotation.pipeline.readers.streams import Source

Item = ImportRow | ImportRowError
_BUFFER = 64 * 1024
_TOO_DEEP = object()


class _RowTooLong(Exception):
    pass


class _BoundedFeed:
    """Hands ijson the stream, refusing to read on once one array element passed the row limit.

    ijson gives no byte offsets, so the bound is checked per read: an element may exceed the limit
    by one buffer (64 KiB) before it is refused, and memory stays within limit plus buffer.
    """

    def __init__(self, source: Source, limit: int):
        self._source, self._limit = source, limit
        self._mark = 0

    def element_done(self) -> None:
        self._mark = self._source.bytes_read

    def read(self, size: int = -1) -> bytes:
        if self._source.bytes_read - self._mark > self._limit:
            raise _RowTooLong
        return self._source.read(size)


def _elements(
    events, feed: _BoundedFeed, max_depth: int, ctx: Context
) -> Iterator[tuple[int, object]]:
    """(index, value) per array element, building values from ijson's basic events.

    ijson's own ``items()`` keeps a prefix string per nesting level, which costs memory quadratic
    in the depth (100,000 levels exhaust it); building from basic events refuses the depth first.
    """
    depth = index = 0
    builder = None
    too_deep = False
    for event, value in events:
        opening = event == "start_map" or event == "start_array"
        closing = event == "end_map" or event == "end_array"
        if depth == 0:
            if event != "start_array":
                raise ctx.error(
                    None, None, "the file must hold a JSON array of objects", fatal=True
                )
            depth = 1
            continue
        if depth == 1:
            if closing:
                depth = 0
                continue
            index += 1
            if not opening:
                yield index, value
                feed.element_done()
                continue
            builder, too_deep = ijson.ObjectBuilder(), False
        if opening:
            depth += 1
            if depth - 1 > max_depth:
                too_deep, builder = True, None
        elif closing:
            depth -= 1
        if not too_deep:
            builder.event(event, value)
        if depth == 1:
            yield index, (_TOO_DEEP if too_deep else builder.value)
            builder = None
            feed.element_done()


def _ijson_message(error: Exception) -> str:
    # yajl's message quotes the surrounding bytes of the file; keep only its first line, so file
    # content does not travel into error reports.
    message = error.args[0] if error.args else str(error)
    if isinstance(message, bytes):
        message = message.decode("utf-8", errors="replace")
    return str(message).strip().splitlines()[0] if str(message).strip() else "invalid JSON"


def read_json(source: Source, ctx: Context) -> Iterator[Item]:
    limits = ctx.limits
    feed = _BoundedFeed(source, limits.max_row_bytes)
    events = ijson.basic_parse(feed, use_float=True, buf_size=_BUFFER)
    labelstudio = ctx.fmt == "labelstudio"
    last = 0
    try:
        for index, value in _elements(events, feed, limits.max_depth, ctx):
            last = index
            if index == 1 and ctx.fmt == "json":
                labelstudio = is_labelstudio_task(value)
            try:
                if value is _TOO_DEEP:
                    raise ctx.error(
                        index, None, f"JSON nested deeper than {limits.max_depth} levels"
                    )
                if not isinstance(value, dict):
                    raise ctx.error(index, None, "each element of the array must be a JSON object")
                yield (
                    row_from_task(ctx, index, value)
                    if labelstudio
                    else row_from_record(ctx, index, value)
                )
            except ImportRowError as error:
                yield error
    except _RowTooLong:
        raise ctx.error(
            last + 1,
            None,
            f"the array element is longer than the limit of {limits.max_row_bytes} bytes; "
            "a JSON array cannot be read past it",
            fatal=True,
        ) from None
    except ijson.JSONError as error:
        if source.bytes_read == 0:
            raise ctx.error(None, None, "the file is empty", fatal=True) from None
        message = _ijson_message(error)
        if "trailing garbage" in message:
            raise ctx.error(
                None, None, "there is more after the end of the JSON array", fatal=True
            ) from None
        if "UTF8" in message:
            message = (
                "not valid UTF-8 (save the file as UTF-8 or choose the encoding it was saved in)"
            )
        raise ctx.error(
            last + 1,
            None,
            f"invalid JSON in or after array element {last + 1}: {message}; "
            "a JSON array cannot be read past it",
            fatal=True,
        ) from None
