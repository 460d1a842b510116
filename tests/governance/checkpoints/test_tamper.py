"""What a DBA can do to the trail with the triggers off, and how the signed checkpoints in a folder catch it.

Each test builds a trail with checkpoints at sizes 10, 21 and 32 (each checkpoint's own
audit.checkpoint event follows it), tampers as someone with full database rights would, and
runs ``audit_verify --checkpoints <folder>``.
"""

import pytest
from django.core.management import CommandError, call_command

from governance.audit import GENESIS_HASH, event_hash
from governance.checkpoints.verify import audit_checkpoints_verify, checkpoint_sources_read
from governance.models import AuditCheckpoint, AuditCheckpointDelivery, AuditEvent
from governance.services.checkpoints import audit_checkpoint_publish
from tests.governance.test_audit import _raw
from tests.governance.test_auditor_pages import events_append

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(checkpointing):
    """A trail of 33 events with checkpoints of sizes 10, 21 and 32 in the folder sink."""
    assert not AuditEvent.objects.exists()
    for _ in range(3):
        events_append(10)
        audit_checkpoint_publish(force=True)
    assert list(AuditCheckpoint.objects.order_by("size").values_list("size", flat=True)) == [10, 21, 32]
    return checkpointing


def _verify(trail):
    sources = checkpoint_sources_read(str(trail.folder))
    return audit_checkpoints_verify(sources=sources, keys=[trail.key.public_only()])


def _set(seq: int, **fields) -> None:
    assignments = ", ".join(f"{name} = %s" for name in fields)
    _raw(f"UPDATE governance_auditevent SET {assignments} WHERE seq = %s", [*fields.values(), seq])


def _rechain(start: int) -> None:
    """Recompute prev_hash and hash from event ``start`` on, as a DBA covering their tracks would."""
    previous = AuditEvent.objects.filter(seq=start - 1).values_list("hash", flat=True).first() or GENESIS_HASH
    for event in AuditEvent.objects.filter(seq__gte=start).order_by("seq"):
        event.prev_hash = previous
        event.hash = previous = event_hash(event)
        # Hashes are unique: park the old value first so that a swap never collides midway.
        _set(event.seq, hash=f"x{event.seq}")
        _set(event.seq, prev_hash=event.prev_hash, hash=event.hash)


def _restore_backup_taken_at(seq: int) -> None:
    """The database as a backup taken after event ``seq`` left it: later events and checkpoint rows gone."""
    _raw("DELETE FROM governance_auditevent WHERE seq > %s", [seq])
    AuditCheckpointDelivery.objects.filter(checkpoint__size__gt=seq).delete()
    AuditCheckpoint.objects.filter(size__gt=seq).delete()


def _first(report):
    first = report.first
    return first.size, first.first_seq


def test_an_untouched_trail_is_consistent_with_every_checkpoint(trail, capsys):
    report = _verify(trail)
    assert report.ok and report.checkpoints == 3 and report.checked == 33 and report.largest_size == 32
    call_command("audit_verify", checkpoints=[str(trail.folder)], key=[trail.key.vkey()])
    assert "33 events verified, consistent with 3 signed checkpoint(s) up to size 32" in capsys.readouterr().out


def test_a_rewritten_prefix_with_every_hash_recomputed_contradicts_the_first_checkpoint_after_it(trail):
    _set(15, actor_name="someone-else")
    _rechain(15)
    assert AuditEvent.objects.count() == 33 and _verify(trail).first_broken_seq is None  # the plain chain is "intact"
    report = _verify(trail)
    assert not report.ok and _first(report) == (21, 11)
    assert sorted(c.size for c in report.contradictions) == [21, 32]


def test_a_cut_tail_contradicts_the_checkpoints_beyond_it(trail):
    _raw("DELETE FROM governance_auditevent WHERE seq > 25")
    report = _verify(trail)
    assert report.first_broken_seq is None
    assert _first(report) == (32, 26)
    assert "the table ends at event #25, but this checkpoint signed 32 events" in report.first.reason


def test_two_events_swapped_with_hashes_recomputed_are_caught(trail):
    a, b = (AuditEvent.objects.get(seq=seq) for seq in (13, 14))
    _set(13, action=b.action, created_at=b.created_at, details=f'{{"n": {b.details["n"]}}}')
    _set(14, action=a.action, created_at=a.created_at, details=f'{{"n": {a.details["n"]}}}')
    _rechain(13)
    report = _verify(trail)
    assert report.first_broken_seq is None and _first(report) == (21, 11)


def test_one_event_replaced_with_hashes_recomputed_is_caught(trail):
    _set(30, action="item.delete", details='{"n": 0}')
    _rechain(30)
    report = _verify(trail)
    assert report.first_broken_seq is None and _first(report) == (32, 22)
    assert [c.size for c in report.contradictions] == [32]


def test_a_replaced_event_without_recomputing_breaks_the_plain_chain_as_well(trail):
    _set(5, action="item.delete")
    report = _verify(trail)
    assert (report.first_broken_seq, report.chain_reason) == (5, "content does not match its hash")
    assert _first(report) == (10, 5)
    assert sorted(c.size for c in report.contradictions) == [10, 21, 32]


def test_a_database_restored_from_an_older_backup_and_written_to_again_is_caught(trail):
    # The backup was taken at event 18: later events and checkpoint rows are gone, new ones follow.
    _restore_backup_taken_at(18)
    events_append(20, action="item.delete")
    report = _verify(trail)
    assert report.first_broken_seq is None and _first(report) == (21, 11)


def test_the_restored_database_reaching_a_published_size_again_is_refused_by_the_folder(trail):
    _restore_backup_taken_at(18)
    events_append(3, action="item.delete")
    outcome = audit_checkpoint_publish(force=True)
    assert outcome.checkpoint.size == 21
    ((sink, size, error),) = outcome.failed
    assert size == 21 and "split view: 00000000000000000021.note already holds a different checkpoint" in error


def test_the_command_names_the_first_contradicted_checkpoint_its_file_and_first_event(trail):
    _raw("DELETE FROM governance_auditevent WHERE seq > 25")
    with pytest.raises(CommandError) as raised:
        call_command("audit_verify", checkpoints=[f"file://{trail.folder}"], key=[trail.key.vkey()])
    message = str(raised.value)
    assert message.startswith("First contradicted checkpoint of size 32 (")
    assert str(trail.folder / "00000000000000000032.note") in message and "written 20" in message
    assert "First event concerned: #26." in message


def test_a_note_by_an_untrusted_key_or_an_empty_folder_fails_verification(trail, tmp_path):
    from governance.checkpoints.note import note_key_generate

    report = audit_checkpoints_verify(
        sources=checkpoint_sources_read(str(trail.folder)), keys=[note_key_generate(trail.key.name)]
    )
    assert not report.ok and report.checkpoints == 0 and "not a trusted checkpoint" in report.first.reason
    (tmp_path / "empty").mkdir()
    report = audit_checkpoints_verify(sources=checkpoint_sources_read(str(tmp_path / "empty")), keys=[trail.key])
    assert not report.ok and "holds no checkpoint" in report.first.reason


def test_the_default_key_is_the_configured_key_files(trail, capsys):
    call_command("audit_verify", checkpoints=[str(trail.folder)])
    assert "consistent with 3 signed checkpoint(s)" in capsys.readouterr().out

