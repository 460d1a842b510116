"""Signing checkpoints of the audit trail when due and delivering them to every sink, retrying failed ones."""

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from governance.access import access_audit_trail
from governance.audit import GENESIS_HASH, AuditAction, audit_record, canonical_payload
from governance.checkpoints.note import (
    Checkpoint,
    CheckpointError,
    chain_extend,
    checkpoint_parse,
    note_append_signatures,
    note_sign,
    note_split,
)
from governance.checkpoints.sinks import CheckpointSink
from governance.models import AuditCheckpoint, AuditCheckpointDelivery, AuditEvent
from governance.selectors.checkpoints import (
    checkpoint_config,
    checkpoint_signing_key,
    checkpoint_sinks,
)

logger = logging.getLogger(__name__)

# Names the PostgreSQL advisory lock that lets one publisher at a time sign (the chain's is 7_211_993_401).
_CHECKPOINT_LOCK_KEY = 7_211_993_402
# Deliveries a sink is sent in one run, oldest first; the rest wait for the next run.
DELIVERY_BATCH = 100


def checkpoint_due(
    *,
    last_size: int | None,
    last_at: dt.datetime | None,
    head_seq: int,
    now: dt.datetime,
    every_events: int,
    every_seconds: int,
    force: bool = False,
) -> bool:
    """Whether to sign a checkpoint of a chain of ``head_seq`` events now.

    Only when the trail grew by more than the last checkpoint's own audit.checkpoint event
    (which always follows it), or an idle trail would get a checkpoint every interval, each
    recording the event that announces the one before. Then: forced, the first, or
    ``every_events`` new events, or ``every_seconds`` since the last.
    """
    news = head_seq if last_size is None else head_seq - last_size - 1
    if news <= 0:
        return False
    if force or last_size is None or news >= every_events:
        return True
    return (now - last_at).total_seconds() >= every_seconds


def event_payloads(after: int, upto: int) -> Iterator[bytes]:
    """The canonical payloads of events after+1..upto, in order (a sink's proof, the publisher's check)."""
    # Pages by seq, not a server-side cursor: a consumer may stop midway (a broken link, a
    # witness that hung up), and an abandoned named cursor breaks the transaction around it.
    while after < upto:
        events = list(AuditEvent.objects.filter(seq__gt=after, seq__lte=upto).order_by("seq")[:2000])
        if not events:
            return
        for event in events:
            yield canonical_payload(event)
        after = events[-1].seq


@dataclass
class PublishOutcome:
    """What a run did: the checkpoint signed (None when none was due or checkpoints are off)."""

    checkpoint: AuditCheckpoint | None = None
    enabled: bool = True
    delivered: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, int, str]] = field(default_factory=list)


def _chain_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHECKPOINT_LOCK_KEY])


@transaction.atomic
def _checkpoint_sign(*, force: bool, actor, sinks: list[CheckpointSink]) -> AuditCheckpoint | None:
    """Sign a checkpoint of the chain's head if one is due; its row, deliveries and event in one transaction."""
    config = checkpoint_config()
    _chain_lock()
    last = AuditCheckpoint.objects.order_by("-size").first()
    # One statement, one snapshot: the chain lock is held to COMMIT, so the newest committed
    # event has every smaller seq committed before it.
    head_seq, head_hash = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first() or (0, GENESIS_HASH)
    now = timezone.now()
    due = checkpoint_due(
        last_size=last.size if last else None,
        last_at=last.created_at if last else None,
        head_seq=head_seq,
        now=now,
        every_events=config.every_events,
        every_seconds=config.every_seconds,
        force=force,
    )
    if not due:
        return None
    # Never sign a head that does not extend the last checkpoint: walk the events between them.
    start, start_hash = (last.size, last.head_hash) if last else (0, GENESIS_HASH)
    try:
        walked = chain_extend(start_hash, event_payloads(start, head_seq), start_seq=start)
    except CheckpointError as error:
        raise CheckpointError(f"not signed: the trail no longer extends checkpoint {start}: {error}") from error
    if walked != head_hash:
        raise CheckpointError(f"not signed: event {head_seq}'s stored hash is not the hash of its content.")
    key = checkpoint_signing_key(config)
    checkpoint = Checkpoint(origin=config.origin, size=head_seq, head_hash=head_hash)
    note = note_sign(checkpoint.body(), key)
    row = AuditCheckpoint.objects.create(
        size=head_seq, head_hash=head_hash, origin=config.origin, note=note.decode(), created_at=now
    )
    event = audit_record(
        actor=actor if actor is not None else "checkpoint",
        action=AuditAction.AUDIT_CHECKPOINT,
        target=row,
        details={"size": head_seq, "head_hash": head_hash, "sinks": [sink.name for sink in sinks], "forced": force},
    )
    row.audit_seq = event.seq
    row.save(update_fields=["audit_seq"])
    AuditCheckpointDelivery.objects.bulk_create(
        [AuditCheckpointDelivery(checkpoint=row, sink=sink.name) for sink in sinks]
    )
    return row


