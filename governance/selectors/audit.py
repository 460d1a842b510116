"""Reads for the audit trail: filtered audit events by keyset pages, CSV rows, verification runs."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from django.db import connection
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
        events = events.filter(_action_matches(filters.action))
    if filters.since is not None:
        events = events.filter(created_at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(created_at__lt=filters.until)
    return events


def _action_matches(prefix: str) -> Q:
    # The ORM escapes % and _ in the prefix; it is matched literally.
    matches = Q(action__startswith=prefix)
    # Events keep the name they were stored under: a renamed action is found by either name.
    if aliases := audit_action_aliases(prefix=prefix):
        matches |= Q(action__in=aliases)
    return matches


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    # Pass as ``before`` to get the next (older) page; None on the last page.
    next_before: int | None


def audit_event_page(
    *, filters: AuditFilters, before: int | None = None, size: int = PAGE_SIZE
) -> AuditPage:
    """One page of events, newest first, older than the event ``before`` (keyset, no OFFSET).

    Newest first is by seq; with a date range, by time (seq breaking ties), which is the same
    order but for events appended while another waited for the chain lock. Both orders are what
    one index can walk from the top and stop after a page, so a page costs the same at 100,000
    and at 10,000,000 events (bench/audit_scale.py): ordered by seq, a month in the middle of
    five years made PostgreSQL walk the trail backwards past 4.9 million newer events (9.5 s at
    10M events against 7 ms at 100,000).
    """
    rows = list(audit_event_page_query(filters=filters, before=before, limit=size + 1))
    has_more = len(rows) > size
    rows = rows[:size]
    return AuditPage(events=rows, next_before=rows[-1].seq if has_more else None)


def audit_event_page_query(*, filters: AuditFilters, before: int | None, limit: int) -> QuerySet[AuditEvent]:
    """The statement behind audit_event_page: at most ``limit`` events, newest first."""
    by_time = filters.since is not None or filters.until is not None
    order = ("-created_at", "-seq") if by_time else ("-seq",)
    events = audit_events_filter(filters=replace(filters, action=""))
    if before is not None:
        events = events.filter(_older_than(before, by_time=by_time))
    if filters.action and connection.vendor == "postgresql":
        return _page_by_action(events, prefix=filters.action, order=order, limit=limit)
    if filters.action:
        events = events.filter(_action_matches(filters.action))
    return events.order_by(*order)[:limit]


def _older_than(before: int, *, by_time: bool) -> Q:
    if not by_time:
        return Q(seq__lt=before)
    at = AuditEvent.objects.filter(seq=before).values_list("created_at", flat=True).first()
    # A position no event holds (a hand-made link) still pages by seq.
    if at is None:
        return Q(seq__lt=before)
    return Q(created_at__lt=at) | Q(created_at=at, seq__lt=before)


def _page_by_action(events: QuerySet[AuditEvent], *, prefix: str, order: tuple, limit: int) -> QuerySet[AuditEvent]:
    """The newest ``limit`` events of the stored actions matching ``prefix``, one index walk per action.

    ``action LIKE 'prefix%' ORDER BY seq DESC`` cannot be walked in seq order through the
    (action, seq) index, so PostgreSQL either reads the trail backwards until it has a page
    (fast for a common action) or reads every match and sorts (a rare one: 0.4 % of 10M events
    is 40,000 rows). A UNION ALL of one ordered walk per stored action name, merged, reads at
    most a page from each.
    """
    names = [name for name in _stored_actions() if name.startswith(prefix)]
    names += [name for name in audit_action_aliases(prefix=prefix) if name not in names]
    if not names:
        return events.none()
    branches = [events.filter(action=name).order_by(*order)[:limit] for name in names]
    if len(branches) == 1:
        return branches[0]
    return branches[0].union(*branches[1:], all=True).order_by(*order)[:limit]


def _stored_actions() -> list[str]:
    """Every distinct action name in the trail, by a skip scan of the action index (one probe per
    name, about a hundred, whatever the trail's length); names stored by earlier releases too."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    # ~<~ / ~>~ are the byte-wise operators of the index's varchar_pattern_ops class.
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE found(action) AS ("
            f" (SELECT action FROM {table} ORDER BY action USING ~<~ LIMIT 1)"
            f" UNION ALL SELECT (SELECT e.action FROM {table} AS e WHERE e.action ~>~ found.action"
            f" ORDER BY e.action USING ~<~ LIMIT 1) FROM found WHERE found.action IS NOT NULL)"
            f" SELECT action FROM found WHERE action IS NOT NULL"
        )
        return [row[0] for row in cursor.fetchall()]


def audit_events_csv_lines(events: QuerySet[AuditEvent], *, by_time: bool = False) -> Iterator[bytes]:
    """The events as CSV, by seq (``by_time``: by time, then seq, as a date-filtered page lists
    them), one chunk of rows at a time; cells a spreadsheet would run are neutralised."""
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
        for event in _in_chunks(events, by_time=by_time)
    )
    return csv_stream(CSV_COLUMNS, rows, rows_per_chunk=EXPORT_CHUNK)


def _in_chunks(events: QuerySet[AuditEvent], *, by_time: bool) -> Iterator[AuditEvent]:
    """``events`` in seq (or time, seq) order, one keyset query of EXPORT_CHUNK rows at a time.

    Not ``iterator()``: outside a transaction Django's server-side cursor is declared WITH HOLD,
    and PostgreSQL then runs the whole query to its end before the first row is sent (66 s before
    the first byte of an unfiltered export at 10M events, in a temporary file as large as the
    trail). The trail is append-only and an export stops below its own event's seq, every smaller
    seq being committed by then, so the chunks together are exactly the rows one query would give.
    A date range goes in time order, down the created_at index: in seq order PostgreSQL walked
    from seq 1 past every older event before the range's first (8.5 s at 10M events).
    """
    if not by_time:
        events, last_seq = events.order_by("seq"), 0
        while chunk := list(events.filter(seq__gt=last_seq)[:EXPORT_CHUNK]):
            yield from chunk
            last_seq = chunk[-1].seq
        return
    events = events.order_by("created_at", "seq")
    chunk = list(events[:EXPORT_CHUNK])
    while chunk:
        yield from chunk
        at, seq = chunk[-1].created_at, chunk[-1].seq
        chunk = list(events.filter(Q(created_at__gt=at) | Q(created_at=at, seq__gt=seq))[:EXPORT_CHUNK])


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
