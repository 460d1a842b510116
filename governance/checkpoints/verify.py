"""Check the audit chain in the database against signed checkpoints read from a sink, in one pass over the events."""

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.db import transaction

from governance.audit import GENESIS_HASH
from governance.checkpoints.note import (
    SIGNATURE_PREFIX,
    Checkpoint,
    CheckpointError,
    NoteKey,
    note_open,
)
from governance.checkpoints.sinks import (
    SYSLOG_NOTE_MARKER,
    FolderSink,
    checkpoint_sink_from_url,
    syslog_notes_find,
)
from governance.selectors.audit_archive import audit_chain_links


@dataclass(frozen=True)
class NoteSource:
    """One note as read: where from (a file, a line of one) and, where the source says, when it was written."""

    label: str
    note: bytes
    at: dt.datetime | None = None


@dataclass(frozen=True)
class Contradiction:
    """A checkpoint (or note) the database contradicts; ``first_seq`` is the first event concerned."""

    label: str
    reason: str
    size: int | None = None
    at: dt.datetime | None = None
    first_seq: int | None = None

    def describe(self) -> str:
        where = self.label + (f", written {self.at:%Y-%m-%d %H:%M:%S} UTC" if self.at else "")
        size = f"checkpoint of size {self.size}" if self.size is not None else "note"
        first = f" First event concerned: #{self.first_seq}." if self.first_seq is not None else ""
        return f"{size} ({where}): {self.reason}{first}"


@dataclass
class CheckpointVerifyReport:
    checked: int = 0
    checkpoints: int = 0
    largest_size: int = 0
    first_broken_seq: int | None = None
    chain_reason: str = ""
    contradictions: list[Contradiction] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None and not self.contradictions

    @property
    def first(self) -> Contradiction | None:
        """The contradiction of the smallest checkpoint (notes that did not open come first)."""
        if not self.contradictions:
            return None
        return min(self.contradictions, key=lambda c: -1 if c.size is None else c.size)


def _concatenated_notes(path: Path, text: str) -> list[NoteSource]:
    """Notes written one after the other: a note ends where a line after its signature lines is not one."""
    notes, lines, start, signing = [], [], 1, False
    for number, line in enumerate(text.splitlines(), start=1):
        if signing and not line.startswith(SIGNATURE_PREFIX):
            notes.append(NoteSource(f"{path}:{start}", ("\n".join(lines) + "\n").encode()))
            lines, signing = [], False
        if not lines and not line:
            continue
        if not lines:
            start = number
        lines.append(line)
        signing = signing or (line.startswith(SIGNATURE_PREFIX) and len(lines) > 1 and "" in lines)
    if lines:
        notes.append(NoteSource(f"{path}:{start}", ("\n".join(lines) + "\n").encode()))
    return notes


def checkpoint_sources_read(location: str) -> list[NoteSource]:
    """The notes at ``location``: a folder sink (path or file:// URL), a file of notes (a syslog receiver's
    output, or notes one after another), or another sink's URL that can be read back."""
    parts = urlsplit(location)
    if parts.scheme not in ("", "file"):
        sink = checkpoint_sink_from_url(location)
        return [NoteSource(label, note) for label, note in sink.read_all_named()]
    path = Path(parts.path if parts.scheme == "file" else location)
    if path.is_dir():
        sink = FolderSink(f"file://{path.resolve()}")
        return [
            NoteSource(label, note, dt.datetime.fromtimestamp(Path(label).stat().st_mtime, dt.UTC))
            for label, note in sink.read_all_named()
        ]
    if not path.is_file():
        raise CheckpointError(f"{location}: no such folder or file of checkpoints.")
    text = path.read_text(encoding="utf-8", errors="replace")
    if SYSLOG_NOTE_MARKER in text:
        return [NoteSource(f"{path} (message {n})", note) for n, note in enumerate(syslog_notes_find(text), start=1)]
    return _concatenated_notes(path, text)


def _opened(sources: Iterable[NoteSource], keys: list[NoteKey], origin: str | None, report) -> list:
    opened = []
    for source in sources:
        try:
            checkpoint, _ = note_open(source.note, keys)
        except CheckpointError as error:
            report.contradictions.append(Contradiction(source.label, f"not a trusted checkpoint: {error}", at=source.at))
            continue
        opened.append((source, checkpoint))
    if origin is None and opened:
        origin = Counter(checkpoint.origin for _, checkpoint in opened).most_common(1)[0][0]
    kept = []
    for source, checkpoint in opened:
        if checkpoint.origin != origin:
            reason = f"signed for origin {checkpoint.origin!r}, not {origin!r}."
            report.contradictions.append(Contradiction(source.label, reason, checkpoint.size, source.at))
        else:
            kept.append((source, checkpoint))
    return kept


