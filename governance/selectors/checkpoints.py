"""Reads for signed audit checkpoints: the configuration, the signing key's public half, and the latest checkpoints."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max, Q

from governance.checkpoints.note import CheckpointError, NoteKey, note_key_from_private_pem
from governance.checkpoints.sinks import CheckpointSink, checkpoint_sinks_from_urls
from governance.models import AuditCheckpoint, AuditCheckpointDelivery


@dataclass(frozen=True)
class CheckpointConfig:
    key_file: str | None
    origin: str
    sinks: tuple[str, ...]
    every_events: int
    every_seconds: int

    @property
    def enabled(self) -> bool:
        return bool(self.key_file)


def checkpoint_config() -> CheckpointConfig:
    return CheckpointConfig(
        key_file=settings.AUDIT_CHECKPOINT_KEY_FILE,
        origin=settings.AUDIT_CHECKPOINT_ORIGIN,
        sinks=tuple(settings.AUDIT_CHECKPOINT_SINKS),
        every_events=settings.AUDIT_CHECKPOINT_EVERY_EVENTS,
        every_seconds=settings.AUDIT_CHECKPOINT_EVERY_SECONDS,
    )


def checkpoint_signing_key(config: CheckpointConfig) -> NoteKey:
    """The key the checkpoints are signed with, named by the origin; read from its file at each use."""
    if not config.key_file:
        raise CheckpointError("checkpoints are off: AUDIT_CHECKPOINT_KEY_FILE is not set.")
    try:
        with open(config.key_file, "rb") as stream:
            pem = stream.read()
    except OSError as error:
        raise CheckpointError(f"cannot read AUDIT_CHECKPOINT_KEY_FILE {config.key_file!r}: {error}") from error
    return note_key_from_private_pem(config.origin, pem)


def checkpoint_sinks(config: CheckpointConfig) -> list[CheckpointSink]:
    return checkpoint_sinks_from_urls(config.sinks)


@dataclass(frozen=True)
class SinkStatus:
    name: str
    delivered_size: int | None
    pending: int
    last_error: str


def checkpoint_sink_statuses(*, names: list[str]) -> list[SinkStatus]:
    """For each sink: the largest checkpoint it took, how many wait for it, and its last failure."""
    rows = {
        row["sink"]: row
        for row in AuditCheckpointDelivery.objects.filter(sink__in=names)
        .values("sink")
        .annotate(
            delivered_size=Max("checkpoint__size", filter=Q(delivered_at__isnull=False)),
            pending=Count("id", filter=Q(delivered_at__isnull=True)),
        )
    }
    errors = _last_errors(names)
    return [
        SinkStatus(
            name=name,
            delivered_size=rows.get(name, {}).get("delivered_size"),
            pending=rows.get(name, {}).get("pending", 0),
            last_error=errors.get(name, ""),
        )
        for name in names
    ]


def _last_errors(names: list[str]) -> dict[str, str]:
    """A query a sink: there are a handful of sinks, and each query reads one index range."""
    errors = {}
    for name in names:
        row = (
            AuditCheckpointDelivery.objects.filter(sink=name, delivered_at__isnull=True)
            .exclude(error="")
            .order_by("-last_attempt_at")
            .values_list("error", flat=True)
            .first()
        )
        if row:
            errors[name] = row
    return errors


def checkpoint_list_latest(*, limit: int = 20):
    """The newest checkpoints with their deliveries."""
    return AuditCheckpoint.objects.order_by("-size").prefetch_related("deliveries")[:limit]


def checkpoint_latest() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-size").first()


@dataclass(frozen=True)
class CheckpointLag:
    """Events not covered by the last checkpoint, and whether signing looks stalled."""

    uncovered: int
    stalled: bool


def checkpoint_lag(*, config: CheckpointConfig, now) -> CheckpointLag:
    """Stalled: the trail grew but no checkpoint came for three intervals (beat stopped, or signing refused)."""
    from governance.models import AuditEvent

    last = checkpoint_latest()
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    uncovered = head - last.size - 1 if last else head
    if not config.enabled or uncovered <= 0:
        return CheckpointLag(max(uncovered, 0), False)
    since = (now - last.created_at).total_seconds() if last else None
    return CheckpointLag(uncovered, since is None or since > 3 * config.every_seconds)
