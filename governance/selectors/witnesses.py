"""Reads for the witnesses section of the checkpoints page: per configured witness, its last cosignature and its last refusal."""

import datetime as dt
import struct
from dataclasses import dataclass

from governance.checkpoints.cosign import cosignature_verify, cosigner_key_from_vkey
from governance.checkpoints.note import CheckpointError, note_signature_parse, note_split
from governance.checkpoints.witness_sink import WitnessSink
from governance.models import AuditCheckpointDelivery
from governance.selectors.checkpoints import CheckpointConfig, checkpoint_sink_statuses


@dataclass(frozen=True)
class WitnessStatus:
    """One witness sink: the largest checkpoint it cosigned (when, by whom) and what it last refused."""

    name: str
    pinned_vkey: str
    cosigned_size: int | None
    cosigned_at: dt.datetime | None
    cosigner: str
    # True/False when the URL pins the witness key; None when nothing says which key to trust.
    verified: bool | None
    pending: int
    last_error: str

    @property
    def alarm(self) -> bool:
        """The witness refused with an ALARM: a split view, a rollback or events that do not chain."""
        return "ALARM" in self.last_error


def _cosignature_time(line: str) -> tuple[str, dt.datetime | None]:
    try:
        signature = note_signature_parse(line)
        (seconds,) = struct.unpack(">Q", signature.signature[:8])
        return signature.name, dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (CheckpointError, struct.error, OverflowError, ValueError, OSError):
        return "", None


def witness_statuses(*, config: CheckpointConfig) -> list[WitnessStatus]:
    """The http(s) sinks of the configuration, in its order, with their newest cosignature."""
    sinks = []
    for url in config.sinks:
        if url.split(":", 1)[0].lower() in ("http", "https"):
            try:
                sinks.append((WitnessSink(url), url.partition("#")[2]))
            except CheckpointError:
                continue  # the checkpoints page reports bad sink URLs already
    statuses = {s.name: s for s in checkpoint_sink_statuses(names=[sink.name for sink, _ in sinks])}
    result = []
    for sink, vkey in sinks:
        delivery = (
            AuditCheckpointDelivery.objects.filter(sink=sink.name, delivered_at__isnull=False)
            .exclude(cosignatures=[])
            .select_related("checkpoint")
            .order_by("-checkpoint__size")
            .first()
        )
        cosigner, cosigned_at, verified = "", None, None
        if delivery is not None:
            line = delivery.cosignatures[0]
            cosigner, cosigned_at = _cosignature_time(line)
            if vkey:
                try:
                    body, _ = note_split(delivery.checkpoint.note.encode())
                    cosignature_verify(body, line, cosigner_key_from_vkey(vkey))
                    verified = True
                except CheckpointError:
                    verified = False
        status = statuses[sink.name]
        result.append(
            WitnessStatus(
                name=sink.name,
                pinned_vkey=vkey,
                cosigned_size=delivery.checkpoint.size if delivery else None,
                cosigned_at=cosigned_at,
                cosigner=cosigner,
                verified=verified,
                pending=status.pending,
                last_error=status.last_error,
            )
        )
    return result