def audit_checkpoints_verify(
    *, sources: Iterable[NoteSource], keys: list[NoteKey], origin: str | None = None, batch_size: int = 5000
) -> CheckpointVerifyReport:
    """Verify every note's signature, then walk the chain once, comparing its head at each checkpoint's size.

    Read the notes before calling: the walk's snapshot is then newer than any checkpoint, so a
    checkpoint larger than the table is a cut tail, never a race. The walk spans the sealed
    archive files and the table (audit_chain_links); ``keys`` check the archives' signatures too. Reports the chain's own first
    break as ``audit_chain_verify`` does, and every checkpoint it contradicts.
    """
    report = CheckpointVerifyReport()
    opened = _opened(sources, keys, origin, report)
    report.checkpoints = len(opened)
    if not opened and not report.contradictions:
        report.contradictions.append(Contradiction("(source)", "holds no checkpoint: nothing to verify against."))
    wanted: dict[int, list[tuple[NoteSource, Checkpoint]]] = {}
    for source, checkpoint in opened:
        wanted.setdefault(checkpoint.size, []).append((source, checkpoint))
    for size, entries in wanted.items():
        if len({checkpoint.head_hash for _, checkpoint in entries}) > 1:
            labels = ", ".join(source.label for source, _ in entries)
            report.contradictions.append(
                Contradiction(labels, "split view: these notes sign different heads for one size.", size)
            )
    report.largest_size = max(wanted, default=0)

    def _break(seq: int, reason: str) -> None:
        if report.first_broken_seq is None:
            report.first_broken_seq, report.chain_reason = seq, reason

    head, expected, last_good = GENESIS_HASH, 1, 0
    with transaction.atomic():
        for event in audit_chain_links(keys=keys, batch_size=batch_size):
            if event.problem:
                # An archive file that is missing, altered or not the one recorded: its events are not there.
                _break(event.seq, event.problem)
                continue
            if event.seq < expected:
                _break(event.seq, f"event {event.seq} appears twice or out of order ({event.where or 'table'})")
                continue
            if event.seq != expected:
                _break(expected, f"event {expected} is missing")
                for size in range(expected, event.seq):
                    for source, checkpoint in wanted.pop(size, []):
                        report.contradictions.append(
                            Contradiction(source.label, f"event #{size} is missing.", size, source.at, size)
                        )
            if event.prev_hash != head:
                _break(event.seq, "prev_hash does not match the previous event")
            head = event.hash
            if head != event.stored_hash:
                _break(event.seq, "content does not match its hash")
            for source, checkpoint in wanted.pop(event.seq, []):
                if report.first_broken_seq is not None:
                    # A broken link before the size: the head may match again after it (each hash
                    # covers only the stored prev_hash), yet the signed chain is not this one.
                    reason = (
                        f"the chain is broken at event #{report.first_broken_seq} ({report.chain_reason}), "
                        "before this checkpoint's size: what it signed cannot be reached."
                    )
                    first_seq = report.first_broken_seq
                elif checkpoint.head_hash == head:
                    last_good = max(last_good, event.seq)
                    continue
                else:
                    reason = (
                        f"the chain's head at event #{event.seq} is {head[:16]}…, the checkpoint signed "
                        f"{checkpoint.head_hash[:16]}…: events {last_good + 1}..{event.seq} were rewritten, "
                        "reordered or replaced since it was signed."
                    )
                    first_seq = last_good + 1
                report.contradictions.append(Contradiction(source.label, reason, checkpoint.size, source.at, first_seq))
            expected = event.seq + 1
            report.checked += 1
    last_seq = expected - 1
    for size in sorted(wanted):
        if size == 0:
            continue
        for source, checkpoint in wanted[size]:
            reason = (
                f"the table ends at event #{last_seq}, but this checkpoint signed {size} events: a cut tail, "
                "or a database restored from an older backup."
            )
            report.contradictions.append(Contradiction(source.label, reason, size, source.at, last_seq + 1))
    return report
