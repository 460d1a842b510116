"""A real rsyslog receiver on loopback, shipper processes on the test database, and readers of what arrived."""

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

from governance.audit import AuditAction, audit_record
from governance.models import AuditEvent, SiemCursor
from tests.faults.processes import REPO_ROOT, free_port, wait_for

# What the receiver writes per message: the fields rsyslog parsed from the RFC 5424 header, then MSG.
_TEMPLATE = (
    "%syslogfacility-text%|%syslogseverity-text%|%hostname%|%app-name%|%procid%|%msgid%"
    "|%timereported:::date-rfc3339%|%structured-data%|%msg%\\n"
)


# Tests where two processes write at once, or another connection holds a lock: PostgreSQL's
# table locks and sessions are what they exercise (SQLite serialises every writer of the file anyway).
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: table locks from another connection, processes writing at once"
)


def rsyslogd_or_skip() -> str:
    path = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if os.path.exists("/usr/sbin/rsyslogd") else None)
    if path is None:
        pytest.skip("rsyslogd is not installed: apt-get install -y --no-install-recommends rsyslog (.ci/run does).")
    return path


@dataclass(frozen=True)
class Received:
    facility: str
    severity: str
    hostname: str
    app_name: str
    procid: str
    msgid: str
    timestamp: str
    structured_data: str
    record: dict

    @property
    def seq(self) -> int:
        return self.record["event"]["sequence"]


class Rsyslog:
    """rsyslogd in the foreground with imtcp on a free loopback port, writing each message to a file."""

    def __init__(self, folder: Path):
        self.binary = rsyslogd_or_skip()
        self.folder, self.port, self.process = folder, free_port(), None
        folder.mkdir(parents=True, exist_ok=True)
        self.output = folder / "received.log"
        self.config = folder / "rsyslog.conf"
        self.config.write_text(
            f'global(workDirectory="{folder}" maxMessageSize="64k")\n'
            'module(load="imtcp")\n'
            f'template(name="fields" type="string" string="{_TEMPLATE}")\n'
            f'input(type="imtcp" port="{self.port}" address="127.0.0.1")\n'
            f'action(type="omfile" file="{self.output}" template="fields")\n'
        )

    @property
    def sink(self) -> str:
        return f"syslog+tcp://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.folder / "rsyslogd.log").open("ab")
        command = [self.binary, "-n", "-f", str(self.config), "-i", str(self.folder / "rsyslogd.pid")]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._listens, what=f"rsyslogd listening on 127.0.0.1:{self.port}", seconds=20)

    def _listens(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"rsyslogd exited with {self.process.returncode}: {(self.folder / 'rsyslogd.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """A clean stop (SIGTERM): rsyslog writes out what it has read, then exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def received(self) -> list[Received]:
        if not self.output.exists():
            return []
        rows = []
        for line in self.output.read_text().splitlines():
            *fields, message = line.split("|", 8)
            rows.append(Received(*fields, record=json.loads(message)))
        return rows

    def seqs(self) -> Counter:
        return Counter(row.seq for row in self.received())


@contextmanager
def rsyslog_running(folder: Path):
    receiver = Rsyslog(folder)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def events_record(count: int) -> int:
    """Append ``count`` events, each in a transaction of its own as services do; returns the head seq."""
    for index in range(count):
        with transaction.atomic():
            audit_record(actor="tests", action=AuditAction.AUDIT_VERIFY, details={"index": index})
    return head_seq()


def head_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def cursor_of(sink: str) -> SiemCursor | None:
    return SiemCursor.objects.filter(sink=sink).first()


def file_seqs(path: Path) -> list[int]:
    """The seq of every line of a file sink, in file order (every line must be whole JSON)."""
    if not path.exists():
        return []
    return [json.loads(line)["event"]["sequence"] for line in path.read_bytes().split(b"\n") if line]


def shipper_env(*, sinks: list[str], batch: int, **extra: str) -> dict[str, str]:
    """The environment of a shipper process on this test's database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DATABASE_TEST_NAME": str(connection.settings_dict["NAME"]),
        "AUDIT_SIEM_SINKS": ",".join(sinks),
        "AUDIT_SIEM_BATCH": str(batch),
        "AUDIT_SIEM_INTERVAL_SECONDS": "1",
        "AUDIT_SIEM_MAX_BACKOFF_SECONDS": "1",
        "AUDIT_SIEM_TIMEOUT_SECONDS": "5",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def shipper_start(env: dict[str, str], log: Path, *, follow: bool) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "audit_siem_ship", *(["--follow"] if follow else [])]
    with log.open("ab") as handle:
        return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def shipper_kill(process: subprocess.Popen) -> None:
    """SIGKILL, as the OOM killer or a lost machine would: no cleanup, no commit."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


@contextmanager
def cursor_commits_blocked():
    """Hold a SHARE lock on the cursor table from another connection: shippers still lock their
    row and deliver, but the UPDATE that moves the cursor waits, between delivery and commit."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(f"LOCK TABLE {SiemCursor._meta.db_table} IN SHARE MODE")
            try:
                yield
            finally:
                cursor.execute("ROLLBACK")
    finally:
        other.close()


def _stranded_sessions(action: str) -> int:
    table = SiemCursor._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {action} FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE %s",
            [f'UPDATE "{table}"%'],
        )
        return len(cursor.fetchall())


def commit_waiting() -> bool:
    """A shipper has delivered its batch and waits to move the cursor (see cursor_commits_blocked)."""
    return _stranded_sessions("pid") == 1


def stranded_commits_end() -> None:
    """End the server session of a killed shipper whose cursor UPDATE still waits for its lock: with
    the machine gone its connection goes too, and the UPDATE must not run once the lock is free."""
    ended = _stranded_sessions("pg_terminate_backend(pid)")
    assert ended == 1, f"expected one shipper session waiting to move the cursor, found {ended}"


@contextmanager
def sink_held_elsewhere(sink: str):
    """Another shipper at work on ``sink``: its lock taken from another connection (PostgreSQL) or
    another open file (SQLite's file lock)."""
    from governance.services.siem import SINK_LOCK_CLASS, sink_lock_path

    cursor_id = SiemCursor.objects.get_or_create(sink=sink)[0].pk
    if connection.vendor != "postgresql":
        with sink_lock_path(cursor_id).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            yield
        return
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [SINK_LOCK_CLASS, cursor_id])
            yield
    finally:
        other.close()
