"""Append-only, hash-chained audit events, written by services inside their own transaction."""

import contextvars
import hashlib
import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from governance.models import AuditEvent

GENESIS_HASH = "0" * 64
# Any fixed 64-bit number; it names the PostgreSQL advisory lock that serialises appends.
_CHAIN_LOCK_KEY = 7_211_993_401


@dataclass(frozen=True)
class RequestContext:
    client_ip: str | None = None


_request_context: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "audit_request_context", default=RequestContext()
)


def set_request_context(context: RequestContext) -> contextvars.Token:
    return _request_context.set(context)


def reset_request_context(token: contextvars.Token) -> None:
    _request_context.reset(token)


def canonical_payload(event: AuditEvent) -> bytes:
    """The bytes an event's hash covers: every field but the hash itself, in a fixed form."""
    body = {
        "seq": event.seq,
        "created_at": event.created_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "project_id": event.project_id,
        "client_ip": event.client_ip,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_payload(event)).hexdigest()


def _chain_head() -> tuple[int, str]:
    """Lock the chain for this transaction and return the (seq, hash) of its last event.

    On PostgreSQL the advisory lock and the read go in one round trip: two statements in one
    message, the read taking its snapshot only once the lock is held, so it always sees the
    event of whoever held the lock last. SQLite transactions here are IMMEDIATE, so writers are
    already serialised there.

    The lock must be the last one the transaction waits for. PostgreSQL checks foreign keys
    (deferred, as Django declares them) at COMMIT, when the referenced row may be locked by a
    transaction that is itself waiting for this lock: a worker storing embeddings of items an
    annotator is submitting deadlocked that way. So the checks pending so far run first, and
    the transaction's later statements check theirs at once.
    """
    if connection.vendor != "postgresql":
        previous = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        return previous if previous else (0, GENESIS_HASH)
    quote = connection.ops.quote_name
    # No parameters (the key is a constant), so this works with client- and server-side binding.
    with connection.cursor() as cursor:
        cursor.execute(
            "SET CONSTRAINTS ALL IMMEDIATE; "
            f"SELECT pg_advisory_xact_lock({_CHAIN_LOCK_KEY}); "
            f"SELECT {quote('seq')}, {quote('hash')} FROM {quote(AuditEvent._meta.db_table)} "
            f"ORDER BY {quote('seq')} DESC LIMIT 1"
        )
        cursor.nextset()
        cursor.nextset()
        previous = cursor.fetchone()
    return tuple(previous) if previous else (0, GENESIS_HASH)


def audit_record(
    *,
    actor,
    action: str,
    project=None,
    target=None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change it records.")
    prev_seq, prev_hash = _chain_head()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    event = AuditEvent(
        seq=prev_seq + 1,
        created_at=timezone.now(),
        actor=actor if is_user else None,
        actor_name=actor.get_username() if is_user else (actor if isinstance(actor, str) else "system"),
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        project_id=project.pk if project is not None else None,
        client_ip=_request_context.get().client_ip,
        details=details or {},
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = event_hash(event)
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""


def audit_chain_verify(*, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in order and name the first event whose link or content does not match."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    with transaction.atomic():
        for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
            if event.seq != expected_seq:
                return ChainReport(False, checked, expected_seq, f"event {expected_seq} is missing")
            if event.prev_hash != expected_prev:
                return ChainReport(False, checked, event.seq, "prev_hash does not match the previous event")
            if event_hash(event) != event.hash:
                return ChainReport(False, checked, event.seq, "content does not match its hash")
            expected_prev = event.hash
            expected_seq += 1
            checked += 1
    return ChainReport(True, checked)
