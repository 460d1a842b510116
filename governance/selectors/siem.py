"""The SIEM sinks as the auditor pages show them: each configured sink's cursor and its lag behind the trail."""

from dataclasses import dataclass

from django.conf import settings

from governance.models import AuditEvent, SiemCursor


@dataclass(frozen=True)
class SiemSinkState:
    sink: str
    # None until a shipper has run for this sink once.
    cursor: SiemCursor | None
    head_seq: int

    @property
    def last_seq(self) -> int:
        return self.cursor.last_seq if self.cursor else 0

    @property
    def lag(self) -> int:
        return max(0, self.head_seq - self.last_seq)

    @property
    def failing(self) -> bool:
        return bool(self.cursor and self.cursor.failures)


def audit_head_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def siem_sink_states() -> list[SiemSinkState]:
    """Every sink of AUDIT_SIEM_SINKS, in configured order (cursors of sinks no longer configured are left out)."""
    cursors = SiemCursor.objects.in_bulk(settings.AUDIT_SIEM_SINKS, field_name="sink")
    head = audit_head_seq()
    return [SiemSinkState(sink=sink, cursor=cursors.get(sink), head_seq=head) for sink in settings.AUDIT_SIEM_SINKS]


def siem_shipped_through() -> int | None:
    """The last seq every configured sink has: events up to it may leave the table (an archive);
    None when no sink is configured."""
    if not settings.AUDIT_SIEM_SINKS:
        return None
    return min(state.last_seq for state in siem_sink_states())
