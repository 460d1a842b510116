"""``audit_verify --witness-vkey``: every checkpoint read from a sink must carry a valid cosignature by each named witness."""

from collections.abc import Iterable

from governance.checkpoints.cosign import CosignerKey, cosigner_key_from_vkey, note_cosignature_time
from governance.checkpoints.note import CheckpointError, note_append_signatures, note_split
from governance.checkpoints.verify import Contradiction, NoteSource
from governance.models import AuditCheckpoint


def witness_keys_from_vkeys(vkeys: Iterable[str]) -> list[CosignerKey]:
    """The witnesses named on the command line; CheckpointError naming a vkey that is not a witness's."""
    return [cosigner_key_from_vkey(vkey) for vkey in vkeys]


def _stored_cosignatures(sizes: set[int]) -> dict[tuple[int, bytes], list[str]]:
    """Cosignature lines the app stored per (size, body): a sink written before the witness answered lacks them.

    Taking them from the database is safe: a cosignature only verifies over the exact body the
    log key signed, so a database writer can drop one but not forge or move one.
    """
    stored: dict[tuple[int, bytes], list[str]] = {}
    for row in AuditCheckpoint.objects.filter(size__in=sizes).prefetch_related("deliveries"):
        try:
            body, lines = note_split(row.note.encode())
        except CheckpointError:
            continue
        lines = [*lines, *(line for d in row.deliveries.all() for line in d.cosignatures)]
        stored[(row.size, body)] = lines
    return stored


def checkpoint_cosignatures_verify(
    *, sources: Iterable[NoteSource], witness_keys: list[CosignerKey]
) -> list[Contradiction]:
    """Contradictions for the checkpoints that lack a valid cosignature by one of ``witness_keys`` (none without keys).

    Notes that do not parse are left to the signature check, which reports them already.
    """
    if not witness_keys:
        return []
    parsed = []
    for source in sources:
        try:
            body, _ = note_split(source.note)
            size = int(body.split(b"\n")[1])
        except (CheckpointError, IndexError, ValueError):
            continue
        parsed.append((source, body, size))
    stored = _stored_cosignatures({size for _, _, size in parsed})
    contradictions = []
    for source, body, size in parsed:
        note = source.note
        extra = stored.get((size, body))
        if extra:
            note = note_append_signatures(note, extra)
        for key in witness_keys:
            try:
                cosigned_at = note_cosignature_time(note, key)
            except CheckpointError as error:
                contradictions.append(
                    Contradiction(source.label, f"bad cosignature: {error}", size, source.at)
                )
                continue
            if cosigned_at is None:
                reason = f"carries no cosignature by witness {key.name!r} (the sink's copy nor the app's record)."
                contradictions.append(Contradiction(source.label, reason, size, source.at))
    return contradictions
