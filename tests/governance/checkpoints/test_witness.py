"""The witness as a process of its own (run from a copy of its files, without Django) cosigns a trail that grows and alarms on a fork or a rollback."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection, transaction

from governance.audit import AuditAction, audit_record, canonical_payload, event_hash
from governance.checkpoints import witness_sink
from governance.checkpoints.cosign import cosignature_verify, cosigner_key_from_vkey
from governance.checkpoints.note import Checkpoint, note_key_generate, note_sign
from governance.checkpoints.witness_sink import WitnessSink, WitnessSinkError
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
pytestmark = pytest.mark.django_db


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

    def origin(self) -> dict:
        return next(o for o in self.status()["origins"] if o["origin"] == ORIGIN)


@pytest.fixture
def log_key():
    return note_key_generate(ORIGIN)


@pytest.fixture
def witness(tmp_path, log_key):
    process = WitnessProcess(tmp_path, log_key.vkey())
    process.start()
    witness_sink._known_sizes.clear()
    yield process
    process.stop()


def _events(count: int) -> None:
    with transaction.atomic():
        for number in range(count):
            audit_record(actor="witness-test", action=AuditAction.AUDIT_VERIFY, details={"n": number})


def _payloads(after: int, upto: int):
    for event in AuditEvent.objects.filter(seq__gt=after, seq__lte=upto).order_by("seq").iterator():
        yield canonical_payload(event)


def _head() -> Checkpoint:
    last = AuditEvent.objects.order_by("-seq").first()
    return Checkpoint(ORIGIN, last.seq, last.hash)


def _at(size: int) -> Checkpoint:
    return Checkpoint(ORIGIN, size, AuditEvent.objects.get(seq=size).hash)


def _publish(sink: WitnessSink, checkpoint: Checkpoint, log_key) -> list[str]:
    return sink.publish(note_sign(checkpoint.body(), log_key), checkpoint, payloads=_payloads)


def _rewrite_from(seq: int) -> None:
    """What a DBA with write access can do: change event ``seq`` and recompute every hash after it."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # the append-only triggers sleep
    previous = AuditEvent.objects.get(seq=seq - 1).hash
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        if event.seq == seq:
            event.details = {**event.details, "rewritten": True}
        event.prev_hash = previous
        event.hash = previous = event_hash(event)
        AuditEvent.objects.filter(pk=event.pk).update(details=event.details, prev_hash=event.prev_hash, hash=event.hash)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")


def _alarms(witness: WitnessProcess) -> list[dict]:
    path = witness.state / "alarms.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_witness_cosigns_a_trail_that_grows_consistently(witness, log_key):
    sink = WitnessSink(f"{witness.url}#{witness.vkey}")
    _events(3)
    first = _head()
    [line] = _publish(sink, first, log_key)
    assert cosignature_verify(first.body(), line, cosigner_key_from_vkey(witness.vkey)) > 0
    _events(4)
    witness_sink._known_sizes.clear()  # a fresh app process: it learns the witness's size from a 409
    second = _head()
    [line] = _publish(sink, second, log_key)
    assert cosignature_verify(second.body(), line, cosigner_key_from_vkey(witness.vkey)) > 0
    assert (witness.origin()["size"], witness.origin()["head_hash"]) == (7, second.head_hash)
    assert witness.status()["alarm_count"] == 0


def test_a_forked_history_signed_with_the_log_key_raises_an_alarm_and_gets_no_cosignature(witness, log_key):
    sink = WitnessSink(witness.url)
    _events(5)
    honest = _head()
    _publish(sink, honest, log_key)
    _rewrite_from(3)
    forked = _head()
    assert forked.size == honest.size and forked.head_hash != honest.head_hash
    with pytest.raises(WitnessSinkError, match="409.*split view"):
        _publish(sink, forked, log_key)
    _events(2)  # the forked chain grows on: its events 6 and 7 do not chain from the head the witness holds
    with pytest.raises(WitnessSinkError, match="422.*prev_hash does not match"):
        _publish(sink, _head(), log_key)
    assert (witness.origin()["size"], witness.origin()["head_hash"]) == (5, honest.head_hash)
    alarms = _alarms(witness)
    assert [a["alarm"] for a in alarms] == ["split_view", "inconsistent"]
    assert alarms[0]["recorded_head"] == honest.head_hash and alarms[0]["presented_head"] == forked.head_hash
    assert "split_view" in witness.log.read_text()  # one JSON line on stderr too
    assert witness.status()["alarm_count"] == 2


def test_a_rolled_back_checkpoint_raises_an_alarm(witness, log_key):
    sink = WitnessSink(witness.url)
    _events(6)
    _publish(sink, _head(), log_key)
    with pytest.raises(WitnessSinkError, match="409.*rollback"):
        _publish(sink, _at(4), log_key)  # a database restored from an older backup
    assert [a["alarm"] for a in _alarms(witness)] == ["rollback"]
    assert witness.origin()["size"] == 6


def test_the_restarted_witness_keeps_its_state_and_a_second_one_cannot_share_it(witness, log_key):
    sink = WitnessSink(witness.url)
    _events(3)
    _publish(sink, _head(), log_key)
    witness.stop()
    witness.start()
    sink = WitnessSink(witness.url)
    witness_sink._known_sizes.clear()
    assert witness.origin()["size"] == 3
    _rewrite_from(2)
    with pytest.raises(WitnessSinkError, match="split view"):
        _publish(sink, _head(), log_key)
    second = subprocess.run(
        [sys.executable, "-m", "governance.checkpoints.witness", "serve", "--state", str(witness.state),
         "--key", str(witness.key_file), "--log-vkey", log_key.vkey(), "--listen", "127.0.0.1:0"],
        cwd=witness.box, env=witness._env(), capture_output=True, text=True, timeout=60,
    )
    assert second.returncode != 0 and "another witness process holds" in second.stderr


def test_a_checkpoint_not_signed_by_the_trusted_log_key_is_refused_without_an_alarm(witness):
    _events(2)
    with pytest.raises(WitnessSinkError, match="403.*no trusted log signature"):
        _publish(WitnessSink(witness.url), _head(), note_key_generate(ORIGIN))
    assert _alarms(witness) == [] and witness.status()["origins"] == []


def test_a_sink_pinned_to_another_witness_key_refuses_the_answer(witness, log_key):
    from governance.checkpoints.cosign import cosigner_key_generate

    other = cosigner_key_generate("witness.test/w1").vkey()
    _events(1)
    with pytest.raises(WitnessSinkError, match="no valid cosignature"):
        _publish(WitnessSink(f"{witness.url}#{other}"), _head(), log_key)
