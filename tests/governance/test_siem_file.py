"""The JSON-lines file sink: each event exactly once, through shippers killed mid-write and files rotated away."""

import json
import random
import time

import pytest

from governance.models import AuditEvent, SiemCursor
from governance.services.siem import _contiguity_error, audit_siem_ship
from tests.faults.processes import wait_for
from tests.governance.siem_support import (
    commit_waiting,
    cursor_commits_blocked,
    cursor_of,
    events_record,
    file_seqs,
    head_seq,
    postgresql_only,
    shipper_env,
    shipper_kill,
    shipper_start,
    stranded_commits_end,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sink_file(settings, tmp_path):
    path = tmp_path / "siem" / "audit.jsonl"
    path.parent.mkdir()
    settings.AUDIT_SIEM_SINKS = [f"file://{path}"]
    settings.AUDIT_SIEM_BATCH = 10
    return path


def _ship_until_caught_up(sink: str) -> None:
    result = wait_for(lambda: (r := audit_siem_ship(sink=sink, force=True)) and not r.busy and r,
                      what="a shipper to get the cursor")
    assert not result.error and result.last_seq == head_seq(), result


def test_every_event_is_written_once_in_seq_order_as_a_json_line(sink_file):
    head = events_record(23)
    sink = f"file://{sink_file}"
    _ship_until_caught_up(sink)
    assert file_seqs(sink_file) == list(range(1, head + 1))
    hashes = dict(AuditEvent.objects.values_list("seq", "hash"))
    for line in sink_file.read_text().splitlines():
        record = json.loads(line)
        assert record["event"]["id"] == hashes[record["event"]["sequence"]]
    cursor = cursor_of(sink)
    assert cursor.file_offset == sink_file.stat().st_size
    # Nothing new: nothing written.
    assert audit_siem_ship(sink=sink).shipped == 0 and cursor_of(sink).file_offset == cursor.file_offset


@postgresql_only
def test_a_shipper_killed_after_writing_but_before_its_commit_leaves_no_duplicate(sink_file, tmp_path):
    head = events_record(35)
    sink = f"file://{sink_file}"
    audit_siem_ship(sink=sink, seconds=0)  # takes the new file up (nothing written yet)
    audit_siem_ship(sink=sink, seconds=0)  # #1..#10
    assert file_seqs(sink_file) == list(range(1, 11))
    with cursor_commits_blocked():
        shipper = shipper_start(shipper_env(sinks=[sink], batch=10), tmp_path / "shipper.log", follow=False)
        wait_for(lambda: len(file_seqs(sink_file)) == 20, what="the shipper to write #11..#20")
        wait_for(commit_waiting, what="the shipper to wait to move its cursor")
        shipper_kill(shipper)
        stranded_commits_end()
    # A torn write on top, as a crash inside write() leaves it.
    with sink_file.open("ab") as handle:
        handle.write(b'{"@timestamp":"2026-')
    assert cursor_of(sink).last_seq == 10
    _ship_until_caught_up(sink)
    assert file_seqs(sink_file) == list(range(1, head + 1))


@postgresql_only
def test_a_shipper_killed_again_and_again_mid_stream_still_writes_each_event_once(sink_file, tmp_path):
    events_record(250)
    sink = f"file://{sink_file}"
    env = shipper_env(sinks=[sink], batch=4)
    rng = random.Random(19)
    kills = 0
    while kills < 4 and (cursor_of(sink) is None or cursor_of(sink).last_seq < head_seq()):
        shipper = shipper_start(env, tmp_path / "shipper.log", follow=True)
        start = cursor_of(sink).last_seq if cursor_of(sink) else 0
        wait_for(lambda: len(file_seqs_tolerant(sink_file)) > start or shipper.poll() is not None,
                 what="the shipper to write something")
        time.sleep(rng.uniform(0, 0.15))
        shipper_kill(shipper)
        kills += 1
        events_record(5)  # the trail grows meanwhile
    assert kills >= 2, "the shipper finished before it could be killed twice; record more events"
    _ship_until_caught_up(sink)
    assert file_seqs(sink_file) == list(range(1, head_seq() + 1))


def file_seqs_tolerant(path) -> list[int]:
    """The whole lines so far (a shipper may be in the middle of writing the last one)."""
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")[:-1]
    return [json.loads(line)["event"]["sequence"] for line in lines if line]


def test_a_file_rotated_away_by_renaming_is_followed_by_a_fresh_one_without_loss_or_duplicate(sink_file):
    sink = f"file://{sink_file}"
    events_record(12)
    _ship_until_caught_up(sink)
    rotated = sink_file.with_name("audit.jsonl.1")
    sink_file.rename(rotated)  # logrotate's default (create), not copytruncate
    head = events_record(8)
    _ship_until_caught_up(sink)
    assert file_seqs(rotated) + file_seqs(sink_file) == list(range(1, head + 1))


def test_a_sink_folder_that_does_not_exist_is_reported_and_the_cursor_stays(settings, tmp_path):
    sink = f"file://{tmp_path}/missing/audit.jsonl"
    settings.AUDIT_SIEM_SINKS = [sink]
    events_record(2)
    result = audit_siem_ship(sink=sink)
    assert result.error == f"cannot open {tmp_path}/missing/audit.jsonl: No such file or directory"
    cursor = cursor_of(sink)
    assert (cursor.last_seq, cursor.failures) == (0, 1) and cursor.last_error == result.error


def test_a_hole_in_the_trail_stops_the_shipper_instead_of_skipping_events():
    # Seqs are gapless; a hole means events left the table (an archive, a DBA) before this sink had them.
    cursor = SiemCursor(sink="file:///x", last_seq=3)
    events = [AuditEvent(seq=4), AuditEvent(seq=6)]
    assert _contiguity_error(cursor, events).startswith("event #5 is not in the audit table")
    assert _contiguity_error(cursor, [AuditEvent(seq=4), AuditEvent(seq=5)]) == ""


def test_the_beat_task_ships_every_configured_sink(settings, tmp_path):
    from governance.celery_tasks import audit_siem_ship_task

    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    settings.AUDIT_SIEM_SINKS = [f"file://{first}", f"file://{second}"]
    head = events_record(4)
    audit_siem_ship_task()
    assert file_seqs(first) == file_seqs(second) == list(range(1, head + 1))


def test_the_command_ships_until_caught_up_and_exits_non_zero_naming_a_failed_sink(settings, tmp_path):
    from django.core.management import CommandError, call_command

    good, bad = f"file://{tmp_path}/audit.jsonl", f"file://{tmp_path}/missing/audit.jsonl"
    settings.AUDIT_SIEM_SINKS = [good, bad]
    head = events_record(3)
    with pytest.raises(CommandError, match=f"Shipping failed for {bad}; their cursors stay where they were"):
        call_command("audit_siem_ship")
    assert file_seqs(tmp_path / "audit.jsonl") == list(range(1, head + 1))
    assert cursor_of(bad).last_seq == 0