def _sink_deliver(sink: CheckpointSink, outcome: PublishOutcome) -> None:
    """Send ``sink`` what it has not taken yet, oldest first, stopping at its first failure (order matters)."""
    with transaction.atomic():
        pending = (
            AuditCheckpointDelivery.objects.select_for_update(of=("self",))
            .filter(sink=sink.name, delivered_at__isnull=True)
            .select_related("checkpoint")
            .order_by("checkpoint__size")[:DELIVERY_BATCH]
        )
        for delivery in pending:
            row = delivery.checkpoint
            note = row.note.encode()
            delivery.attempts += 1
            delivery.last_attempt_at = timezone.now()
            try:
                cosignatures = sink.publish(note, checkpoint_parse(note_split(note)[0]), payloads=event_payloads)
            except Exception as error:  # any sink's failure is recorded and retried; the others go on
                delivery.error = f"{type(error).__name__}: {error}"[:2000]
                delivery.save(update_fields=["attempts", "last_attempt_at", "error"])
                outcome.failed.append((sink.name, row.size, delivery.error))
                logger.warning("Checkpoint %s not delivered to %s: %s", row.size, sink.name, delivery.error)
                return
            delivery.delivered_at, delivery.error = delivery.last_attempt_at, ""
            delivery.cosignatures = list(cosignatures)
            delivery.save(update_fields=["attempts", "last_attempt_at", "error", "delivered_at", "cosignatures"])
            if cosignatures:
                # Later sinks get the note with the witness's cosignature on it.
                row.note = note_append_signatures(note, cosignatures).decode()
                AuditCheckpoint.objects.filter(pk=row.pk).update(note=row.note)
            outcome.delivered.append((sink.name, row.size))


def audit_checkpoint_publish(*, force: bool = False, actor=None) -> PublishOutcome:
    """Sign a checkpoint if due (always, if ``force`` and the trail grew), then deliver every pending one.

    A failed delivery stays pending and is sent again first on the next run; the other sinks
    still get theirs. Signing and recording happen in one transaction; delivering after it, so
    no network wait holds a lock the chain needs.
    """
    config = checkpoint_config()
    if not config.enabled:
        return PublishOutcome(enabled=False)
    sinks = checkpoint_sinks(config)
    outcome = PublishOutcome(checkpoint=_checkpoint_sign(force=force, actor=actor, sinks=sinks))
    for sink in sinks:
        _sink_deliver(sink, outcome)
    return outcome


def audit_checkpoint_request(*, actor) -> None:
    """Publish now (auditors, admins): a worker signs a checkpoint if the trail grew, and retries deliveries."""
    from governance.celery_tasks import audit_checkpoint_task

    access_audit_trail(user=actor)
    if not checkpoint_config().enabled:
        raise ValidationError(gettext("Checkpoints are off: AUDIT_CHECKPOINT_KEY_FILE is not set."))
    transaction.on_commit(lambda: audit_checkpoint_task.delay(force=True, actor_id=actor.pk))


def audit_checkpoint_publish_by_id(*, force: bool, actor_id: int | None) -> PublishOutcome:
    """The task's entry: the requesting user by id; one who is gone or no longer an auditor forces nothing."""
    from django.contrib.auth import get_user_model

    from governance.access import can_audit

    if actor_id is None:
        return audit_checkpoint_publish(force=force)
    actor = get_user_model().objects.filter(pk=actor_id).first()
    if actor is None or not can_audit(actor):
        return audit_checkpoint_publish(force=False)
    return audit_checkpoint_publish(force=force, actor=actor)
