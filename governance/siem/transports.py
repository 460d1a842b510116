"""Where SIEM records go: an append-only JSON-lines file, or a syslog receiver over TCP (RFC 5424)."""

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from common.syslog import SyslogDeliveryError, syslog_send
from governance.siem.formats import syslog_frame


class SinkError(Exception):
    """The sink did not take the batch; the cursor stays where it was and the batch is sent again."""


@dataclass(frozen=True)
class Position:
    """Where a file sink's shipped records end: the byte offset, in which file ("device:inode")."""

    offset: int = 0
    identity: str = ""


@dataclass(frozen=True)
class Delivery:
    position: Position
    # False when the transport only took up a new file (see FileTransport.ship): nothing was sent.
    shipped: bool = True


class FileTransport:
    """Appends JSON lines to a file; exactly once, because the cursor keeps the file's length.

    Bytes past the cursor's offset were written by a shipper that died before its cursor
    committed: they are cut off before the next append, so a resent batch replaces them.
    """

    def __init__(self, path: Path):
        self.path = path

    def ship(self, batch: list[tuple[object, bytes]], position: Position) -> Delivery:
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        except OSError as error:
            raise SinkError(f"cannot open {self.path}: {error.strerror}") from None
        try:
            status = os.fstat(descriptor)
            identity = f"{status.st_dev}:{status.st_ino}"
            if identity != position.identity:
                # A file we have not written to yet (first use, or the old one was rotated away by
                # renaming): take it up at its end and commit that before writing, so that a crash
                # in the first write is cut off like any other.
                os.fsync(descriptor)
                _directory_sync(self.path.parent)
                return Delivery(Position(status.st_size, identity), shipped=False)
            # Shorter than the cursor says: truncated in place (logrotate's copytruncate); go on at its end.
            offset = min(position.offset, status.st_size)
            os.ftruncate(descriptor, offset)
            data = b"".join(line for _, line in batch)
            written = 0
            while written < len(data):
                written += os.pwrite(descriptor, data[written:], offset + written)
            os.fsync(descriptor)
            return Delivery(Position(offset + len(data), identity))
        except OSError as error:
            raise SinkError(f"cannot write {self.path}: {error.strerror}") from None
        finally:
            os.close(descriptor)


def _directory_sync(folder: Path) -> None:
    """Make a newly created file's name durable too (its folder's entry)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class SyslogTcpTransport:
    """Sends a batch as RFC 5424 messages with octet-counted framing, on a connection of its own,
    and takes the receiver's close as its acknowledgement (common.syslog.syslog_send)."""

    def __init__(self, host: str, port: int, *, timeout: float, facility: str, hostname: str):
        self.host, self.port, self.timeout = host, port, timeout
        self.facility, self.hostname = facility, hostname

    def ship(self, batch: list[tuple[object, bytes]], position: Position) -> Delivery:
        data = b"".join(
            syslog_frame(event, line, facility=self.facility, hostname=self.hostname) for event, line in batch
        )
        try:
            syslog_send(self.host, self.port, data, timeout=self.timeout)
        except SyslogDeliveryError as error:
            raise SinkError(str(error)) from None
        return Delivery(position)


def transport_for(sink: str, *, timeout: float, facility: str, hostname: str):
    """The transport of a sink URL from AUDIT_SIEM_SINKS (config/env.py has checked its form)."""
    parts = urlsplit(sink)
    if parts.scheme == "file":
        return FileTransport(Path(parts.path))
    if parts.scheme == "syslog+tcp":
        return SyslogTcpTransport(parts.hostname, parts.port, timeout=timeout, facility=facility, hostname=hostname)
    raise ValueError(f"{sink!r}: unknown SIEM sink; expected file:///path or syslog+tcp://host:port.")
