"""Files of JSON records sealed chunk by chunk under a project's key; pure Python, no Django.

Layout: a magic line, then frames of a 4-byte big-endian length and an AES-GCM ciphertext of up
to ``CHUNK_RECORDS`` JSON lines. Each frame's associated data names the file, its index and
whether it is the last, so frames cannot be reordered, dropped, or the file cut short unnoticed.
Reading holds one chunk in memory at a time.
"""

import json
import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

from governance.crypto import DecryptionError, FieldCipher, open_sealed, seal

MAGIC = b"SA-SEALED-JSONL-1\n"
CHUNK_RECORDS = 1000
_LENGTH = struct.Struct(">I")


class SealedFileError(Exception):
    """The file is not a sealed records file, or it was cut short or tampered with."""


def _context(cipher: FieldCipher, name: str, index: int, last: bool) -> bytes:
    return cipher.context("sealed-file", name, index, "last" if last else "more")


def _chunks(records: Iterable[dict]) -> Iterator[bytes]:
    lines = []
    for record in records:
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        if len(lines) == CHUNK_RECORDS:
            yield ("\n".join(lines) + "\n").encode()
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def sealed_jsonl_write(path: Path, records: Iterable[dict], *, cipher: FieldCipher, name: str) -> int:
    """Write ``records`` to ``path`` (atomically, via a temporary file); return the file's size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:
        handle.write(MAGIC)
        index = 0
        pending = None
        for chunk in _chunks(records):
            if pending is not None:
                _frame_write(handle, cipher, name, index, pending, last=False)
                index += 1
            pending = chunk
        _frame_write(handle, cipher, name, index, pending or b"", last=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return path.stat().st_size


def _frame_write(handle, cipher, name, index, chunk: bytes, *, last: bool) -> None:
    blob = seal(cipher.aead, chunk, _context(cipher, name, index, last))
    handle.write(_LENGTH.pack(len(blob)))
    handle.write(blob)


def sealed_jsonl_read(path: Path, *, cipher: FieldCipher, name: str) -> Iterator[dict]:
    """Yield the records of a sealed file; raises SealedFileError if it was altered or truncated."""
    with open(path, "rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise SealedFileError(f"{path.name} is not a sealed records file.")
        index = 0
        while True:
            header = handle.read(_LENGTH.size)
            if len(header) < _LENGTH.size:
                raise SealedFileError(f"{path.name} ends before its last chunk: the file was cut short.")
            (length,) = _LENGTH.unpack(header)
            blob = handle.read(length)
            if len(blob) < length:
                raise SealedFileError(f"{path.name} ends inside chunk {index}: the file was cut short.")
            try:
                chunk = open_sealed(cipher.aead, blob, _context(cipher, name, index, last=False))
                last = False
            except Exception:
                try:
                    chunk = open_sealed(cipher.aead, blob, _context(cipher, name, index, last=True))
                except Exception:
                    raise SealedFileError(f"Chunk {index} of {path.name} does not open: altered, moved or another key.") from None
                last = True
            for line in chunk.decode().splitlines():
                yield json.loads(line)
            if last:
                if handle.read(1):
                    raise SealedFileError(f"{path.name} has data after its last chunk.")
                return
            index += 1


# Sealed byte streams (export files of any format, Parquet included): the same frames, holding
# raw bytes instead of JSON lines, under their own magic line.
BYTES_MAGIC = b"SA-SEALED-BYTES-1\n"
BYTES_CHUNK = 1 << 20


class SealedBytesWriter:
    """A write-only binary file that seals every ``BYTES_CHUNK`` bytes as one frame; ``close`` writes the last."""

    def __init__(self, path: Path, *, cipher: FieldCipher, name: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self._handle = open(self._partial, "wb")
        self._handle.write(BYTES_MAGIC)
        self._cipher, self._name = cipher, name
        self._buffer = bytearray()
        self._index = 0
        self._written = 0
        self.closed = False

    def write(self, data) -> int:
        self._buffer += data
        self._written += len(data)
        while len(self._buffer) > BYTES_CHUNK:
            _frame_write(self._handle, self._cipher, self._name, self._index, bytes(self._buffer[:BYTES_CHUNK]), last=False)
            del self._buffer[:BYTES_CHUNK]
            self._index += 1
        return len(data)

    def tell(self) -> int:
        return self._written

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def close(self) -> None:
        """Seal the rest as the last frame and move the file into place."""
        if self.closed:
            return
        _frame_write(self._handle, self._cipher, self._name, self._index, bytes(self._buffer), last=True)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._partial, self.path)
        self.closed = True

    def abort(self) -> None:
        self._handle.close()
        self._partial.unlink(missing_ok=True)
        self.closed = True


def sealed_bytes_read(path: Path, *, cipher: FieldCipher, name: str) -> Iterator[bytes]:
    """Yield the plaintext of a sealed byte stream chunk by chunk; raises SealedFileError if altered or cut."""
    with open(path, "rb") as handle:
        if handle.read(len(BYTES_MAGIC)) != BYTES_MAGIC:
            raise SealedFileError(f"{path.name} is not a sealed byte stream.")
        index = 0
        while True:
            header = handle.read(_LENGTH.size)
            if len(header) < _LENGTH.size:
                raise SealedFileError(f"{path.name} ends before its last chunk: the file was cut short.")
            (length,) = _LENGTH.unpack(header)
            blob = handle.read(length)
            if len(blob) < length:
                raise SealedFileError(f"{path.name} ends inside chunk {index}: the file was cut short.")
            for last in (False, True):
                try:
                    chunk = open_sealed(cipher.aead, blob, _context(cipher, name, index, last))
                    break
                except DecryptionError:  # not this frame position; the other one is tried
                    continue
            else:
                raise SealedFileError(f"Chunk {index} of {path.name} does not open: altered, moved or another key.")
            yield chunk
            if last:
                if handle.read(1):
                    raise SealedFileError(f"{path.name} has data after its last chunk.")
                return
            index += 1
