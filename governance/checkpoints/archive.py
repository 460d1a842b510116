"""The audit archive file: gzip'd JSON lines of a signed manifest, the events' canonical payloads and a signature; no ORM.

Layout (docs/audit-archive.md), one JSON document a line inside one gzip member:

    {"format": "sensitive-annotator/audit-archive/v1", "origin": ..., "first_seq": ..., ..., "checkpoint_note": ...}
    <canonical payload of event first_seq>          ← exactly the bytes its hash covers
    ...
    <canonical payload of event last_seq>
    {"signature": "<key name>+<hex key id> <base64 Ed25519 signature of the first line's bytes>"}

Each event's hash is sha256 of its line, so the lines need no hash of their own; the manifest
names the range, the hash the first event links to, the last event's hash, the earliest and
latest event times, the sha256 of the event lines and the signed checkpoint note whose head is
the last event's hash.
"""

import base64
import datetime as dt
import gzip
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from governance.checkpoints.note import CheckpointError, NoteKey, chain_extend, note_open

FORMAT = "sensitive-annotator/audit-archive/v1"


class ArchiveFileError(ValueError):
    """The archive file is missing, unreadable, altered, or does not hold what its manifest says."""


@dataclass(frozen=True)
class ArchiveManifest:
    origin: str
    first_seq: int
    last_seq: int
    count: int
    first_prev_hash: str
    last_hash: str
    earliest_created_at: str
    latest_created_at: str
    events_sha256: str
    checkpoint_note: str
    created_at: str
    format: str = FORMAT

    def line(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def archive_file_name(first_seq: int, last_seq: int) -> str:
    return f"audit-{first_seq:020d}-{last_seq:020d}.jsonl.gz"


def _signature_line(manifest_line: bytes, key: NoteKey) -> bytes:
    if key.private is None:
        raise ArchiveFileError(f"key {key.name!r} has no private part and cannot sign an archive.")
    signature = base64.b64encode(key.private.sign(manifest_line)).decode("ascii")
    return json.dumps({"signature": f"{key.name}+{key.key_id.hex()} {signature}"}).encode()


def archive_file_write(
    folder: Path, *, header: dict, payloads: Iterable[bytes], key: NoteKey
) -> tuple[Path, ArchiveManifest, str]:
    """Write the archive of ``payloads`` (canonical payloads, in seq order) into ``folder``.

    ``header`` holds the manifest's fields other than those taken from the payloads (origin,
    checkpoint_note, created_at). The events go to a temporary file first (their sha256 and the
    chain are computed on the way); the manifest is written once they are known, the file fsynced,
    linked to its final name (which fails if it exists: an archive is never replaced), made
    read-only, and the folder fsynced. Returns the path, the manifest and the file's sha256.
    """
    folder.mkdir(parents=True, exist_ok=True)
    events_sha = hashlib.sha256()
    first = last = None
    count, head = 0, None
    earliest = latest = None
    body = folder / f".events-{os.getpid()}-{id(header)}.partial"
    partial = None
    try:
        with open(body, "wb") as raw:
            for payload in payloads:
                fields = json.loads(payload)
                if first is None:
                    first, head, start = fields, fields["prev_hash"], fields["seq"] - 1
                else:
                    start = last["seq"]
                # Raises CheckpointError at an event whose prev_hash is not its predecessor's content hash.
                head = chain_extend(head, [payload], start_seq=start)
                last = fields
                moment = dt.datetime.fromisoformat(fields["created_at"])
                earliest = moment if earliest is None or moment < earliest else earliest
                latest = moment if latest is None or moment > latest else latest
                raw.write(payload + b"\n")
                events_sha.update(payload + b"\n")
                count += 1
        if first is None:
            raise ArchiveFileError("an archive needs at least one event.")
        manifest = ArchiveManifest(
            first_seq=first["seq"],
            last_seq=last["seq"],
            count=count,
            first_prev_hash=first["prev_hash"],
            last_hash=head,
            earliest_created_at=earliest.isoformat(timespec="microseconds"),
            latest_created_at=latest.isoformat(timespec="microseconds"),
            events_sha256=events_sha.hexdigest(),
            **header,
        )
        manifest_line = manifest.line()
        path = folder / archive_file_name(manifest.first_seq, manifest.last_seq)
        partial = folder / (path.name + ".partial")
        with open(partial, "wb") as handle:
            # mtime=0: the same events give the same bytes.
            with gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as packed:
                packed.write(manifest_line + b"\n")
                with open(body, "rb") as events:
                    while chunk := events.read(1 << 20):
                        packed.write(chunk)
                packed.write(_signature_line(manifest_line, key) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(partial, path)
        except FileExistsError as error:
            raise ArchiveFileError(f"{path} already exists: an archive file is never replaced.") from error
        path.chmod(0o444)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        body.unlink(missing_ok=True)
        if partial is not None:
            partial.unlink(missing_ok=True)
    return path, manifest, file_sha256(path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as error:
        raise ArchiveFileError(f"{path}: cannot be read ({error.strerror or error}).") from error
    return digest.hexdigest()


def _lines(path: Path) -> Iterator[bytes]:
    try:
        with gzip.open(path, "rb") as packed:
            for line in packed:
                yield line.rstrip(b"\n")
    except FileNotFoundError as error:
        raise ArchiveFileError(f"{path}: the archive file is missing.") from error
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise ArchiveFileError(f"{path}: not a readable gzip file ({error}).") from error


def archive_manifest_read(path: Path, keys: Iterable[NoteKey]) -> ArchiveManifest:
    """The manifest of the archive at ``path`` once its signature verifies by one of ``keys`` (reads the whole file)."""
    manifest = None
    for manifest, _payload in archive_file_read(path, keys):
        pass
    if manifest is None:
        raise ArchiveFileError(f"{path}: holds no event.")
    return manifest


def archive_file_read(path: Path, keys: Iterable[NoteKey]) -> Iterator[tuple[ArchiveManifest, bytes]]:
    """Yield (manifest, canonical payload) for each event of the archive at ``path``, in order.

    The manifest's signature is checked before the first event, and the events against the
    manifest (count, range, sha256, chain from first_prev_hash to last_hash) as they are read,
    the signature's and the sha256's after the last event: nothing read is trusted until the
    generator is exhausted. Its checkpoint note must open by one of ``keys`` and sign
    ``last_seq`` events with head ``last_hash``. Raises ArchiveFileError naming the file.
    """
    keys = list(keys)
    lines = _lines(path)
    manifest_line = next(lines, None)
    if manifest_line is None:
        raise ArchiveFileError(f"{path}: the archive file is empty.")
    try:
        fields = json.loads(manifest_line)
        if fields.get("format") != FORMAT:
            raise ArchiveFileError(f"{path}: not an audit archive ({FORMAT}).")
        manifest = ArchiveManifest(**fields)
    except (ValueError, TypeError) as error:
        raise ArchiveFileError(f"{path}: the manifest line is not valid ({error}).") from error
    try:
        checkpoint, _ = note_open(manifest.checkpoint_note.encode(), keys)
    except CheckpointError as error:
        raise ArchiveFileError(f"{path}: its checkpoint note does not verify: {error}") from error
    if checkpoint.size != manifest.last_seq or checkpoint.head_hash != manifest.last_hash:
        raise ArchiveFileError(
            f"{path}: its checkpoint (size {checkpoint.size}) does not sign event #{manifest.last_seq}'s hash."
        )
    events_sha = hashlib.sha256()
    head, seq, signature = manifest.first_prev_hash, manifest.first_seq - 1, None
    for line in lines:
        if line.startswith(b'{"signature"'):
            signature = line
            break
        try:
            head = chain_extend(head, [line], start_seq=seq)
        except CheckpointError as error:
            raise ArchiveFileError(f"{path}: {error}") from error
        events_sha.update(line + b"\n")
        seq += 1
        if seq > manifest.last_seq:
            raise ArchiveFileError(f"{path}: holds events after #{manifest.last_seq}, its manifest's last.")
        yield manifest, line
    if signature is None or next(lines, None) is not None:
        raise ArchiveFileError(f"{path}: the signature line is missing or not last: the file was cut or extended.")
    _signature_check(path, manifest_line, signature, keys)
    if seq != manifest.last_seq or seq - manifest.first_seq + 1 != manifest.count:
        raise ArchiveFileError(f"{path}: ends at event #{seq}, its manifest says #{manifest.last_seq}.")
    if events_sha.hexdigest() != manifest.events_sha256 or head != manifest.last_hash:
        raise ArchiveFileError(f"{path}: the events do not match the signed manifest (sha256 or last hash).")


def _signature_check(path: Path, manifest_line: bytes, signature_line: bytes, keys: list[NoteKey]) -> None:
    try:
        name_id, encoded = json.loads(signature_line)["signature"].split(" ", 1)
        name, key_id = name_id.rsplit("+", 1)
        raw = base64.b64decode(encoded, validate=True)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ArchiveFileError(f"{path}: the signature line is not valid ({error}).") from error
    for key in keys:
        if key.name == name and key.key_id.hex() == key_id:
            try:
                key.public.verify(raw, manifest_line)
            except InvalidSignature as error:
                raise ArchiveFileError(f"{path}: the manifest's signature by {name!r} does not verify: altered.") from error
            return
    raise ArchiveFileError(f"{path}: signed by {name}+{key_id}, which is not a trusted key.")
