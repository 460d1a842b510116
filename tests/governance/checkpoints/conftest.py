"""Checkpointing switched on for a test: a signing key file, an origin and a folder sink under tmp_path."""

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from governance.checkpoints.note import NoteKey, note_key_generate

ORIGIN = "sensitive-annotator/test"


@dataclass
class Checkpointing:
    key: NoteKey
    key_file: Path
    folder: Path

    @property
    def folder_url(self) -> str:
        return f"file://{self.folder}"


@pytest.fixture
def checkpointing(settings, tmp_path) -> Checkpointing:
    key = note_key_generate(ORIGIN)
    key_file = tmp_path / "checkpoint-key.pem"
    key_file.write_bytes(key.private_pem())
    key_file.chmod(0o600)
    folder = tmp_path / "checkpoints"
    settings.AUDIT_CHECKPOINT_KEY_FILE = str(key_file)
    settings.AUDIT_CHECKPOINT_ORIGIN = ORIGIN
    settings.AUDIT_CHECKPOINT_SINKS = [f"file://{folder}"]
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 1000
    settings.AUDIT_CHECKPOINT_EVERY_SECONDS = 60
    return Checkpointing(key=key, key_file=key_file, folder=folder)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SyslogReceiver:
    """A TCP syslog receiver on loopback: reads RFC 6587 octet-counted frames, keeps each message."""

    port: int
    messages: list[str] = field(default_factory=list)
    _server: socket.socket | None = None
    _thread: threading.Thread | None = None

    def start(self) -> "SyslogReceiver":
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            with connection:
                buffer = b""
                while chunk := connection.recv(65536):
                    buffer += chunk
                while buffer:
                    length, _, rest = buffer.partition(b" ")
                    size = int(length)
                    self.messages.append(rest[:size].decode())
                    buffer = rest[size:]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[str]:
        """The messages once ``count`` have arrived (the sender returns before this thread reads them)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.messages)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()


@pytest.fixture
def syslog_receiver():
    receiver = SyslogReceiver(free_port()).start()
    yield receiver
    receiver.stop()
