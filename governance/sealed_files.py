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

from governance.crypto import FieldCipher, open_sealed, seal

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
