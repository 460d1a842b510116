"""A witness process of the test's own (from a copy of the witness's files, without Django), and audit events to feed it."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection, transaction

from governance.audit import AuditAction, audit_record, canonical_payload, event_hash
from governance.checkpoints import witness_sink
from governance.checkpoints.note import Checkpoint, note_sign
from governance.checkpoints.witness_sink import WitnessSink
from governance.models import AuditEvent

REPO_ROOT = Path(__file__).resolve().parents[3]
# Everything a witness machine needs besides Python and cryptography.
WITNESS_FILES = (
    "governance/__init__.py",
    "governance/checkpoints/__init__.py",
    "governance/checkpoints/note.py",
    "governance/checkpoints/cosign.py",
    "governance/checkpoints/witness_checks.py",
    "governance/checkpoints/witness.py",
)
ORIGIN = "sensitive-annotator/witness-test"


class WitnessProcess:
    """``python -m governance.checkpoints.witness serve`` from a folder that holds only the witness's files."""

    def __init__(self, tmp_path: Path, log_vkey: str):
        self.box, self.state, self.log_vkey = tmp_path / "box", tmp_path / "state", log_vkey
        for name in WITNESS_FILES:
            (self.box / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO_ROOT / name, self.box / name)
        # Any import of Django in the witness fails loudly: it must run on a box without it.
        (self.box / "django").mkdir()
        (self.box / "django" / "__init__.py").write_text('raise ImportError("the witness must not import Django")\n')
        self.key_file = tmp_path / "witness.pem"
        keygen = self._run_module("keygen", "--name", "witness.test/w1", "--out", str(self.key_file))
        self.vkey = keygen.stdout.strip()
        self.process, self.port, self.log = None, None, tmp_path / "witness.log"

    def _env(self) -> dict:
        return {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")}

    def _run_module(self, *args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "governance.checkpoints.witness", *args]
        return subprocess.run(command, cwd=self.box, env=self._env(), capture_output=True, text=True, check=True, timeout=60)

    def start(self) -> None:
        command = [sys.executable, "-m", "governance.checkpoints.witness", "serve", "--state", str(self.state),
                   "--key", str(self.key_file), "--log-vkey", self.log_vkey, "--listen", "127.0.0.1:0"]
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=self.box, env=self._env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while self.port is None or self.port == "stale":
            for line in self.log.read_bytes()[offset:].decode().splitlines():
                if '"listening"' in line:
                    self.port = int(json.loads(line)["listening"].rsplit(":", 1)[1])
            if self.process.poll() is not None:
                pytest.fail(f"the witness exited: {self.log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the witness did not start: {self.log.read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process, self.port = None, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def status(self) -> dict:
        with urllib.request.urlopen(self.url + "status", timeout=10) as response:
            return json.loads(response.read())

    def post(self, body: bytes) -> tuple[int, str]:
        """A raw add-checkpoint request: the status and the answer's text."""
        request = urllib.request.Request(self.url + "add-checkpoint", data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def origin(self, name: str = ORIGIN) -> dict:
        return next(o for o in self.status()["origins"] if o["origin"] == name)


def events_make(count: int) -> None:
    with transaction.atomic():
        for number in range(count):
            audit_record(actor="witness-test", action=AuditAction.AUDIT_VERIFY, details={"n": number})


def event_payloads(after: int, upto: int):
    for event in AuditEvent.objects.filter(seq__gt=after, seq__lte=upto).order_by("seq").iterator():
        yield canonical_payload(event)


def chain_head() -> Checkpoint:
    last = AuditEvent.objects.order_by("-seq").first()
    return Checkpoint(ORIGIN, last.seq, last.hash)


def chain_at(size: int) -> Checkpoint:
    return Checkpoint(ORIGIN, size, AuditEvent.objects.get(seq=size).hash)


def publish(sink: WitnessSink, checkpoint: Checkpoint, log_key) -> list[str]:
    return sink.publish(note_sign(checkpoint.body(), log_key), checkpoint, payloads=event_payloads)


def chain_rewrite_from(seq: int) -> None:
    """What a DBA with write access can do: change event ``seq`` and recompute every hash after it."""
    with _append_only_triggers_off():
        previous = AuditEvent.objects.get(seq=seq - 1).hash
        for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
            if event.seq == seq:
                event.details = {**event.details, "rewritten": True}
            event.prev_hash = previous
            event.hash = previous = event_hash(event)
            AuditEvent.objects.filter(pk=event.pk).update(
                details=event.details, prev_hash=event.prev_hash, hash=event.hash
            )


@contextmanager
def _append_only_triggers_off():
    """As a DBA would: PostgreSQL's replica role skips the triggers; SQLite's trigger is dropped and put back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
            yield
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            cursor.execute(f"DROP TRIGGER {_TRIGGER}")
            yield
            cursor.execute(
                f"CREATE TRIGGER {_TRIGGER} BEFORE UPDATE ON governance_auditevent "
                "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END;"
            )


_TRIGGER = "governance_audit_no_update"


def witness_alarms(witness: WitnessProcess) -> list[dict]:
    path = witness.state / "alarms.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def witness_running(tmp_path: Path, log_vkey: str):
    """A started witness that trusts ``log_vkey``, stopped after the test (a fixture's body)."""
    process = WitnessProcess(tmp_path, log_vkey)
    process.start()
    witness_sink._known_sizes.clear()
    yield process
    process.stop()
