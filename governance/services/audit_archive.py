"""Moving old audit events into signed archive files and back, verifying them, and the audited archive search."""

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from governance.access import access_audit_trail
from governance.audit import (
    AuditAction,
    ChainReport,
    audit_chain_verify,
    audit_record,
    canonical_payload,
)
from governance.checkpoints.archive import (
    ArchiveFileError,
    archive_file_read,
    archive_file_write,
    file_sha256,
)
from governance.checkpoints.note import CheckpointError, NoteKey
from governance.models import AuditArchive, AuditArchiveState, AuditEvent
from governance.rows import model_columns
from governance.selectors.audit_archive import (
    ArchiveRange,
    ArchiveSearch,
    archive_config,
    archive_due,
    archive_events_search,
    archive_path,
    archive_verify_keys,
    archived_event,
)
from governance.selectors.checkpoints import checkpoint_config, checkpoint_signing_key

logger = logging.getLogger(__name__)

# Names the PostgreSQL advisory lock that lets one archiver at a time run (the chain's is 7_211_993_401).
_ARCHIVE_LOCK_KEY = 7_211_993_403
# The transaction-local setting the append-only trigger reads: the id of the archive whose rows may go.
ARCHIVE_SETTING = "governance.audit_archive_id"


class ArchiveError(Exception):
    """An archive cannot be written, read, verified or restored; the message names what and where."""


@dataclass
class ArchiveRunOutcome:
    archives: list[AuditArchive] = field(default_factory=list)
    # Why the run stopped: nothing (more) due, or archiving is off.
    reason: str = ""


def _payloads(first_seq: int, last_seq: int):
    """The canonical payloads of events first_seq..last_seq from the table, every one of them, in order."""
    after = first_seq - 1
    while after < last_seq:
        events = list(AuditEvent.objects.filter(seq__gt=after, seq__lte=last_seq).order_by("seq")[:5000])
        if not events:
            break
        for event in events:
            if event.seq != after + 1:
                raise ArchiveError(f"event #{after + 1} is not in the table: not archived.")
            yield canonical_payload(event)
            after = event.seq
    if after != last_seq:
        raise ArchiveError(f"event #{after + 1} is not in the table: not archived.")


def _allow_delete(archive: AuditArchive) -> None:
    """Name ``archive`` for the append-only trigger, for the rest of this transaction only."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [ARCHIVE_SETTING, str(archive.pk)])


def _archive_one(due: ArchiveRange, *, actor, key: NoteKey, written: list) -> AuditArchive:
    """Write the file (its path appended to ``written``), then the row, the rows' removal and the
    audit.archive event, in the caller's transaction."""
    config = archive_config()
    checkpoint = due.checkpoint
    header = {"origin": checkpoint.origin, "checkpoint_note": checkpoint.note, "created_at": timezone.now().isoformat()}
    path, manifest, sha256 = archive_file_write(
        config.folder, header=header, payloads=_payloads(due.first_seq, due.last_seq), key=key
    )
    written.append(path)
    if manifest.last_hash != checkpoint.head_hash:
        raise ArchiveError(
            f"event #{due.last_seq}'s hash is not the head checkpoint {checkpoint.size} signed: not archived."
        )
    archive = AuditArchive.objects.create(
        first_seq=manifest.first_seq,
        last_seq=manifest.last_seq,
        event_count=manifest.count,
        first_prev_hash=manifest.first_prev_hash,
        last_hash=manifest.last_hash,
        earliest_created_at=dt.datetime.fromisoformat(manifest.earliest_created_at),
        latest_created_at=dt.datetime.fromisoformat(manifest.latest_created_at),
        file_name=path.name,
        file_bytes=path.stat().st_size,
        sha256=sha256,
        checkpoint_size=checkpoint.size,
        checkpoint_hash=checkpoint.head_hash,
        created_at=timezone.now(),
    )
    _allow_delete(archive)
    deleted, _ = AuditEvent.objects.filter(seq__gte=archive.first_seq, seq__lte=archive.last_seq).delete()
    if deleted != archive.event_count:
        raise ArchiveError(f"{deleted} events left the table, {archive.event_count} were archived: rolled back.")
    audit_record(
        actor=actor,
        action=AuditAction.AUDIT_ARCHIVE,
        target=archive,
        details={
            "first_seq": archive.first_seq,
            "last_seq": archive.last_seq,
            "events": archive.event_count,
            "file": archive.file_name,
            "sha256": archive.sha256,
            "checkpoint_size": archive.checkpoint_size,
        },
    )
    return archive


def audit_archive_run(*, actor, limit: int | None = None, now: dt.datetime | None = None) -> ArchiveRunOutcome:
    """Archive every range that is due (docs/audit-archive.md), one file and one transaction each.

    Needs the checkpoint signing key (AUDIT_CHECKPOINT_KEY_FILE): each file is signed with it.
    ``limit`` caps the number of files this run writes; ``now`` (default: the time) sets what is old.
    """
    outcome = ArchiveRunOutcome()
    config = archive_config()
    if not config.enabled:
        outcome.reason = "archiving is off: AUDIT_ARCHIVE_AFTER_DAYS is not set."
        return outcome
    try:
        key = checkpoint_signing_key(checkpoint_config())
    except CheckpointError as error:
        raise ArchiveError(f"cannot sign archives: {error}") from error
    while limit is None or len(outcome.archives) < limit:
        written = []
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_ARCHIVE_LOCK_KEY])
                        if not cursor.fetchone()[0]:
                            outcome.reason = "another archiving run holds the lock."
                            return outcome
                due = archive_due(now=now or timezone.now(), config=config)
                if due.range is None:
                    outcome.reason = due.reason
                    return outcome
                archive = _archive_one(due.range, actor=actor, key=key, written=written)
        except BaseException as error:
            # Rolled back: the events are still in the table, so the file goes.
            for path in written:
                path.unlink(missing_ok=True)
            if isinstance(error, (ArchiveFileError, CheckpointError)):
                # CheckpointError: an event whose content no longer matches the chain (chain_extend).
                raise ArchiveError(f"not archived: {error}") from error
            raise
        logger.info("audit events #%s..#%s archived to %s", archive.first_seq, archive.last_seq, archive.file_name)
        outcome.archives.append(archive)
    return outcome


