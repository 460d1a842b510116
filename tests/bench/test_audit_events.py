"""The audit-scale bench's history (bench/_audit_events.py, bench/_audit_fill.py) is a chain the app accepts.

The 10-million-event fill is not part of the suite; these check, on 1,000 events, that the text the
generator hashes is governance.audit.canonical_payload and that the COPY-loaded trail verifies,
with the app's own appends continuing it.
"""

from datetime import UTC, datetime

import pytest
from django.db import connection

from bench._audit_events import TrailSpec, payload_of_line, trail
from governance.audit import (
    AuditAction,
    audit_chain_verify,
    audit_record,
    canonical_payload,
    event_hash,
)
from governance.models import AuditEvent

END = datetime(2026, 11, 1, tzinfo=UTC)


def test_each_generated_event_hashes_the_apps_canonical_payload_and_links_to_the_one_before():
    previous = "0" * 64
    actions = set()
    for line, digest in trail(TrailSpec(events=1000, end=END)):
        fields = payload_of_line(line)
        stored = fields.pop("hash")
        event = AuditEvent(**fields, hash="")
        assert stored == digest == event_hash(event), canonical_payload(event)
        assert event.prev_hash == previous
        previous = digest
        actions.add(event.action)
    assert {"item.read", "annotation.submit", "auth.login"} <= actions


def test_dates_run_in_seq_order_over_the_years_before_the_end():
    events = [payload_of_line(line) for line, _ in trail(TrailSpec(events=1000, end=END, years=5))]
    dates = [event["created_at"] for event in events]
    assert dates == sorted(dates)
    assert dates[0].year == 2021 and dates[-1] < END


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bench loads with PostgreSQL's COPY")
def test_a_copy_loaded_history_of_1000_events_verifies_and_the_apps_appends_continue_its_chain():
    from bench._audit_fill import history_load

    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'governance_auditevent'")
            return {row[0] for row in cursor.fetchall()}

    before = indexes()
    timings = history_load(events=1000, end=END)
    report = audit_chain_verify()
    assert report.ok and report.checked == 1000, report
    assert indexes() == before, "the fill builds again every index it dropped for the COPY"
    from django.db import transaction

    with transaction.atomic():
        appended = audit_record(actor="system", action=AuditAction.AUTH_LOGOUT)
    assert appended.seq == 1001 and appended.prev_hash == timings["head_hash"]
    report = audit_chain_verify()
    assert report.ok and report.checked == 1001
