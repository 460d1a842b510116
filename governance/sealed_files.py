"""Files sealed chunk by chunk under a project's key (JSON records or raw bytes); pure Python, no Django.

Layout: a magic line, then frames of a 4-byte big-endian length and an AES-GCM ciphertext of one
chunk. Each frame's associated data names the file, its index and whether it is the last, so frames
cannot be reordered, dropped, or the file cut short unnoticed. Reading holds one chunk in memory at
a time. Records files hold up to ``CHUNK_RECORDS`` JSON lines a chunk; byte streams (export files of
any format, Parquet included; import uploads) hold ``BYTES_CHUNK`` bytes a chunk.
"""

import json
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from governance.crypto import DecryptionError, FieldCipher, open_sealed, seal, sealed_version

MAGIC = b"SA-SEALED-JSONL-1\n"
BYTES_MAGIC = b"SA-SEALED-BYTES-1\n"
CHUNK_RECORDS = 1000
BYTES_CHUNK = 1 << 20
_LENGTH = struct.Struct(">I")


class SealedFileError(Exception):
    """The file is not a sealed file of the expected kind, or it was cut short or tampered with."""


def _context(cipher: FieldCipher, name: str, index: int, last: bool) -> bytes:
    return cipher.context("sealed-file", name, index, "last" if last else "more")


class _FrameWriter:
    """Frames written to a partial file beside ``path``, moved into place once the last is sealed."""

    def __init__(self, path: Path, *, magic: bytes, cipher: FieldCipher, name: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self._handle = open(self._partial, "wb")  # noqa: SIM115 - closed by finish or abort
        self._handle.write(magic)
        self._cipher, self._name, self._index = cipher, name, 0

    def frame(self, chunk: bytes, *, last: bool = False) -> None:
        blob = seal(self._cipher.aead, chunk, _context(self._cipher, self._name, self._index, last))
        self._handle.write(_LENGTH.pack(len(blob)))
        self._handle.write(blob)
        self._index += 1

    def finish(self, chunk: bytes) -> None:
        """Seal ``chunk`` as the last frame and move the file into place (atomically, durably)."""
        self.frame(chunk, last=True)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        """Drop the partial file; closing may fail as the write did (a full disk), the removal still happens."""
        try:
            self._handle.close()
        except OSError:
            pass
        finally:
            self._partial.unlink(missing_ok=True)


def sealed_file_version(path: Path) -> int | None:
    """The key version a sealed file's frames carry (its first frame's; one writer seals them all
    under one cipher); None when the file is missing or holds no frame."""
    try:
        with open(path, "rb") as handle:
            handle.readline()  # the magic line
            header = handle.read(_LENGTH.size)
            if len(header) < _LENGTH.size:
                return None
            return sealed_version(handle.read(min(_LENGTH.unpack(header)[0], 3)))
    except (FileNotFoundError, DecryptionError):
        return None


def sealed_file_discard(path: Path) -> None:
    """Remove a sealed file and the partial one a writer that died left beside it."""
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".partial").unlink(missing_ok=True)


def sealed_frames_read(
    handle: BinaryIO, *, label: str, open_frame: Callable[[bytes, int, bool], bytes]
) -> Iterator[bytes]:
    """Yield the plaintext of each frame from ``handle`` (after any magic line), one at a time.

    ``open_frame(blob, index, last)`` decrypts a frame or raises DecryptionError; every frame is
    tried as "more" first (all but one are), then as "last". Raises SealedFileError, naming
    ``label``, if the file was cut short, altered, or runs on after its last frame.
    """
    index = 0
    while True:
        header = handle.read(_LENGTH.size)
        if len(header) < _LENGTH.size:
            raise SealedFileError(f"{label} ends before its last chunk: the file was cut short.")
        (length,) = _LENGTH.unpack(header)
        blob = handle.read(length)
        if len(blob) < length:
            raise SealedFileError(f"{label} ends inside chunk {index}: the file was cut short.")
        for last in (False, True):
            try:
                chunk = open_frame(blob, index, last)
                break
            except DecryptionError:  # not this frame position; the other one is tried
                continue
        else:
            raise SealedFileError(
                f"Chunk {index} of {label} does not open: altered, moved or another key."
            )
        yield chunk
        if last:
            if handle.read(1):
                raise SealedFileError(f"{label} has data after its last chunk.")
            return
        index += 1


def _sealed_read(
    path: Path, *, magic: bytes, kind: str, cipher: FieldCipher, name: str
) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        if handle.read(len(magic)) != magic:
            raise SealedFileError(f"{path.name} is not a {kind}.")
        yield from sealed_frames_read(
            handle,
            label=path.name,
            open_frame=lambda blob, index, last: open_sealed(
                cipher.aead, blob, _context(cipher, name, index, last)
            ),
        )


def _chunks(records: Iterable[dict]) -> Iterator[bytes]:
    lines = []
    for record in records:
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        if len(lines) == CHUNK_RECORDS:
            yield ("\n".join(lines) + "\n").encode()
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def sealed_jsonl_write(
    path: Path, records: Iterable[dict], *, cipher: FieldCipher, name: str
) -> int:
    """Write ``records`` to ``path`` (atomically, via a temporary file); return the file's size."""
    frames = _FrameWriter(path, magic=MAGIC, cipher=cipher, name=name)
    pending = None
    try:
        for chunk in _chunks(records):
            if pending is not None:
                frames.frame(pending)
            pending = chunk
        frames.finish(pending or b"")
    except BaseException:  # a full disk, a failed record: no partial file stays behind
        frames.abort()
        raise
    return path.stat().st_size


def sealed_jsonl_read(path: Path, *, cipher: FieldCipher, name: str) -> Iterator[dict]:
    """Yield the records of a sealed file; raises SealedFileError if it was altered or truncated."""
    for chunk in _sealed_read(
        path, magic=MAGIC, kind="sealed records file", cipher=cipher, name=name
    ):
        for line in chunk.decode().splitlines():
            yield json.loads(line)


class SealedBytesWriter:
    """A write-only binary file that seals every ``BYTES_CHUNK`` bytes as one frame; ``close`` writes the last."""

    def __init__(self, path: Path, *, cipher: FieldCipher, name: str):
        self.path = path
        self._frames = _FrameWriter(path, magic=BYTES_MAGIC, cipher=cipher, name=name)
        self._buffer = bytearray()
        self._written = 0
        self.closed = False

    def write(self, data) -> int:
        self._buffer += data
        self._written += len(data)
        while len(self._buffer) > BYTES_CHUNK:
            self._frames.frame(bytes(self._buffer[:BYTES_CHUNK]))
            del self._buffer[:BYTES_CHUNK]
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
        self._frames.finish(bytes(self._buffer))
        self.closed = True

    def abort(self) -> None:
        self._frames.abort()
        self.closed = True


def sealed_bytes_read(path: Path, *, cipher: FieldCipher, name: str) -> Iterator[bytes]:
    """Yield the plaintext of a sealed byte stream chunk by chunk; raises SealedFileError if altered or cut."""
    return _sealed_read(
        path, magic=BYTES_MAGIC, kind="sealed byte stream", cipher=cipher, name=name
    )
