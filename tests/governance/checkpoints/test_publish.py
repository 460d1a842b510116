"""Publishing checkpoints: when one is due, what is signed and recorded, and how a failed sink is retried."""

import datetime as dt
import os

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from governance.celery_tasks import audit_checkpoint_task
from governance.checkpoints.note import (
    CheckpointError,
    note_key_from_private_pem,
    note_key_from_vkey,
    note_open,
)
from governance.models import AuditCheckpoint, AuditCheckpointDelivery, AuditEvent
from governance.services.checkpoints import audit_checkpoint_publish, checkpoint_due
from tests.governance.checkpoints.conftest import SyslogReceiver, free_port
from tests.governance.test_auditor_pages import events_append

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def _due(**given) -> bool:
    values = dict(last_size=100, last_at=NOW, head_seq=101, now=NOW, every_events=10, every_seconds=60)
    values.update(given)
    return checkpoint_due(**values)


# --- the interval decision (no database) -----------------------------------------------------------


def test_the_first_checkpoint_is_due_as_soon_as_there_is_an_event():
    assert _due(last_size=None, last_at=None, head_seq=1)
    assert not _due(last_size=None, last_at=None, head_seq=0)


def test_only_the_last_checkpoints_own_event_is_no_news_even_when_forced():
    assert not _due(head_seq=101, now=NOW + dt.timedelta(hours=1))
    assert not _due(head_seq=101, force=True)


def test_a_checkpoint_is_due_after_enough_events_or_enough_time():
    assert not _due(head_seq=110)  # 9 new events, no time passed
    assert _due(head_seq=111)  # 10 new events
    assert not _due(head_seq=102, now=NOW + dt.timedelta(seconds=59))
    assert _due(head_seq=102, now=NOW + dt.timedelta(seconds=60))
    assert _due(head_seq=102, force=True)


# --- publishing (database) -------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


@pytestmark_db
def test_publishing_signs_the_chain_head_records_it_and_writes_the_note_to_the_folder(checkpointing):
    events = events_append(5)
    outcome = audit_checkpoint_publish()
    checkpoint = outcome.checkpoint
    assert (checkpoint.size, checkpoint.head_hash) == (5, events[-1].hash)
    opened, signatures = note_open(checkpoint.note.encode(), [checkpointing.key.public_only()])
    assert (opened.origin, opened.size, opened.head_hash) == ("sensitive-annotator/test", 5, events[-1].hash)
    assert (checkpointing.folder / "00000000000000000005.note").read_text() == checkpoint.note
    delivery = AuditCheckpointDelivery.objects.get()
    assert (delivery.sink, delivery.attempts, delivery.error) == (checkpointing.folder_url, 1, "")
    assert delivery.delivered_at is not None
    event = AuditEvent.objects.get(seq=6)
    assert (event.action, event.actor_name, event.target_id) == ("audit.checkpoint", "checkpoint", str(checkpoint.pk))
    assert event.details == {"size": 5, "head_hash": events[-1].hash, "sinks": [checkpointing.folder_url], "forced": False}
    assert checkpoint.audit_seq == 6


@pytestmark_db
def test_an_idle_trail_gets_no_new_checkpoint_for_its_own_checkpoint_event(checkpointing):
    events_append(3)
    audit_checkpoint_publish()
    assert audit_checkpoint_publish(force=True).checkpoint is None
    events_append(1)
    assert audit_checkpoint_publish().checkpoint is None  # one event, 60 s not passed
    assert audit_checkpoint_publish(force=True).checkpoint.size == 5  # 3, its event, the new one
    assert sorted(os.listdir(checkpointing.folder)) == ["00000000000000000003.note", "00000000000000000005.note"]


@pytestmark_db
def test_the_interval_is_taken_from_the_last_checkpoints_time(checkpointing, settings):
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 3
    events_append(1)
    audit_checkpoint_publish()
    events_append(2)
    assert audit_checkpoint_publish().checkpoint is None
    AuditCheckpoint.objects.update(created_at=timezone.now() - dt.timedelta(seconds=61))
    assert audit_checkpoint_publish().checkpoint.size == 4
    events_append(3)
    assert audit_checkpoint_publish().checkpoint.size == 8


