"""The witness's checks of add-checkpoint and its state folder (per origin the last checkpoint and the history it cosigned, alarms); pure Python, no Django."""

import base64
import binascii
import datetime
import fcntl
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from http import HTTPStatus
from pathlib import Path

from governance.checkpoints.cosign import CosignerKey, cosignature_sign
from governance.checkpoints.note import (
    GENESIS_HASH,
    Checkpoint,
    CheckpointError,
    NoteKey,
    checkpoint_extends,
    checkpoint_parse,
    note_open,
    note_split,
)

MAX_NOTE_BYTES = 64 * 1024
RECENT_ALARMS = 20


class WitnessRefusal(Exception):
    """A request the witness answers with ``status`` and ``message`` (and no cosignature)."""

    def __init__(
        self, status: HTTPStatus, message: str, *, content_type: str = "text/plain; charset=utf-8"
    ):
        super().__init__(message)
        self.status, self.message, self.content_type = status, message, content_type


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _append_line(path: Path, line: str) -> None:
    with open(path, "a") as out:
        out.write(line + "\n")
        out.flush()
        os.fsync(out.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file, fsync, rename, fsync the folder: a crash leaves the old file or the new one, never half."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class WitnessState:
    """The state folder: per origin the last accepted size, head and note and a history of cosigned (size, head); alarms.jsonl; a lock file."""

    def __init__(self, folder: Path):
        self.folder = folder
        (folder / "origins").mkdir(parents=True, exist_ok=True)
        self._lock_file = open(folder / "witness.lock", "w")  # noqa: SIM115 (held for the process's life)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise SystemExit(
                f"another witness process holds {folder}; refusing to share its state."
            ) from error
        self.alarms_path = folder / "alarms.jsonl"

    def _origin_path(self, origin: str, suffix: str = ".json") -> Path:
        return self.folder / "origins" / (hashlib.sha256(origin.encode()).hexdigest()[:32] + suffix)

    def get(self, origin: str) -> dict | None:
        path = self._origin_path(origin)
        return json.loads(path.read_text()) if path.exists() else None

    def put(self, checkpoint: Checkpoint, note: bytes, cosignature: str) -> None:
        """History line first, then the state file: a crash between leaves a history entry ahead, which is harmless."""
        history = {
            "size": checkpoint.size,
            "head_hash": checkpoint.head_hash,
            "cosignature": cosignature,
        }
        _append_line(self._origin_path(checkpoint.origin, ".history.jsonl"), json.dumps(history))
        record = {
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "head_hash": checkpoint.head_hash,
            "note": note.decode("utf-8"),
            "cosigned_at": now_iso(),
        }
        write_atomic(self._origin_path(checkpoint.origin), json.dumps(record, indent=1).encode())

    def cosigned(self, origin: str, size: int) -> dict | None:
        """The history entry of ``size`` (its head and the cosignature given), if this witness cosigned one.

        A linear scan: it runs only when a checkpoint smaller than the current one arrives.
        """
        path = self._origin_path(origin, ".history.jsonl")
        if not path.exists():
            return None
        found = None
        with open(path) as lines:
            for line in lines:
                entry = json.loads(line)
                if entry["size"] == size:
                    found = entry
        return found

    def origins(self) -> list[dict]:
        return [
            json.loads(path.read_text())
            for path in sorted((self.folder / "origins").glob("*.json"))
        ]

    def alarm(self, record: dict) -> None:
        line = json.dumps(record, sort_keys=True)
        print(line, file=sys.stderr, flush=True)
        _append_line(self.alarms_path, line)

    def alarms(self) -> list[dict]:
        if not self.alarms_path.exists():
            return []
        return [
            json.loads(line) for line in self.alarms_path.read_text().splitlines() if line.strip()
        ]


