"""Reads for the audit trail: filtered audit events by keyset pages, CSV rows, verification runs."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from common.streaming import csv_stream
from governance.audit import audit_action_aliases
from governance.models import AuditEvent, AuditVerification

PAGE_SIZE = 100
EXPORT_CHUNK = 2000
CSV_COLUMNS = (
    "seq",
    "created_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "project_id",
    "client_ip",
    "details",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class AuditFilters:
    """What the auditor asked for; empty fields do not filter. ``until`` is exclusive."""

    user: str = ""
    project_id: int | None = None
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def as_dict(self) -> dict:
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(self).items()
            if value not in (None, "")
        }


def audit_events_filter(*, filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if filters.user:
        events = events.filter(actor_name=filters.user)
    if filters.project_id is not None:
        events = events.filter(project_id=filters.project_id)
    if filters.action:
        # The ORM escapes % and _ in the prefix; it is matched literally.
        matches = Q(action__startswith=filters.action)
        # Events keep the name they were stored under: a renamed action is found by either name.
        if aliases := audit_action_aliases(prefix=filters.action):
            matches |= Q(action__in=aliases)
        events = events.filter(matches)
    if filters.since is not None:
        events = events.filter(created_at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(created_at__lt=filters.until)
    return events


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    # Pass as ``before`` to get the next (older) page; None on the last page.
    next_before: int | None


def audit_event_page(
    *, filters: AuditFilters, before: int | None = None, size: int = PAGE_SIZE
) -> AuditPage:
    """One page of events, newest first, strictly older than ``before`` (keyset on seq, no OFFSET)."""
    events = audit_events_filter(filters=filters)
    if before is not None:
        events = events.filter(seq__lt=before)
    rows = list(events.order_by("-seq")[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    return AuditPage(events=rows, next_before=rows[-1].seq if has_more else None)


def audit_events_csv_lines(events: QuerySet[AuditEvent]) -> Iterator[bytes]:
    """The events as CSV, one chunk of rows at a time; cells a spreadsheet would run are neutralised."""
    rows = (
        [
            event.seq,
            event.created_at.isoformat(),
            event.actor_name,
            event.action,
            event.target_type,
            event.target_id,
            event.project_id,
            event.client_ip,
            json.dumps(event.details, ensure_ascii=False, sort_keys=True),
            event.prev_hash,
            event.hash,
        ]
        for event in events.iterator(chunk_size=EXPORT_CHUNK)
    )
    return csv_stream(CSV_COLUMNS, rows, rows_per_chunk=EXPORT_CHUNK)


def project_names(*, project_ids: Iterable[int]) -> dict[int, str]:
    """Names of the projects that still exist; events keep ids of deleted projects too."""
    from projects.models import Project

    ids = {pk for pk in project_ids if pk is not None}
    return dict(Project.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def audit_verification_latest() -> AuditVerification | None:
    return AuditVerification.objects.select_related("requested_by").order_by("-id").first()


def audit_verification_get(*, verification_id: int) -> AuditVerification:
    """The verification, or Http404; any auditor may follow any run."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        AuditVerification.objects.select_related("requested_by"), pk=verification_id
    )
