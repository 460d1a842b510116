"""Shipping the audit trail to a real rsyslog over TCP (RFC 5424): fields, a receiver that goes down, a shipper killed mid-batch."""

import pytest

from governance.models import AuditEvent
from governance.services.siem import audit_siem_ship
from tests.faults.processes import wait_for
from tests.governance.siem_support import (
    commit_waiting,
    cursor_commits_blocked,
    cursor_of,
    events_record,
    head_seq,
    postgresql_only,
    rsyslog_running,
    shipper_env,
    shipper_kill,
    shipper_start,
    sink_held_elsewhere,
    stranded_commits_end,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver(tmp_path):
    with rsyslog_running(tmp_path / "rsyslog") as server:
        yield server


@pytest.fixture
def siem_settings(settings, receiver):
    settings.AUDIT_SIEM_SINKS = [receiver.sink]
    settings.AUDIT_SIEM_BATCH = 10
    settings.AUDIT_SIEM_TIMEOUT_SECONDS = 5
    settings.AUDIT_SIEM_SYSLOG_FACILITY = "local4"
    settings.AUDIT_SIEM_SYSLOG_HOSTNAME = "annotate-1.example.org"
    return settings


def _caught_up(receiver, head: int):
    return len(receiver.seqs()) >= head and receiver.seqs()


def test_shipped_events_reach_rsyslog_once_each_with_their_fields_parsed(receiver, siem_settings):
    head = events_record(25)
    result = audit_siem_ship(sink=receiver.sink)
    assert (result.error, result.shipped, result.last_seq) == ("", head, head)
    seqs = wait_for(lambda: _caught_up(receiver, head), what="rsyslog to write every event")
    assert sorted(seqs) == list(range(1, head + 1)) and set(seqs.values()) == {1}

    events = {event.seq: event for event in AuditEvent.objects.all()}
    for row in receiver.received():
        event = events[row.seq]
        assert (row.facility, row.severity, row.hostname, row.app_name) == (
            "local4", "info", "annotate-1.example.org", "sensitive-annotator",
        )
        assert (row.procid, row.msgid, row.structured_data) == ("-", event.action, "-")
        assert row.timestamp == event.created_at.isoformat(timespec="microseconds").replace("+00:00", "Z")
        assert row.record["event"]["id"] == row.record["event"]["hash"] == event.hash
        assert row.record["sensitive_annotator"]["audit"]["details"] == event.details
    cursor = cursor_of(receiver.sink)
    assert cursor.last_seq == head and cursor.shipped_at is not None and cursor.failures == 0


@postgresql_only
def test_a_receiver_that_goes_down_loses_nothing_and_shipping_resumes_when_it_is_back(receiver, siem_settings, tmp_path):
    events_record(30)
    shipper = shipper_start(shipper_env(sinks=[receiver.sink], batch=10), tmp_path / "shipper.log", follow=True)
    try:
        wait_for(lambda: len(receiver.seqs()) >= 10, what="the first events at rsyslog")
        receiver.stop()
        # The app keeps recording while the receiver is down; the cursor stays and says why.
        events_record(20)
        stuck = wait_for(
            lambda: (c := cursor_of(receiver.sink)) and c.failures and c.last_seq < head_seq() and c,
            what="the shipper to record the receiver's failure",
        )
        assert "127.0.0.1" in stuck.last_error and stuck.retry_at is not None
        receiver.start()
        head = events_record(5)
        wait_for(lambda: (c := cursor_of(receiver.sink)) and c.last_seq == head and not c.failures,
                 what="the cursor to reach the head once the receiver is back")
    finally:
        shipper_kill(shipper)
    seqs = wait_for(lambda: _caught_up(receiver, head), what="rsyslog to write every event")
    assert sorted(seqs) == list(range(1, head + 1)), "an event was dropped"
    # Guarantee: a batch the receiver read in part before it went down is sent again (at least once).
    assert sum(seqs.values()) - head <= 10


@postgresql_only
def test_a_shipper_killed_between_delivery_and_commit_resends_exactly_that_batch(receiver, siem_settings, tmp_path):
    head = events_record(45)
    first = audit_siem_ship(sink=receiver.sink, seconds=0)  # one batch: the cursor row exists, at #10
    assert first.last_seq == 10
    with cursor_commits_blocked():
        shipper = shipper_start(shipper_env(sinks=[receiver.sink], batch=10), tmp_path / "shipper.log", follow=False)
        # The batch #11..#20 arrives, but the shipper cannot commit its cursor: kill it right there.
        wait_for(lambda: receiver.seqs()[20], what="the second batch at rsyslog")
        wait_for(commit_waiting, what="the shipper to wait to move its cursor")
        assert shipper.poll() is None, (tmp_path / "shipper.log").read_text()
        shipper_kill(shipper)
        stranded_commits_end()
    assert cursor_of(receiver.sink).last_seq == 10

    result = wait_for(lambda: (r := audit_siem_ship(sink=receiver.sink)) and not r.busy and r,
                      what="the killed shipper's lock to go")
    assert result.last_seq == head and not result.error
    seqs = wait_for(lambda: _caught_up(receiver, head), what="rsyslog to write every event")
    assert sorted(seqs) == list(range(1, head + 1)), "an event was dropped"
    assert sorted(seq for seq, count in seqs.items() if count > 1) == list(range(11, 21))
    assert max(seqs.values()) == 2


def test_one_shipper_at_a_time_a_second_one_skips_the_sink(receiver, siem_settings):
    head = events_record(3)
    with sink_held_elsewhere(receiver.sink):
        result = audit_siem_ship(sink=receiver.sink)
    assert result.busy and result.shipped == 0 and receiver.seqs() == {}
    assert audit_siem_ship(sink=receiver.sink).last_seq == head


def test_a_failing_sink_waits_out_its_back_off_unless_forced(siem_settings, receiver):
    head = events_record(3)
    receiver.stop()
    failed = audit_siem_ship(sink=receiver.sink)
    assert failed.error.startswith(f"syslog receiver 127.0.0.1:{receiver.port}") and failed.last_seq == 0
    assert audit_siem_ship(sink=receiver.sink).waiting
    receiver.start()
    assert audit_siem_ship(sink=receiver.sink).waiting
    forced = audit_siem_ship(sink=receiver.sink, force=True)
    assert (forced.error, forced.last_seq) == ("", head)
    assert cursor_of(receiver.sink).failures == 0