class Witness:
    """The checks of add-checkpoint, independent of HTTP."""

    def __init__(
        self,
        *,
        state: WitnessState,
        key: CosignerKey,
        log_keys: list[NoteKey],
        origins: set[str] | None = None,
    ):
        self.state, self.key, self.log_keys, self.origins = state, key, log_keys, origins
        self._lock = threading.Lock()

    def add_checkpoint(self, request) -> str:
        """Check the request (a binary file positioned at its start) and return the cosignature line."""
        old = self._old_size(request.readline())
        proof_start = request.tell()
        count = 0
        while True:
            line = request.readline()
            if not line:
                raise WitnessRefusal(
                    HTTPStatus.BAD_REQUEST,
                    "the body ends before the blank line that precedes the note.",
                )
            if line == b"\n":
                break
            count += 1
        note = request.read(MAX_NOTE_BYTES + 1)
        if len(note) > MAX_NOTE_BYTES:
            raise WitnessRefusal(
                HTTPStatus.BAD_REQUEST, f"the note is longer than {MAX_NOTE_BYTES} bytes."
            )
        try:
            body, _ = note_split(note)
            presented = checkpoint_parse(body)
        except CheckpointError as error:
            raise WitnessRefusal(
                HTTPStatus.BAD_REQUEST, f"the checkpoint note is malformed: {error}"
            ) from error
        if self.origins is not None and presented.origin not in self.origins:
            raise WitnessRefusal(
                HTTPStatus.NOT_FOUND, f"this witness does not follow origin {presented.origin!r}."
            )
        try:
            note_open(note, self.log_keys)
        except CheckpointError as error:
            raise WitnessRefusal(
                HTTPStatus.FORBIDDEN, f"no trusted log signature: {error}"
            ) from error
        if old > presented.size:
            raise WitnessRefusal(
                HTTPStatus.BAD_REQUEST,
                f"old size {old} is larger than the checkpoint's size {presented.size}.",
            )

        def payloads():
            request.seek(proof_start)
            for number in range(count):
                line = request.readline().rstrip(b"\n")
                try:
                    yield base64.b64decode(line, validate=True)
                except binascii.Error as error:
                    raise WitnessRefusal(
                        HTTPStatus.BAD_REQUEST, f"proof line {number + 1} is not base64."
                    ) from error

        with self._lock:
            return self._check_and_store(old, presented, note, count, payloads)

    @staticmethod
    def _old_size(line: bytes) -> int:
        text = line.decode("ascii", "replace").rstrip("\n")
        number = text[4:] if text.startswith("old ") else ""
        if not number.isdigit() or (number != "0" and number.startswith("0")):
            raise WitnessRefusal(
                HTTPStatus.BAD_REQUEST, f"the first line must be 'old <size>', not {text[:40]!r}."
            )
        return int(number)

    def _check_and_store(
        self, old, presented: Checkpoint, note: bytes, count: int, payloads
    ) -> str:
        record = self.state.get(presented.origin)
        size = record["size"] if record else 0
        head = record["head_hash"] if record else GENESIS_HASH
        if record and presented.size < size:
            earlier = self.state.cosigned(presented.origin, presented.size)
            if earlier and earlier["head_hash"] == presented.head_hash:
                # One this witness cosigned before, sent again (a publisher that lost the answer
                # and retries its backlog): the same answer as then, no alarm, nothing changes.
                return earlier["cosignature"]
            kind = "split_view" if earlier else "rollback"
            detail = (
                f"another head for size {presented.size}, cosigned before {size}"
                if earlier
                else f"checkpoint of {presented.size} events after one of {size}"
            )
            self._alarm(kind, record, presented, note, detail)
            raise WitnessRefusal(
                HTTPStatus.CONFLICT,
                f"ALARM {kind.replace('_', ' ')}: this witness already cosigned {size} events for this origin.",
            )
        if record and presented.size == size:
            if presented.head_hash != head:
                self._alarm("split_view", record, presented, note, f"two heads for size {size}")
                raise WitnessRefusal(
                    HTTPStatus.CONFLICT,
                    f"ALARM split view: another head was cosigned for size {size}.",
                )
            return self._cosign(presented, note, store=False)
        if old != size:
            raise WitnessRefusal(HTTPStatus.CONFLICT, f"{size}\n", content_type="text/x.tlog.size")
        if size == 0 and count == 0:
            # Trust on first use: the first checkpoint of an origin needs no proof (as in C2SP), so a
            # witness can join a long trail; everything after it must chain from it. (A recorded
            # size of 0 attests nothing, so it counts as no record.)
            return self._cosign(presented, note, store=True)
        if count != presented.size - size:
            raise WitnessRefusal(
                HTTPStatus.BAD_REQUEST,
                f"{count} events were sent; sizes {size} to {presented.size} need {presented.size - size}.",
            )
        try:
            checkpoint_extends(Checkpoint(presented.origin, size, head), presented, payloads())
        except CheckpointError as error:
            self._alarm("inconsistent", record, presented, note, str(error))
            raise WitnessRefusal(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                f"ALARM: the events do not lead from size {size} to this checkpoint: {error}",
            ) from error
        return self._cosign(presented, note, store=True)

    def _cosign(self, checkpoint: Checkpoint, note: bytes, *, store: bool) -> str:
        line = cosignature_sign(checkpoint.body(), self.key, timestamp=int(time.time()))
        if store:
            self.state.put(checkpoint, note, line)
        return line

    def _alarm(
        self, kind: str, record: dict | None, presented: Checkpoint, note: bytes, detail: str
    ) -> None:
        # Both signed notes are kept: two log-signed heads for one chain are the evidence of the fork.
        self.state.alarm(
            {
                "alarm": kind,
                "at": now_iso(),
                "origin": presented.origin,
                "detail": detail,
                "recorded_size": record["size"] if record else 0,
                "recorded_head": record["head_hash"] if record else GENESIS_HASH,
                "recorded_note": record["note"] if record else None,
                "presented_size": presented.size,
                "presented_head": presented.head_hash,
                "presented_note": note.decode("utf-8"),
            }
        )

    def status(self) -> dict:
        alarms = self.state.alarms()
        return {
            "witness": self.key.name,
            "vkey": self.key.vkey(),
            "log_vkeys": [key.vkey() for key in self.log_keys],
            "origins": [
                {k: v for k, v in record.items() if k != "note"} for record in self.state.origins()
            ],
            "alarm_count": len(alarms),
            "alarms": [
                {k: v for k, v in alarm.items() if not k.endswith("_note")}
                for alarm in alarms[-RECENT_ALARMS:]
            ],
        }
