"""Appending to the audit chain: one round trip on PostgreSQL, the same chain whichever way it is written."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from governance import audit
from governance.audit import GENESIS_HASH, AuditAction, audit_chain_verify, audit_record, event_hash
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db


def _record(actor, **details):
    with transaction.atomic():
        return audit_record(actor=actor, action=AuditAction.ITEM_READ, details=details)


def test_each_event_follows_the_last_one_and_carries_the_hash_of_its_content(annotator):
    first = _record(annotator, n=1)
    second = _record(annotator, n=2, text="naïve — ünïcode")
    stored = AuditEvent.objects.get(seq=second.seq)
    assert second.seq == first.seq + 1 and second.prev_hash == first.hash
    assert stored.hash == second.hash == event_hash(stored)
    assert audit_chain_verify().ok


def test_the_first_event_of_an_empty_chain_follows_the_genesis_hash(db):
    assert not AuditEvent.objects.exists()
    event = _record("tests")
    assert event.seq == 1 and event.prev_hash == GENESIS_HASH and audit_chain_verify().ok


@pytest.mark.parametrize("details", [{"n": audit._SEQ_MARK}, {"note": audit._PREV_MARK}])
def test_content_that_contains_a_stand_in_is_still_chained_correctly(annotator, details):
    _record(annotator, n=0)
    event = _record(annotator, **details)
    assert AuditEvent.objects.get(seq=event.seq).details == details
    assert audit_chain_verify().ok


def test_an_append_locks_reads_and_inserts_in_one_statement_on_postgresql_and_two_on_sqlite(annotator):
    _record(annotator, n=0)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        audit_record(actor=annotator, action=AuditAction.ITEM_READ, details={"n": 1})
    statements = [query["sql"] for query in queries if "SAVEPOINT" not in query["sql"]]
    if connection.vendor == "postgresql":
        assert len(statements) == 1 and "pg_advisory_xact_lock" in statements[0]
    else:  # SQLite serialises writers by its IMMEDIATE transactions: read the head, then insert
        assert len(statements) == 2 and statements[1].startswith("INSERT")
    assert audit_chain_verify().ok