@pytestmark_db
def test_checkpoints_are_off_without_a_key_file(settings):
    settings.AUDIT_CHECKPOINT_KEY_FILE = None
    events_append(2)
    assert audit_checkpoint_publish(force=True).enabled is False
    assert not AuditCheckpoint.objects.exists()
    with pytest.raises(CommandError, match="Checkpoints are off"):
        call_command("audit_checkpoint")


@pytestmark_db
def test_a_failing_sink_is_recorded_and_retried_in_order_while_the_others_get_theirs(checkpointing, settings):
    port = free_port()
    syslog = f"syslog+tcp://127.0.0.1:{port}"
    settings.AUDIT_CHECKPOINT_SINKS = [syslog, checkpointing.folder_url]
    events_append(2)
    first = audit_checkpoint_publish()
    events_append(2)
    second = audit_checkpoint_publish(force=True)
    assert [size for _, size, _ in second.failed] == [2]  # it stops at the oldest it owes
    assert sorted(os.listdir(checkpointing.folder)) == ["00000000000000000002.note", "00000000000000000005.note"]
    failed = AuditCheckpointDelivery.objects.get(sink=syslog, checkpoint=first.checkpoint)
    assert failed.delivered_at is None and failed.attempts == 2 and "cannot deliver" in failed.error
    receiver = SyslogReceiver(port).start()
    try:
        retried = audit_checkpoint_publish()
        assert retried.checkpoint is None and retried.delivered == [(syslog, 2), (syslog, 5)]
        messages = receiver.wait_for(2)
    finally:
        receiver.stop()
    assert [m.split('size="')[1].split('"')[0] for m in messages] == ["2", "5"]
    assert not AuditCheckpointDelivery.objects.filter(delivered_at__isnull=True).exists()
    assert AuditCheckpointDelivery.objects.get(sink=syslog, checkpoint=first.checkpoint).error == ""


@pytestmark_db
def test_a_tampered_trail_is_not_signed(checkpointing):
    from tests.governance.test_audit import _raw

    events_append(4)
    audit_checkpoint_publish()
    events_append(4)
    _raw("UPDATE governance_auditevent SET details = '{\"n\": 0}' WHERE seq = 7")
    with pytest.raises(CheckpointError, match="no longer extends checkpoint 4: event 8: prev_hash"):
        audit_checkpoint_publish(force=True)
    assert AuditCheckpoint.objects.count() == 1


@pytestmark_db
def test_the_task_publishes_forced_for_an_auditor_and_only_when_due_for_others(checkpointing, auditor, manager):
    events_append(1)
    audit_checkpoint_task()
    events_append(1)
    audit_checkpoint_task(force=True, actor_id=manager.pk)  # not an auditor: not forced
    assert AuditCheckpoint.objects.count() == 1
    audit_checkpoint_task(force=True, actor_id=auditor.pk)
    assert AuditCheckpoint.objects.count() == 2
    assert AuditEvent.objects.filter(action="audit.checkpoint").latest("seq").actor_id == auditor.pk


@pytestmark_db
def test_the_command_publishes_now_and_reports_each_delivery(checkpointing, capsys):
    events_append(3)
    call_command("audit_checkpoint")
    out = capsys.readouterr().out
    assert "Checkpoint of size 3 signed" in out and f"Delivered checkpoint 3 to {checkpointing.folder_url}." in out


@pytestmark_db
def test_the_command_fails_when_a_sink_failed(checkpointing, settings):
    settings.AUDIT_CHECKPOINT_SINKS = [f"syslog+tcp://127.0.0.1:{free_port()}"]
    events_append(1)
    with pytest.raises(CommandError, match="Not delivered \\(retried next time\\): checkpoint 1 to syslog"):
        call_command("audit_checkpoint")


def test_the_key_command_writes_a_private_key_file_and_prints_its_vkey(tmp_path, capsys, settings):
    settings.AUDIT_CHECKPOINT_ORIGIN = "example.org/audit"
    out = tmp_path / "key.pem"
    call_command("audit_checkpoint_key", out=str(out))
    vkey = capsys.readouterr().out.strip()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert note_key_from_private_pem("example.org/audit", out.read_bytes()).vkey() == vkey
    assert note_key_from_vkey(vkey).name == "example.org/audit"
    with pytest.raises(CommandError, match="never overwritten"):
        call_command("audit_checkpoint_key", out=str(out))
