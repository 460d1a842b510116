"""The auditor pages' scale-proof reads (bench/audit_scale.py) give exactly the events the plain filters give.

An action prefix is paged as one ordered walk per stored action name (PostgreSQL), a date range in
time order, and the CSV export in keyset chunks; each is checked against the plain queryset.
"""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.urls import reverse

from governance.models import AuditEvent
from governance.selectors import audit as selectors
from governance.selectors.audit import AuditFilters, audit_event_page, audit_events_filter
from tests.annotation.views.support import client_for
from tests.governance.test_auditor_pages import events_append

pytestmark = pytest.mark.django_db


def _all_pages(filters: AuditFilters, size: int) -> list[AuditEvent]:
    seen, before = [], None
    while True:
        page = audit_event_page(filters=filters, before=before, size=size)
        seen += page.events
        if page.next_before is None:
            return seen
        before = page.next_before


def test_an_action_prefix_pages_through_every_stored_name_and_renamed_one_newest_first_without_gaps():
    events_append(7, action="item.read")
    events_append(3, action="auth.login")
    events_append(5, action="items.import")  # stored by an earlier release, now item.import
    events_append(4, action="item.gold_set")
    events_append(2, action="import.request")  # the new name of items.import.request
    events_append(6, action="item.read")
    expected = list(audit_events_filter(filters=AuditFilters(action="item")).order_by("-seq"))
    assert {event.action for event in expected} == {"item.read", "items.import", "item.gold_set", "import.request"}
    assert [e.seq for e in _all_pages(AuditFilters(action="item"), size=4)] == [e.seq for e in expected]


def test_an_action_prefix_no_stored_event_has_gives_an_empty_page():
    events_append(3, action="item.read")
    page = audit_event_page(filters=AuditFilters(action="export."))
    assert page.events == [] and page.next_before is None


def test_a_date_range_pages_by_time_even_where_seq_order_differs_and_misses_nothing():
    start = dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC)
    events_append(3, at=start - dt.timedelta(days=3))
    inside = events_append(9, at=start, step=dt.timedelta(minutes=5))
    # Appended later but stamped earlier (it waited for the chain lock), and two at one instant.
    late = events_append(1, at=start + dt.timedelta(minutes=2))
    twins = events_append(2, at=start + dt.timedelta(minutes=10), step=dt.timedelta(0))
    events_append(2, at=start + dt.timedelta(days=3))
    filters = AuditFilters(since=start, until=start + dt.timedelta(days=1))
    seen = _all_pages(filters, size=4)
    expected = sorted(inside + late + twins, key=lambda e: (e.created_at, e.seq), reverse=True)
    assert [e.seq for e in seen] == [e.seq for e in expected]


def test_a_hand_made_position_in_a_date_range_still_pages_by_seq():
    start = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    inside = events_append(5, at=start)
    filters = AuditFilters(since=start, until=start + dt.timedelta(days=1))
    page = audit_event_page(filters=filters, before=10_000_000)
    assert [e.seq for e in page.events] == [e.seq for e in reversed(inside)]


def test_the_export_in_keyset_chunks_holds_every_event_once_in_seq_order(auditor, monkeypatch):
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 7)
    events_append(30, action="annotation.submit")
    events_append(5, action="auth.login")
    events_append(20, action="annotation.submit")
    expected = list(AuditEvent.objects.filter(action="annotation.submit").values_list("seq", flat=True))
    response = client_for(auditor).get(reverse("governance:audit-export"), {"action": "annotation."})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(row[0]) for row in rows[1:]] == expected


def test_a_date_range_export_in_keyset_chunks_goes_in_time_order_and_holds_each_event_once(auditor, monkeypatch):
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 3)
    start = dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC)
    events_append(2, at=start - dt.timedelta(days=3))
    inside = events_append(8, at=start, step=dt.timedelta(minutes=5))
    late = events_append(1, at=start + dt.timedelta(minutes=2))
    twins = events_append(4, at=start + dt.timedelta(minutes=30), step=dt.timedelta(0))
    events_append(2, at=start + dt.timedelta(days=3))
    response = client_for(auditor).get(reverse("governance:audit-export"), {"date_from": "2024-06-01", "date_to": "2024-06-01"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = sorted(inside + late + twins, key=lambda e: (e.created_at, e.seq))
    assert [int(row[0]) for row in rows[1:]] == [e.seq for e in expected]


@pytest.mark.parametrize("field", ["user", "project"])
def test_a_user_or_project_with_a_date_range_pages_by_time_within_it_and_misses_nothing(field):
    start = dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC)
    mine = {"actor_name": "ana", "project_id": 7}
    other = {"actor_name": "bob", "project_id": 8}
    events_append(2, at=start - dt.timedelta(days=3), **mine)
    inside = events_append(5, at=start, step=dt.timedelta(minutes=5), **mine)
    events_append(6, at=start, step=dt.timedelta(minutes=3), **other)
    late = events_append(1, at=start + dt.timedelta(minutes=2), **mine)  # stamped before it was appended
    twins = events_append(3, at=start + dt.timedelta(minutes=40), step=dt.timedelta(0), **mine)
    events_append(2, at=start + dt.timedelta(days=3), **mine)
    since, until = start, start + dt.timedelta(days=1)
    filters = AuditFilters(user="ana", since=since, until=until) if field == "user" else AuditFilters(project_id=7, since=since, until=until)
    expected = sorted(inside + late + twins, key=lambda e: (e.created_at, e.seq), reverse=True)
    assert [e.seq for e in _all_pages(filters, size=2)] == [e.seq for e in expected]


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (AuditFilters(user="ana", since=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)), "audit_actor_name_time_idx"),
        (AuditFilters(project_id=7, until=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)), "audit_project_time_idx"),
    ],
)
def test_postgresql_reads_a_user_or_project_with_a_date_range_down_its_own_index_without_sorting(filters, index):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    start = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    for name, project in (("ana", 7), ("bob", 8), ("eve", 9)):
        events_append(300, at=start, step=dt.timedelta(minutes=7), actor_name=name, project_id=project)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE governance_auditevent")
    page = selectors.audit_event_page_query(filters=filters, before=None, limit=selectors.PAGE_SIZE + 1)
    plan = page.explain()
    assert f"Index Scan Backward using {index}" in plan and "Sort" not in plan, plan
