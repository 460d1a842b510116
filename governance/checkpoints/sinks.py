"""Where signed checkpoints go outside the database: a folder, syslog over TCP, and a registry for more (HTTP witnesses)."""

import base64
import datetime as dt
import os
import re
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from common.syslog import (
    FACILITIES,
    SEVERITY_NOTICE,
    SyslogDeliveryError,
    sd_param_escape,
    syslog_message,
    syslog_send,
)
from governance.checkpoints.note import Checkpoint, CheckpointError, note_split

# payloads(after, upto) yields the canonical payloads of events after+1..upto, in order.
Payloads = Callable[[int, int], Iterator[bytes]]

# Folder sink: one file per checkpoint, the size zero-padded so that names sort as sizes do.
NOTE_SUFFIX = ".note"
_NOTE_NAME = re.compile(r"(\d{20})\.note")
# Syslog: facility 13 (log audit), severity 5 (notice); the SD-ID uses the documentation-reserved
# enterprise number 32473 (RFC 5612); the MSG carries the note base64-encoded after this marker, so
# that it survives receivers that escape newlines and is found in their files by a plain search.
SYSLOG_FACILITY = FACILITIES["security"]
SYSLOG_MSGID = "checkpoint"
SYSLOG_SD_ID = "checkpoint@32473"
SYSLOG_NOTE_MARKER = "checkpoint-note:"
SYSLOG_TIMEOUT_SECONDS = 5.0
_SYSLOG_NOTE = re.compile(re.escape(SYSLOG_NOTE_MARKER) + r"([A-Za-z0-9+/]+={0,2})")


class CheckpointSinkError(CheckpointError):
    """A sink refused or could not take a checkpoint; the message says which sink and why."""


class CheckpointSink:
    """One place checkpoints are published to; ``name`` is its URL without credentials."""

    name: str = ""

    def publish(self, note: bytes, checkpoint: Checkpoint, *, payloads: Payloads) -> list[str]:
        """Deliver ``note`` (idempotent for the same note); return cosignature lines, usually none."""
        raise NotImplementedError

    def read_all(self) -> Iterator[bytes]:
        """Every note the sink holds, oldest first; CheckpointSinkError where it cannot be read back."""
        for _, note in self.read_all_named():
            yield note

    def read_all_named(self) -> Iterator[tuple[str, bytes]]:
        """As ``read_all``, each note with where it came from (a file name, say) for reports."""
        raise CheckpointSinkError(f"{self.name}: this sink cannot be read back; verify from the receiver's copy.")


_FACTORIES: dict[str, Callable[[str], CheckpointSink]] = {}


def checkpoint_sink_register(scheme: str, factory: Callable[[str], CheckpointSink]) -> None:
    """Let ``factory(url)`` build the sinks of URLs with ``scheme`` (the witness module registers http/https)."""
    _FACTORIES[scheme.lower()] = factory


def checkpoint_sink_from_url(url: str) -> CheckpointSink:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in _FACTORIES:
        known = ", ".join(sorted(_FACTORIES))
        raise CheckpointSinkError(f"checkpoint sink {url!r}: no sink handles {scheme!r} URLs (known: {known}).")
    return _FACTORIES[scheme](url)


def checkpoint_sinks_from_urls(urls: Iterable[str]) -> list[CheckpointSink]:
    sinks = [checkpoint_sink_from_url(url) for url in urls]
    names = [sink.name for sink in sinks]
    if len(set(names)) != len(names):
        raise CheckpointSinkError(f"checkpoint sinks are listed twice: {', '.join(names)}.")
    return sinks


def _body(note: bytes) -> bytes | None:
    try:
        return note_split(note)[0]
    except CheckpointError:
        return None


