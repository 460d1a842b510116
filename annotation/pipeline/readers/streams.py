"""Byte sources for the readers: counting, byte order marks, transcoding, bounded line reads."""

import codecs
import io
from collections.abc import Iterator
from typing import BinaryIO

from annotation.pipeline.readers.base import Context, ImportRowError

BOM = codecs.BOM_UTF8
_CHUNK = 64 * 1024


class Source:
    """A binary stream that counts the bytes it hands out and drops a leading UTF-8 BOM."""

    def __init__(self, stream: BinaryIO, *, strip_bom: bool):
        self._stream = stream
        self._bom_pending = strip_bom
        self.bytes_read = 0

    def _first(self, data: bytes) -> bytes:
        self._bom_pending = False
        return data[len(BOM) :] if data.startswith(BOM) else data

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.bytes_read += len(data)
        return self._first(data) if self._bom_pending and data else data

    def readline(self, limit: int = -1) -> bytes:
        data = self._stream.readline(limit)
        self.bytes_read += len(data)
        return self._first(data) if self._bom_pending and data else data


class _Utf8Transcoder(io.RawIOBase):
    """Re-encodes a UTF-16, UTF-32 (or other non-ASCII-compatible) stream as UTF-8."""

    def __init__(self, stream: BinaryIO, encoding: str, ctx: Context):
        self._stream, self._encoding, self._ctx = stream, encoding, ctx
        self._factory = codecs.getincrementaldecoder(encoding)
        self._decoder = self._factory(errors="strict")
        self._out = b""
        self._eof = False
        self._line = 1

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._out and not self._eof:
            chunk = self._stream.read(_CHUNK)
            self._eof = not chunk
            state = self._decoder.getstate()
            try:
                text = self._decoder.decode(chunk, final=self._eof)
            except UnicodeDecodeError as error:
                raise self._error(chunk, state, error) from None
            self._line += text.count("\n")
            self._out = text.encode("utf-8")
        size = min(len(buffer), len(self._out))
        buffer[:size] = self._out[:size]
        self._out = self._out[size:]
        return size

    def _error(self, chunk: bytes, state, error: UnicodeDecodeError) -> ImportRowError:
        # The error's offsets count the decoder's leftover bytes first; re-decode what came before
        # it from the same state to find the line.
        before = self._factory(errors="replace")
        before.setstate(state)
        good = before.decode(chunk[: max(0, error.start - len(state[0]))])
        line = self._line + good.count("\n")
        return self._ctx.error(
            line,
            None,
            f"not valid {self._encoding} ({error.reason}); check the encoding chosen for the file",
            fatal=True,
        )


def _ascii_compatible(encoding: str) -> bool:
    # Lines and JSON/CSV syntax can be found in the raw bytes when the encoding writes ASCII as is.
    sample = '\n\r\t "{}[],:-abcXYZ019'
    try:
        return sample.encode(encoding) == sample.encode("ascii")
    except UnicodeError:
        return False


def open_source(stream: BinaryIO, ctx: Context, *, utf8_only: bool = False) -> tuple[Source, str]:
    """A Source over ``stream`` and the encoding its lines decode with (UTF-8 once transcoded)."""
    try:
        name = codecs.lookup(ctx.encoding).name
    except LookupError:
        raise ctx.error(None, None, f"unknown encoding '{ctx.encoding}'", fatal=True) from None
    if name in ("utf-8", "utf-8-sig"):
        return Source(stream, strip_bom=True), "utf-8"
    if _ascii_compatible(name) and not utf8_only:
        return Source(stream, strip_bom=False), name
    return Source(
        io.BufferedReader(_Utf8Transcoder(stream, name, ctx), _CHUNK), strip_bom=True
    ), "utf-8"


def raw_lines(source: Source, max_bytes: int) -> Iterator[tuple[int, bytes, int | None]]:
    """Yield (line number, bytes, dropped quotes) per line, never holding more than ``max_bytes``.

    A longer line is dropped, the rest of it read in chunks and thrown away: it comes out as empty
    bytes with the number of '"' it held (CSV needs that to stay in step); ``dropped quotes`` is
    None for lines kept.
    """
    number = 0
    while True:
        raw = source.readline(max_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) <= max_bytes:
            yield number, raw, None
            continue
        dropped_quotes = raw.count(b'"')
        while not raw.endswith(b"\n"):
            raw = source.readline(_CHUNK)
            if not raw:
                break
            dropped_quotes += raw.count(b'"')
        yield number, b"", dropped_quotes


def decode_error_message(encoding: str, error: UnicodeDecodeError) -> str:
    label = "UTF-8" if encoding == "utf-8" else encoding
    return (
        f"not valid {label} at byte {error.start + 1} of the line; "
        "save the file as UTF-8 or choose the encoding it was saved in"
    )


def text_lines(
    source: Source, ctx: Context, encoding: str
) -> Iterator[tuple[int, str] | ImportRowError]:
    """Decoded lines without their line ending, or an error for a line too long or badly encoded."""
    limit = ctx.limits.max_row_bytes
    for number, raw, dropped in raw_lines(source, limit):
        if dropped is not None:
            yield ctx.error(number, None, f"the line is longer than the limit of {limit} bytes")
            continue
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            yield ctx.error(number, None, decode_error_message(encoding, error))
            continue
        yield number, text.rstrip("\r\n")
