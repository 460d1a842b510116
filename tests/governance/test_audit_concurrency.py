"""Writers appending to the audit chain at the same moment, each on their own connection, keep it linked."""

import threading

import pytest
from django.db import connection, transaction

from governance.audit import GENESIS_HASH, AuditAction, audit_chain_verify, audit_record
from governance.models import AuditEvent

WRITERS = 8
EVENTS_EACH = 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_unbroken_chain_with_no_repeated_link():
    barrier = threading.Barrier(WRITERS)
    errors = []

    def write(index: int):
        try:
            barrier.wait()
            for number in range(EVENTS_EACH):
                with transaction.atomic():
                    audit_record(
                        actor=f"writer-{index}", action=AuditAction.ITEM_READ, details={"n": number}
                    )
        except Exception as error:  # surfaced below with the writer's number
            errors.append(f"writer {index}: {error!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(index,)) for index in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    events = list(AuditEvent.objects.order_by("seq").values_list("seq", "prev_hash", "hash"))
    assert len(events) == WRITERS * EVENTS_EACH
    assert [seq for seq, _, _ in events] == list(range(events[0][0], events[0][0] + len(events)))
    # Each event names the one before it, so no two writers ever read the same chain head.
    assert len({prev for _, prev, _ in events}) == len(events)
    assert events[0][1] == GENESIS_HASH or AuditEvent.objects.filter(hash=events[0][1]).exists()
    report = audit_chain_verify()
    assert report.ok, report
