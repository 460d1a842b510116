import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from annotation.services.annotations import annotation_submit
from annotation.services.queue import queue_next_item
from governance.audit import GENESIS_HASH, AuditAction, audit_chain_verify, audit_record
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db


def _raw(sql: str, params=()):
    """Tamper the way an attacker with full database rights would: around the ORM and the triggers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A superuser can switch triggers off; the hash chain must catch what follows.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(sql, params)
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            # SQLite's DDL is transactional: the trigger comes back when the test rolls back.
            cursor.execute("DROP TRIGGER IF EXISTS governance_audit_no_update")
            cursor.execute(sql, params)


def test_the_database_refuses_to_update_audit_events(project):
    _assert_refused(project, "UPDATE governance_auditevent SET action = 'rewritten'")


def test_deleting_audit_events_is_refused_on_postgresql_and_caught_by_the_chain_on_sqlite(project):
    if connection.vendor == "postgresql":
        _assert_refused(project, "DELETE FROM governance_auditevent")
    else:
        # SQLite keeps DELETE open because Django's flush between tests deletes rows.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM governance_auditevent WHERE seq = 1")
        assert audit_chain_verify().first_broken_seq == 1


def _assert_refused(project, statement):
    from django.db import DatabaseError

    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEvent.objects.exclude(action="rewritten").count() == AuditEvent.objects.count() > 0


def test_services_write_a_linked_chain_that_verifies(project, annotator):
    item = queue_next_item(actor=annotator, project=project)
    annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    events = list(AuditEvent.objects.order_by("seq"))
    assert events[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))
    assert [e.action for e in events[-2:]] == ["item.read", "annotation.submit"]
    assert audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction(manager):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(actor=manager, action=AuditAction.PROJECT_UPDATE)


def test_an_audit_event_rolls_back_with_the_change_it_records(manager):
    before = AuditEvent.objects.count()
    with pytest.raises(ValueError):
        with transaction.atomic():
            audit_record(actor=manager, action=AuditAction.PROJECT_UPDATE)
            raise ValueError("the change failed")
    assert AuditEvent.objects.count() == before


def test_verification_names_an_edited_event(project):
    victim = AuditEvent.objects.order_by("seq")[1]
    _raw(f"UPDATE {AuditEvent._meta.db_table} SET details = %s WHERE seq = %s", ['{"edited": true}', victim.seq])
    report = audit_chain_verify()
    assert (report.ok, report.first_broken_seq, report.reason) == (False, victim.seq, "content does not match its hash")


def test_verification_names_the_gap_left_by_a_deleted_event(project):
    victim = AuditEvent.objects.order_by("seq")[2]
    _raw(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = %s", [victim.seq])
    report = audit_chain_verify()
    assert (report.ok, report.first_broken_seq) == (False, victim.seq)
    assert "missing" in report.reason


def test_verification_catches_two_events_swapped(project):
    first, second = AuditEvent.objects.order_by("seq")[1:3]
    table = AuditEvent._meta.db_table
    # Swap everything but the sequence numbers, i.e. reorder history.
    _raw(f"UPDATE {table} SET hash = 'tmp-' || seq WHERE seq IN (%s, %s)", [first.seq, second.seq])
    for source, target in ((second, first), (first, second)):
        _raw(
            f"UPDATE {table} SET action = %s, details = %s, target_id = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [source.action, json.dumps(source.details), source.target_id, source.prev_hash, source.hash, target.seq],
        )
    report = audit_chain_verify()
    assert (report.ok, report.first_broken_seq) == (False, first.seq)


def test_audit_verify_command_reports_an_intact_chain(project, capsys):
    call_command("audit_verify")
    assert "Audit chain intact" in capsys.readouterr().out


def test_audit_verify_command_fails_naming_the_broken_event(project):
    victim = AuditEvent.objects.order_by("seq")[0]
    _raw(f"UPDATE {AuditEvent._meta.db_table} SET actor_name = %s WHERE seq = %s", ["mallory", victim.seq])
    with pytest.raises(CommandError, match=f"broken at event #{victim.seq}"):
        call_command("audit_verify")
