"""Reads for the audit archive: its settings, what is due, the chain across archive files and table, and searches."""

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Max

from governance.audit import audit_action_aliases, event_hash
from governance.checkpoints.archive import ArchiveFileError, archive_file_read, file_sha256
from governance.checkpoints.note import CheckpointError, NoteKey
from governance.models import (
    AuditArchive,
    AuditArchiveState,
    AuditCheckpoint,
    AuditCheckpointDelivery,
    AuditEvent,
)
from governance.selectors.audit import AuditFilters
from governance.selectors.checkpoints import checkpoint_config, checkpoint_signing_key
from governance.selectors.siem import siem_shipped_through


@dataclass(frozen=True)
class ArchiveConfig:
    after_days: int
    folder: Path
    max_events: int

    @property
    def enabled(self) -> bool:
        return self.after_days > 0


def archive_config() -> ArchiveConfig:
    return ArchiveConfig(
        after_days=settings.AUDIT_ARCHIVE_AFTER_DAYS,
        folder=Path(settings.AUDIT_ARCHIVE_DIR),
        max_events=settings.AUDIT_ARCHIVE_MAX_EVENTS,
    )


def archive_list():
    return AuditArchive.objects.order_by("first_seq")


def archive_path(archive: AuditArchive) -> Path:
    return archive_config().folder / archive.file_name


def archive_verify_keys(keys: list[NoteKey] | None = None) -> list[NoteKey]:
    """The keys archive signatures are checked with: those given, else the public half of the checkpoint key."""
    if keys:
        return keys
    return [checkpoint_signing_key(checkpoint_config()).public_only()]


@dataclass(frozen=True)
class ArchiveRange:
    """The next archive due: events first_seq..last_seq, covered by ``checkpoint`` (its size is last_seq)."""

    first_seq: int
    last_seq: int
    checkpoint: AuditCheckpoint


@dataclass(frozen=True)
class ArchiveDue:
    range: ArchiveRange | None
    # Why nothing (more) is due, for the command's output.
    reason: str = ""


def archive_due(*, now: dt.datetime, config: ArchiveConfig | None = None) -> ArchiveDue:
    """The next range to archive, ending at a signed checkpoint's size and at none of these limits:

    older than AUDIT_ARCHIVE_AFTER_DAYS; shipped to every SIEM sink; not the chain's head; not
    past a checkpoint some sink still waits for (a witness's proof needs the events after the
    last checkpoint it took); at most AUDIT_ARCHIVE_MAX_EVENTS events.
    """
    config = config or archive_config()
    if not config.enabled:
        return ArchiveDue(None, "archiving is off: AUDIT_ARCHIVE_AFTER_DAYS is not set.")
    after = AuditArchive.objects.aggregate(last=Max("last_seq"))["last"] or 0
    first = AuditEvent.objects.filter(seq__gt=after).order_by("seq").values_list("seq", flat=True).first()
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    if first is None or first >= head:
        return ArchiveDue(None, "nothing to archive: the table holds only the chain's head.")
    cutoff = now - dt.timedelta(days=config.after_days)
    limit = min(head - 1, first + config.max_events - 1)
    # Within the window only: an index walk of at most max_events rows, however old the trail.
    young = AuditEvent.objects.filter(seq__gte=first, seq__lte=limit, created_at__gte=cutoff).order_by("seq")
    if (first_young := young.values_list("seq", flat=True).first()) is not None:
        limit = min(limit, first_young - 1)
    shipped = siem_shipped_through()
    if shipped is not None:
        limit = min(limit, shipped)
    waiting = AuditCheckpointDelivery.objects.filter(delivered_at__isnull=True).order_by("checkpoint__size")
    if (oldest_waiting := waiting.values_list("checkpoint__size", flat=True).first()) is not None:
        limit = min(limit, oldest_waiting - 1)
    checkpoint = AuditCheckpoint.objects.filter(size__gte=first, size__lte=limit).order_by("-size").first()
    if checkpoint is None:
        return ArchiveDue(
            None,
            f"nothing due: no signed, delivered checkpoint between #{first} and #{limit} "
            f"(events older than {config.after_days} days, shipped to every SIEM sink, before the head).",
        )
    return ArchiveDue(ArchiveRange(first_seq=first, last_seq=checkpoint.size, checkpoint=checkpoint))


@dataclass(frozen=True)
class ChainLink:
    """One event of the chain as verification sees it, from the table or an archive file (``where``).

    A link with a ``problem`` carries no event: an archive that could not be read or does not
    match its row, reported at ``seq``.
    """

    seq: int
    prev_hash: str = ""
    hash: str = ""
    stored_hash: str = ""
    where: str = ""
    problem: str = ""