def audit_archive_get(*, archive_id: int) -> AuditArchive:
    archive = AuditArchive.objects.filter(pk=archive_id).first()
    if archive is None:
        raise ArchiveError(f"there is no audit archive with id {archive_id} (`manage.py audit_archive list` shows them).")
    return archive


def _verify_file(archive: AuditArchive, keys: list[NoteKey]) -> None:
    path = archive_path(archive)
    if file_sha256(path) != archive.sha256:
        raise ArchiveFileError(
            f"{path}: its sha256 is not the one recorded for archive {archive.pk} "
            f"(#{archive.first_seq}..#{archive.last_seq}): altered, replaced, or another archive's file."
        )
    count = 0
    for manifest, _ in archive_file_read(path, keys):
        if (manifest.first_seq, manifest.last_seq) != (archive.first_seq, archive.last_seq):
            raise ArchiveFileError(f"{path}: holds #{manifest.first_seq}..#{manifest.last_seq}, not archive {archive.pk}'s range.")
        count += 1


def audit_archive_verify(*, actor, keys: list[NoteKey] | None = None) -> ChainReport:
    """Verify the whole trail across the archive files and the table, and record that it was done."""
    try:
        keys = archive_verify_keys(keys)
    except CheckpointError as error:
        raise ArchiveError(f"cannot check archive signatures: {error} Give the vkey with --key.") from error
    report = audit_chain_verify(keys=keys)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.AUDIT_ARCHIVE_VERIFY,
            details={
                "intact": report.ok,
                "checked": report.checked,
                "archives": AuditArchive.objects.filter(state=AuditArchiveState.SEALED).count(),
                "first_broken_seq": report.first_broken_seq,
                "reason": report.reason[:500],
            },
        )
    return report


def _insert_sql() -> str:
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    placeholders = ", ".join(["%s"] * len(AuditEvent._meta.concrete_fields))
    return f"INSERT INTO {table} ({model_columns(AuditEvent)}) VALUES ({placeholders})"


def audit_archive_restore(*, actor, archive_id: int, keys: list[NoteKey] | None = None) -> AuditArchive:
    """Put a sealed archive's events back into the table with their seq and hashes, and mark it restored.

    The file is verified in full first (signature, sha256, chain, checkpoint); nothing is written
    unless it is intact. The file stays where it is.
    """
    archive = audit_archive_get(archive_id=archive_id)
    if archive.state != AuditArchiveState.SEALED:
        raise ArchiveError(f"archive {archive.pk} was already restored on {archive.restored_at:%Y-%m-%d %H:%M} UTC.")
    try:
        keys = archive_verify_keys(keys)
        _verify_file(archive, keys)
    except (CheckpointError, ArchiveFileError) as error:
        raise ArchiveError(f"archive {archive.pk} not restored: {error}") from error
    path = archive_path(archive)
    try:
        return _restore(archive, path, keys, actor=actor)
    except ArchiveFileError as error:
        raise ArchiveError(f"archive {archive.pk} not restored: {error}") from error


@transaction.atomic
def _restore(archive: AuditArchive, path, keys: list[NoteKey], *, actor) -> AuditArchive:
    """The inserts, the row's new state and the audit.archive_restore event, in one transaction."""
    archive = AuditArchive.objects.select_for_update().get(pk=archive.pk)
    if archive.state != AuditArchiveState.SEALED:
        raise ArchiveError(f"archive {archive.pk} was restored meanwhile.")
    fields = list(AuditEvent._meta.concrete_fields)
    batch = []
    with connection.cursor() as cursor:
        for _, payload in archive_file_read(path, keys):
            event = archived_event(json.loads(payload))
            if event.hash != hashlib.sha256(payload).hexdigest():
                raise ArchiveError(f"event #{event.seq} of {path} does not read back to the bytes it hashed: not restored.")
            batch.append([field.get_db_prep_save(getattr(event, field.attname), connection) for field in fields])
            if len(batch) == 1000:
                cursor.executemany(_insert_sql(), batch)
                batch = []
        if batch:
            cursor.executemany(_insert_sql(), batch)
    archive.state = AuditArchiveState.RESTORED
    archive.restored_at = timezone.now()
    archive.save(update_fields=["state", "restored_at"])
    audit_record(
        actor=actor,
        action=AuditAction.AUDIT_ARCHIVE_RESTORE,
        target=archive,
        details={"first_seq": archive.first_seq, "last_seq": archive.last_seq, "events": archive.event_count},
    )
    return archive


def audit_archive_search(*, actor, search: ArchiveSearch):
    """Search the archive files (auditors, admins); the search and its filters are audited."""
    access_audit_trail(user=actor)
    try:
        events, more = archive_events_search(search)
    except (CheckpointError, ArchiveFileError) as error:
        raise ValidationError(gettext("The archive cannot be read: %(error)s") % {"error": error}) from error
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.AUDIT_ARCHIVE_SEARCH,
            details={**search.as_dict(), "found": len(events), "more": more},
        )
    return events, more
