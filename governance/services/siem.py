"""Ships the audit trail to the SIEM sinks in seq order, batch by batch, moving each sink's cursor after delivery."""

import fcntl
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone, translation

from governance.audit import AuditAction
from governance.models import AuditEvent, SiemCursor
from governance.siem.formats import ecs_record, json_line
from governance.siem.transports import Position, SinkError, transport_for

# A beat run ships for at most this long, so one far-behind sink does not hold a worker for hours;
# the next run, seconds later, goes on from the cursor.
RUN_SECONDS = 60
_LABELS = dict(AuditAction.choices)
# PostgreSQL advisory locks in their two-key form: this class, then the sink's cursor id.
SINK_LOCK_CLASS = 0x51E4


@dataclass(frozen=True)
class SiemShipResult:
    sink: str
    shipped: int = 0
    last_seq: int = 0
    error: str = ""
    # Another shipper holds this sink, or the sink is failing and waits for its retry time.
    busy: bool = False
    waiting: bool = False


def _message(action: str) -> str:
    """The action's label in English, as the record's ``message`` (SIEM rules match on event.action)."""
    with translation.override("en"):
        return str(_LABELS.get(action, action))


def _backoff(failures: int) -> timedelta:
    seconds = settings.AUDIT_SIEM_INTERVAL_SECONDS * 2 ** min(failures, 20)
    return timedelta(seconds=min(seconds, settings.AUDIT_SIEM_MAX_BACKOFF_SECONDS))


def _contiguity_error(cursor: SiemCursor, events: list[AuditEvent]) -> str:
    """Seqs are gapless, so a hole means events left the table before this sink had them."""
    for index, event in enumerate(events):
        expected = cursor.last_seq + 1 + index
        if event.seq != expected:
            return (
                f"event #{expected} is not in the audit table (deleted or archived before it was shipped "
                f"to this sink); the shipper stops there rather than skip it"
            )
    return ""


def _failure_record(cursor: SiemCursor, error: str) -> None:
    now = timezone.now()
    cursor.failures += 1
    cursor.retry_at = now + _backoff(cursor.failures)
    cursor.last_error, cursor.last_error_at = error[:2000], now
    cursor.save(update_fields=["failures", "retry_at", "last_error", "last_error_at", "updated_at"])


@contextmanager
def _sink_held(cursor_id: int):
    """Hold the sink for this shipper alone: yields False if another shipper holds it.

    No transaction stays open while a batch is sent (a receiver may take seconds): PostgreSQL
    keeps a session advisory lock, which the server drops if the shipper dies; SQLite (one
    machine) a file lock beside the database, which the kernel drops likewise.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SINK_LOCK_CLASS, cursor_id])
            held = cursor.fetchone()[0]
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SINK_LOCK_CLASS, cursor_id])
        return
    with sink_lock_path(cursor_id).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True  # released when the file closes


def sink_lock_path(cursor_id: int) -> Path:
    return Path(settings.DATA_DIR) / f"siem-sink-{cursor_id}.lock"


def audit_siem_ship(*, sink: str, force: bool = False, seconds: float | None = None) -> SiemShipResult:
    """Ship the events after ``sink``'s cursor, batch by batch, until caught up (or ``seconds``
    have passed, or the sink fails).

    Holding the sink (one shipper at a time; another finds it busy), each step reads the next
    events after the cursor, delivers them, and only then moves the cursor (one UPDATE). A
    shipper that dies in between leaves the cursor where it was and the batch is delivered
    again: at least once. The file sink cuts such a batch off first (exactly once); syslog may
    receive it twice. A failure keeps the cursor, records the error and waits (back-off) unless
    ``force``.
    """
    if sink not in settings.AUDIT_SIEM_SINKS:
        raise ValueError(f"{sink!r} is not one of the sinks in AUDIT_SIEM_SINKS: {settings.AUDIT_SIEM_SINKS}.")
    transport = transport_for(
        sink,
        timeout=settings.AUDIT_SIEM_TIMEOUT_SECONDS,
        facility=settings.AUDIT_SIEM_SYSLOG_FACILITY,
        hostname=settings.AUDIT_SIEM_SYSLOG_HOSTNAME,
    )
    cursor_id = SiemCursor.objects.get_or_create(sink=sink)[0].pk
    deadline = None if seconds is None else time.monotonic() + seconds
    shipped = 0
    with _sink_held(cursor_id) as held:
        if not held:
            return SiemShipResult(sink, shipped, busy=True)
        while True:
            cursor = SiemCursor.objects.get(pk=cursor_id)
            if not force and cursor.retry_at and cursor.retry_at > timezone.now():
                return SiemShipResult(sink, shipped, cursor.last_seq, cursor.last_error, waiting=True)
            events = list(AuditEvent.objects.filter(seq__gt=cursor.last_seq).order_by("seq")[: settings.AUDIT_SIEM_BATCH])
            if not events:
                return SiemShipResult(sink, shipped, cursor.last_seq)
            error = _contiguity_error(cursor, events)
            if not error:
                batch = [(event, json_line(ecs_record(event, message=_message(event.action)))) for event in events]
                try:
                    delivery = transport.ship(batch, Position(cursor.file_offset, cursor.file_identity))
                except SinkError as failure:
                    error = str(failure)
            if error:
                _failure_record(cursor, error)
                return SiemShipResult(sink, shipped, cursor.last_seq, error)
            cursor.file_offset, cursor.file_identity = delivery.position.offset, delivery.position.identity
            if delivery.shipped:
                cursor.last_seq = events[-1].seq
                cursor.shipped_at = timezone.now()
                cursor.failures, cursor.retry_at = 0, None
                shipped += len(events)
            cursor.save()
            if deadline is not None and time.monotonic() > deadline:
                return SiemShipResult(sink, shipped, cursor.last_seq)


def audit_siem_ship_all(*, force: bool = False, seconds: float | None = RUN_SECONDS) -> list[SiemShipResult]:
    """One shipping run over every configured sink (beat's task, the command)."""
    return [audit_siem_ship(sink=sink, force=force, seconds=seconds) for sink in settings.AUDIT_SIEM_SINKS]