class FolderSink(CheckpointSink):
    """``file:///abs/folder``: ``<size, 20 digits>.note`` per checkpoint, written atomically, never replaced.

    A different note of a size already there is a split view, and a note smaller than the largest
    there a rollback (a cut tail or an older backup restored): both are refused, loudly.
    """

    def __init__(self, url: str):
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise CheckpointSinkError(f"checkpoint sink {url!r}: a folder sink is file:///absolute/folder.")
        self.folder = Path(parts.path)
        self.name = f"file://{self.folder}"

    def _path(self, size: int) -> Path:
        return self.folder / f"{size:020d}{NOTE_SUFFIX}"

    def _sizes(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(int(m.group(1)) for n in os.listdir(self.folder) if (m := _NOTE_NAME.fullmatch(n)))

    def publish(self, note: bytes, checkpoint: Checkpoint, *, payloads: Payloads) -> list[str]:
        path = self._path(checkpoint.size)
        if path.exists():
            # The same body is the same checkpoint, whatever cosignatures either copy carries.
            if _body(path.read_bytes()) != _body(note):
                raise CheckpointSinkError(
                    f"{self.name}: split view: {path.name} already holds a different checkpoint of size {checkpoint.size}."
                )
            return []
        sizes = self._sizes()
        if sizes and sizes[-1] > checkpoint.size:
            raise CheckpointSinkError(
                f"{self.name}: rollback: a checkpoint of size {sizes[-1]} is already here and this one has "
                f"{checkpoint.size} events (a cut tail, or a database restored from an older backup)."
            )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(note)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.chmod(temporary, 0o644)
                # A hard link creates the name only if it is free (rename would replace a file
                # another publisher put there meanwhile), so a name once written never changes.
                os.link(temporary, path)
            finally:
                os.unlink(temporary)
            directory = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except FileExistsError:
            return self.publish(note, checkpoint, payloads=payloads)
        except OSError as error:
            raise CheckpointSinkError(f"{self.name}: cannot write {path.name}: {error}") from error
        return []

    def read_all_named(self) -> Iterator[tuple[str, bytes]]:
        if not self.folder.is_dir():
            raise CheckpointSinkError(f"{self.name}: there is no such folder.")
        for size in self._sizes():
            path = self._path(size)
            yield str(path), path.read_bytes()


def syslog_frame(note: bytes, checkpoint: Checkpoint, *, hostname: str, at: dt.datetime | None = None) -> bytes:
    """One framed RFC 5424 message with the note (common.syslog)."""
    data = (
        f'[{SYSLOG_SD_ID} origin="{sd_param_escape(checkpoint.origin)}" size="{checkpoint.size}" '
        f'head="{checkpoint.head_hash}"]'
    )
    encoded = base64.b64encode(note).decode("ascii")
    return syslog_message(
        f"{SYSLOG_NOTE_MARKER}{encoded}".encode("ascii"),
        facility=SYSLOG_FACILITY,
        severity=SEVERITY_NOTICE,
        at=at or dt.datetime.now(dt.UTC),
        hostname=hostname,
        procid=str(os.getpid()),
        msgid=SYSLOG_MSGID,
        structured_data=data,
    )


def syslog_notes_find(text: str) -> list[bytes]:
    """The notes in a syslog receiver's output (or any text) that carries our messages, in order."""
    return [base64.b64decode(match.group(1)) for match in _SYSLOG_NOTE.finditer(text)]


class SyslogSink(CheckpointSink):
    """``syslog+tcp://host:port``: one RFC 5424 message a checkpoint over TCP (octet counting, no TLS)."""

    def __init__(self, url: str, *, hostname: str | None = None):
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme != "syslog+tcp" or not parts.hostname or port is None or parts.path not in ("", "/"):
            raise CheckpointSinkError(f"checkpoint sink {url!r}: a syslog sink is syslog+tcp://host:port.")
        self.host, self.port = parts.hostname, port
        self.hostname = hostname or socket.gethostname()
        self.name = f"syslog+tcp://{parts.netloc.rsplit('@', 1)[-1]}"

    def publish(self, note: bytes, checkpoint: Checkpoint, *, payloads: Payloads) -> list[str]:
        # Sent on a connection of its own, the receiver's close taken as its acknowledgement.
        try:
            syslog_send(self.host, self.port, syslog_frame(note, checkpoint, hostname=self.hostname),
                        timeout=SYSLOG_TIMEOUT_SECONDS)
        except SyslogDeliveryError as error:
            raise CheckpointSinkError(f"{self.name}: cannot deliver: {error}") from error
        return []


checkpoint_sink_register("file", FolderSink)
checkpoint_sink_register("syslog+tcp", SyslogSink)
