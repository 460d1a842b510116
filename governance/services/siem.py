"""Ships the audit trail to the SIEM sinks in seq order, batch by batch, moving each sink's cursor after delivery."""

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from governance.audit import AuditAction
from governance.models import AuditEvent, SiemCursor
from governance.siem.formats import ecs_record, json_line
from governance.siem.transports import Position, SinkError, transport_for

# A beat run ships for at most this long, so one far-behind sink does not hold a worker for hours;
# the next run, seconds later, goes on from the cursor.
RUN_SECONDS = 60
_LABELS = dict(AuditAction.choices)


@dataclass(frozen=True)
class SiemShipResult:
    sink: str
    shipped: int = 0
    last_seq: int = 0
    error: str = ""
    # Another shipper holds this sink's cursor, or the sink is failing and waits for its retry time.
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


def audit_siem_ship(*, sink: str, force: bool = False, seconds: float | None = None) -> SiemShipResult:
    """Ship the events after ``sink``'s cursor, one batch per transaction, until caught up (or
    ``seconds`` have passed, or the sink fails).

    Each batch locks the sink's cursor row (skip if another shipper holds it), reads the next
    events, delivers them, and moves the cursor in the same transaction, so a shipper that dies
    before its commit leaves the cursor where it was and the batch is delivered again: at least
    once. The file sink cuts such a batch off first (exactly once); syslog may receive it twice.
    A failure keeps the cursor, records the error and waits (back-off) unless ``force``.
    """
    if sink not in settings.AUDIT_SIEM_SINKS:
        raise ValueError(f"{sink!r} is not one of the sinks in AUDIT_SIEM_SINKS: {settings.AUDIT_SIEM_SINKS}.")
    transport = transport_for(
        sink,
        timeout=settings.AUDIT_SIEM_TIMEOUT_SECONDS,
        facility=settings.AUDIT_SIEM_SYSLOG_FACILITY,
        hostname=settings.AUDIT_SIEM_SYSLOG_HOSTNAME,
    )
    SiemCursor.objects.get_or_create(sink=sink)
    deadline = None if seconds is None else time.monotonic() + seconds
    shipped = 0
    while True:
        with transaction.atomic():
            cursor = SiemCursor.objects.select_for_update(skip_locked=True).filter(sink=sink).first()
            if cursor is None:
                return SiemShipResult(sink, shipped, busy=True)
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