def _archive_links(archive: AuditArchive, folder: Path, keys: list[NoteKey] | None) -> Iterator[ChainLink]:
    where = f"archive {archive.pk}, file {archive.file_name}"
    path = folder / archive.file_name
    if keys is None:
        try:
            keys = archive_verify_keys()
        except CheckpointError as error:
            yield ChainLink(archive.first_seq, where=where, problem=f"{where}: cannot check its signature: {error}")
            return
    seq = archive.first_seq
    try:
        if file_sha256(path) != archive.sha256:
            raise ArchiveFileError(
                f"{path}: its sha256 is not the one recorded for events #{archive.first_seq}..#{archive.last_seq} "
                "(altered, replaced, or another archive's file)."
            )
        for manifest, payload in archive_file_read(path, keys):
            if (manifest.first_seq, manifest.last_seq, manifest.last_hash) != (
                archive.first_seq,
                archive.last_seq,
                archive.last_hash,
            ):
                raise ArchiveFileError(
                    f"{path}: holds events #{manifest.first_seq}..#{manifest.last_seq}, "
                    f"not #{archive.first_seq}..#{archive.last_seq} as recorded."
                )
            fields = json.loads(payload)
            seq = fields["seq"]
            computed = hashlib.sha256(payload).hexdigest()
            yield ChainLink(seq, fields["prev_hash"], computed, computed, where)
    except ArchiveFileError as error:
        yield ChainLink(seq, where=where, problem=str(error))


def audit_chain_links(*, keys: list[NoteKey] | None = None, batch_size: int = 5000) -> Iterator[ChainLink]:
    """Every event of the trail in seq order: sealed archives' files, then the table's rows between and after.

    Run inside one transaction (one snapshot of the table). Archive files are read with ``keys``
    (default: the public half of AUDIT_CHECKPOINT_KEY_FILE).
    """
    folder = archive_config().folder
    archives = list(AuditArchive.objects.filter(state=AuditArchiveState.SEALED).order_by("first_seq"))
    events = AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size)
    pending = next(events, None)
    for archive in archives:
        while pending is not None and pending.seq < archive.first_seq:
            yield ChainLink(pending.seq, pending.prev_hash, event_hash(pending), pending.hash)
            pending = next(events, None)
        yield from _archive_links(archive, folder, keys)
    while pending is not None:
        yield ChainLink(pending.seq, pending.prev_hash, event_hash(pending), pending.hash)
        pending = next(events, None)


@dataclass(frozen=True)
class ArchiveSearch:
    """A search of the archive files: a seq range and the audit page's filters; ``limit`` rows at most."""

    seq_from: int | None = None
    seq_to: int | None = None
    filters: AuditFilters = AuditFilters()
    limit: int = 200

    def as_dict(self) -> dict:
        found = {"seq_from": self.seq_from, "seq_to": self.seq_to, **self.filters.as_dict()}
        return {key: value for key, value in found.items() if value is not None}


def archives_matching(search: ArchiveSearch):
    """The sealed archives whose seq and date ranges meet the search's."""
    archives = AuditArchive.objects.filter(state=AuditArchiveState.SEALED).order_by("first_seq")
    if search.seq_from is not None:
        archives = archives.filter(last_seq__gte=search.seq_from)
    if search.seq_to is not None:
        archives = archives.filter(first_seq__lte=search.seq_to)
    if search.filters.since is not None:
        archives = archives.filter(latest_created_at__gte=search.filters.since)
    if search.filters.until is not None:
        archives = archives.filter(earliest_created_at__lt=search.filters.until)
    return archives


def _matches(fields: dict, search: ArchiveSearch, created_at: dt.datetime) -> bool:
    filters = search.filters
    if search.seq_from is not None and fields["seq"] < search.seq_from:
        return False
    if search.seq_to is not None and fields["seq"] > search.seq_to:
        return False
    if filters.user and fields["actor_name"] != filters.user:
        return False
    if filters.project_id is not None and fields["project_id"] != filters.project_id:
        return False
    if filters.action and not _action_matches(fields["action"], filters.action):
        return False
    if filters.since is not None and created_at < filters.since:
        return False
    return filters.until is None or created_at < filters.until


def _action_matches(action: str, prefix: str) -> bool:
    return action.startswith(prefix) or action in audit_action_aliases(prefix=prefix)


def archive_events_search(search: ArchiveSearch, *, keys: list[NoteKey] | None = None) -> tuple[list[AuditEvent], bool]:
    """The archived events matching ``search`` (unsaved AuditEvent objects), oldest first, and whether
    more matched than ``limit``. Each file read is checked in full (ArchiveFileError if it fails)."""
    keys = archive_verify_keys(keys)
    folder = archive_config().folder
    found: list[AuditEvent] = []
    for archive in archives_matching(search):
        path = folder / archive.file_name
        if file_sha256(path) != archive.sha256:
            raise ArchiveFileError(f"{path}: its sha256 is not the one recorded for archive {archive.pk}.")
        for _, payload in archive_file_read(path, keys):
            fields = json.loads(payload)
            created_at = dt.datetime.fromisoformat(fields["created_at"])
            if len(found) <= search.limit and _matches(fields, search, created_at):
                found.append(archived_event(fields))
        if len(found) > search.limit:
            break  # enough to show, and to say that more matched
    return found[: search.limit], len(found) > search.limit


def archived_event(fields: dict) -> AuditEvent:
    """The AuditEvent a canonical payload describes (hash recomputed), as stored in the table."""
    event = AuditEvent(
        seq=fields["seq"],
        created_at=dt.datetime.fromisoformat(fields["created_at"]),
        actor_id=fields["actor_id"],
        actor_name=fields["actor_name"],
        action=fields["action"],
        target_type=fields["target_type"],
        target_id=fields["target_id"],
        project_id=fields["project_id"],
        client_ip=fields["client_ip"],
        details=fields["details"],
        prev_hash=fields["prev_hash"],
    )
    event.hash = event_hash(event)
    return event
