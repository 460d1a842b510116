"""The audit archive: old events move into signed files and out of the table, verification spans both, restore.

Each test builds a trail with checkpoints at sizes 10, 21 and 32 (each checkpoint's own
audit.checkpoint event follows it), events dated a year ago, and archives with files of at
most 12 events, so that three archives end at the three checkpoints and event 33 stays.
"""

import datetime as dt
import gzip
import hashlib
import json
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError
from django.urls import reverse
from django.utils import timezone

from governance.audit import AuditAction, audit_chain_verify, audit_record
from governance.celery_tasks import audit_archive_task
from governance.checkpoints.archive import ArchiveFileError, archive_file_read
from governance.checkpoints.note import note_key_generate
from governance.checkpoints.verify import audit_checkpoints_verify, checkpoint_sources_read
from governance.models import (
    AuditArchive,
    AuditArchiveState,
    AuditCheckpointDelivery,
    AuditEvent,
    SiemCursor,
)
from governance.selectors.audit_archive import ArchiveSearch, archive_events_search
from governance.services import audit_archive
from governance.services.audit_archive import (
    ARCHIVE_SETTING,
    ArchiveError,
    audit_archive_restore,
    audit_archive_run,
)
from governance.services.checkpoints import audit_checkpoint_publish
from tests.annotation.views.support import client_for
from tests.governance.test_audit import _raw
from tests.governance.test_auditor_pages import events_append

pytestmark = pytest.mark.django_db

YEAR_AGO = timezone.now() - dt.timedelta(days=365)
LATER = timezone.now() + dt.timedelta(days=30)


@pytest.fixture
def trail(checkpointing, settings, tmp_path):
    """33 events; checkpoints of sizes 10, 21 and 32 in the folder sink; archiving after 7 days, 12 events a file."""
    settings.AUDIT_ARCHIVE_AFTER_DAYS = 7
    settings.AUDIT_ARCHIVE_DIR = tmp_path / "archive"
    settings.AUDIT_ARCHIVE_MAX_EVENTS = 12
    settings.AUDIT_SIEM_SINKS = []
    for segment in range(3):
        events_append(10, at=YEAR_AGO + dt.timedelta(days=segment))
        audit_checkpoint_publish(force=True)
    checkpointing.archive = tmp_path / "archive"
    return checkpointing


def _archive(trail, **given):
    return audit_archive_run(actor="test", now=given.pop("now", LATER), **given)


def _delete(sql: str, params=(), archive_id=None):
    """A DELETE as the app's role would run it (triggers on), in a savepoint; the error, if refused."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if archive_id is not None:
                cursor.execute("SELECT set_config(%s, %s, true)", [ARCHIVE_SETTING, str(archive_id)])
            cursor.execute(sql, params)
    except DatabaseError as error:
        return str(error)
    return None


def test_archiving_moves_the_due_events_into_signed_read_only_files_and_out_of_the_table(trail):
    outcome = _archive(trail)
    ranges = [(a.first_seq, a.last_seq, a.checkpoint_size) for a in outcome.archives]
    assert ranges == [(1, 10, 10), (11, 21, 21), (22, 32, 32)]
    assert not AuditEvent.objects.filter(seq__lte=32).exists()
    # The head stays, and each archive recorded its audit.archive event after it.
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["audit.checkpoint"] + ["audit.archive"] * 3
    for archive in outcome.archives:
        path = trail.archive / archive.file_name
        assert path.stat().st_mode & 0o222 == 0
        manifests = [manifest for manifest, _ in archive_file_read(path, [trail.key.public_only()])]
        assert len(manifests) == archive.event_count and manifests[0].last_hash == archive.last_hash
        assert archive.state == AuditArchiveState.SEALED
    assert "nothing to archive" in outcome.reason or "nothing due" in outcome.reason


def test_the_chain_verifies_intact_across_the_archives_and_the_table(trail, capsys):
    _archive(trail)
    report = audit_chain_verify()
    assert report.ok and report.checked == AuditEvent.objects.order_by("-seq").first().seq
    call_command("audit_verify")
    assert "Audit chain intact" in capsys.readouterr().out
    sources = checkpoint_sources_read(str(trail.folder))
    checkpoints = audit_checkpoints_verify(sources=sources, keys=[trail.key.public_only()])
    assert checkpoints.ok and checkpoints.checkpoints == 3


def test_the_archive_command_runs_lists_verifies_and_restores(trail, capsys):
    call_command("audit_archive", "run")  # the real clock: only the first segment is older than 7 days
    out = capsys.readouterr().out
    assert "Archived events #1..#10 (10 events" in out and "1 archive(s) written, 10 events moved" in out
    call_command("audit_archive", "list")
    assert "#1..#10  10 events" in capsys.readouterr().out
    call_command("audit_archive", "verify", key=[trail.key.vkey()])
    assert "intact across 1 sealed archive(s)" in capsys.readouterr().out
    archive = AuditArchive.objects.get()
    call_command("audit_archive", "restore", str(archive.pk))
    assert "are back in the table" in capsys.readouterr().out
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"audit.archive", "audit.archive_verify", "audit.archive_restore"} <= actions


def test_restoring_puts_the_events_back_with_their_seq_and_hashes(trail):
    before = {event.seq: event.hash for event in AuditEvent.objects.filter(seq__lte=21)}
    first, second, _ = _archive(trail).archives
    restored = audit_archive_restore(actor="test", archive_id=second.pk)
    assert restored.state == AuditArchiveState.RESTORED and restored.restored_at is not None
    back = dict(AuditEvent.objects.filter(seq__gte=11, seq__lte=21).values_list("seq", "hash"))
    assert back == {seq: digest for seq, digest in before.items() if seq >= 11}
    # Archive 1 sealed, 11..21 in the table, archive 3 sealed, the rest in the table: one chain.
    assert audit_chain_verify().ok
    with pytest.raises(ArchiveError, match=f"archive {second.pk} was already restored"):
        audit_archive_restore(actor="test", archive_id=second.pk)
    # A later run never archives restored events again.
    assert _archive(trail).archives == []


def test_an_altered_archive_file_is_named_and_never_restored(trail):
    archive = _archive(trail).archives[1]
    path = trail.archive / archive.file_name
    path.chmod(0o644)
    lines = gzip.decompress(path.read_bytes()).split(b"\n")
    lines[3] = lines[3].replace(b'"actor_name":"bulk"', b'"actor_name":"other"')
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    report = audit_chain_verify()
    assert not report.ok and report.first_broken_seq == 11
    assert archive.file_name in report.reason and "sha256 is not the one recorded" in report.reason
    with pytest.raises(ArchiveError, match=f"archive {archive.pk} not restored"):
        audit_archive_restore(actor="test", archive_id=archive.pk)
    assert not AuditEvent.objects.filter(seq__lte=21).exists()
    # A DBA who also records the new file's sha256 meets the signature and the chain.
    AuditArchive.objects.filter(pk=archive.pk).update(sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    report = audit_chain_verify()
    assert not report.ok and report.first_broken_seq == 13 and archive.file_name in report.reason


def test_swapped_and_missing_archive_files_are_named(trail):
    first, second, third = _archive(trail).archives
    a, b = trail.archive / first.file_name, trail.archive / second.file_name
    a.rename(trail.archive / "swap")
    b.rename(a)
    (trail.archive / "swap").rename(b)
    report = audit_chain_verify()
    assert not report.ok and report.first_broken_seq == 1
    assert first.file_name in report.reason and "another archive's file" in report.reason
    b.rename(trail.archive / "gone")
    a.unlink()
    (trail.archive / "gone").rename(a)  # the first is back; the second's file is gone
    report = audit_chain_verify()
    assert not report.ok and report.first_broken_seq == 11
    assert second.file_name in report.reason and "cannot be read" in report.reason
    sources = checkpoint_sources_read(str(trail.folder))
    checkpoints = audit_checkpoints_verify(sources=sources, keys=[trail.key.public_only()])
    assert not checkpoints.ok and checkpoints.first_broken_seq == 11
    assert sorted(c.size for c in checkpoints.contradictions) == [21, 32]


def test_the_trigger_lets_rows_go_only_into_the_sealed_archive_the_transaction_names(trail):
    first = _archive(trail, limit=1).archives[0]
    assert first.last_seq == 10
    refused = _delete("DELETE FROM governance_auditevent WHERE seq = 15")
    assert "the audit trail is append-only: DELETE refused" in refused
    # Naming an archive does not let rows outside its range go.
    assert "append-only" in _delete("DELETE FROM governance_auditevent WHERE seq = 15", archive_id=first.pk)
    assert "append-only" in _delete("DELETE FROM governance_auditevent WHERE seq = 15", archive_id="junk")
    assert "append-only" in _delete("UPDATE governance_auditevent SET actor_name = 'x' WHERE seq = 15")
    assert AuditEvent.objects.filter(seq=15).exists()


def test_the_archive_stops_at_the_siem_cursor_the_checkpoints_and_the_head(trail, settings):
    settings.AUDIT_SIEM_SINKS = ["file:///var/log/audit.jsonl"]
    SiemCursor.objects.create(sink="file:///var/log/audit.jsonl", last_seq=20)
    assert [a.last_seq for a in _archive(trail).archives] == [10]
    SiemCursor.objects.filter().update(last_seq=1000)
    # A checkpoint some sink has not taken yet: events from the one before it stay.
    AuditCheckpointDelivery.objects.filter(checkpoint__size=32).update(delivered_at=None)
    assert [a.last_seq for a in _archive(trail).archives] == [21]
    AuditCheckpointDelivery.objects.filter(checkpoint__size=32).update(delivered_at=timezone.now())
    assert [a.last_seq for a in _archive(trail).archives] == [32]
    # No checkpoint after 32: nothing more, the head and what follows stay.
    outcome = _archive(trail)
    assert outcome.archives == [] and "no signed, delivered checkpoint" in outcome.reason
    assert AuditEvent.objects.filter(seq=33).exists()


def test_archiving_is_off_without_an_age_and_refused_without_the_signing_key(trail, settings):
    settings.AUDIT_ARCHIVE_AFTER_DAYS = 0
    assert "archiving is off" in _archive(trail).reason
    settings.AUDIT_ARCHIVE_AFTER_DAYS = 7
    settings.AUDIT_CHECKPOINT_KEY_FILE = str(trail.key_file) + ".missing"
    with pytest.raises(ArchiveError, match="cannot sign archives: cannot read AUDIT_CHECKPOINT_KEY_FILE"):
        _archive(trail)
    with pytest.raises(CommandError, match="cannot sign archives"):
        call_command("audit_archive", "run")
    assert not AuditArchive.objects.exists() and not list(trail.archive.glob("*"))


def test_an_unknown_archive_id_gives_a_clear_error(trail):
    with pytest.raises(CommandError, match="there is no audit archive with id 999"):
        call_command("audit_archive", "restore", "999")


def test_a_file_of_another_key_does_not_verify(trail):
    archive = _archive(trail, limit=1).archives[0]
    other = note_key_generate(trail.key.name)
    with pytest.raises(ArchiveFileError, match="does not verify"):
        list(archive_file_read(trail.archive / archive.file_name, [other.public_only()]))
    lines = gzip.decompress((trail.archive / archive.file_name).read_bytes()).split(b"\n")
    assert json.loads(lines[0])["format"] == "sensitive-annotator/audit-archive/v1"


def test_the_daily_schedule_runs_the_archive(trail, settings):
    settings.CELERY_BEAT_SCHEDULE = {**settings.CELERY_BEAT_SCHEDULE, "audit-archive-daily": {}}
    audit_archive_task(schedule_entry="audit-archive-daily")
    assert AuditArchive.objects.filter(first_seq=1, last_seq=10).exists()


# --- the auditor page ---------------------------------------------------------------------------------

ARCHIVE_URL = reverse("governance:audit-archive")


def test_allows_auditors_to_list_the_archives_without_reading_a_file(trail, auditor):
    _archive(trail)
    response = client_for(auditor).get(ARCHIVE_URL)
    assert response.status_code == 200
    assert response.text.count('class="audit-archive"') == 3 and "audit-00000000000000000001-00000000000000000010" in response.text
    assert not AuditEvent.objects.filter(action="audit.archive_search").exists()


def test_allows_admins_to_see_the_archive_page(trail, admin_user):
    assert client_for(admin_user).get(ARCHIVE_URL).status_code == 200


def test_denies_the_archive_page_to_project_managers(trail, manager):
    assert client_for(manager).get(ARCHIVE_URL).status_code == 403


def test_a_search_by_seq_range_and_filters_reads_the_files_and_is_audited(trail, auditor):
    _archive(trail)
    response = client_for(auditor).get(ARCHIVE_URL, {"seq_from": 9, "seq_to": 14, "action": "item."})
    assert response.status_code == 200
    assert [event.seq for event, _ in response.context["rows"]] == [9, 10, 12, 13, 14]  # 11 is a checkpoint's event
    search = AuditEvent.objects.get(action="audit.archive_search")
    assert search.actor_name == auditor.username
    assert search.details == {"seq_from": 9, "seq_to": 14, "action": "item.", "found": 5, "more": False}


def test_a_search_by_date_range_finds_only_that_days_events(trail, auditor):
    _archive(trail)
    day = (YEAR_AGO + dt.timedelta(days=1)).date().isoformat()
    response = client_for(auditor).get(ARCHIVE_URL, {"date_from": day, "date_to": day})
    seqs = [event.seq for event, _ in response.context["rows"]]
    assert seqs and set(seqs) <= set(range(12, 22))


def test_an_upside_down_range_is_refused_with_a_message(trail, auditor):
    response = client_for(auditor).get(ARCHIVE_URL, {"seq_from": 20, "seq_to": 3})
    assert response.status_code == 400 and "must not be smaller than the first" in response.text


def test_a_search_over_an_altered_file_says_the_archive_cannot_be_read(trail, auditor):
    archive = _archive(trail, limit=1).archives[0]
    path = trail.archive / archive.file_name
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-20])
    response = client_for(auditor).get(ARCHIVE_URL, {"seq_from": 1})
    assert response.status_code == 200 and "The archive cannot be read" in response.text
    assert "rows" not in response.context


def test_audit_verify_checks_the_archives_with_the_given_vkey_and_says_when_it_has_no_key(trail, settings, capsys):
    _archive(trail)
    settings.AUDIT_CHECKPOINT_KEY_FILE = None
    with pytest.raises(CommandError, match="cannot check its signature: checkpoints are off"):
        call_command("audit_verify")
    call_command("audit_verify", key=[trail.key.vkey()])
    assert "Audit chain intact" in capsys.readouterr().out
    with pytest.raises(CommandError, match="cannot check archive signatures"):
        call_command("audit_archive", "verify")


def test_a_search_shows_at_most_its_limit_and_says_that_more_matched(trail):
    _archive(trail)
    events, more = archive_events_search(ArchiveSearch(seq_from=5, limit=3), keys=[trail.key.public_only()])
    assert [event.seq for event in events] == [5, 6, 7] and more
    # Each event reads back with the hash it had in the table.
    assert events[1].prev_hash == events[0].hash
    events, more = archive_events_search(ArchiveSearch(seq_from=30, limit=3), keys=[trail.key.public_only()])
    assert [event.seq for event in events] == [30, 31, 32] and not more


@pytest.mark.django_db(transaction=True)
def test_an_event_appended_while_an_archive_is_written_commits_and_the_chain_stays_intact(trail, monkeypatch):
    outcome = {}
    write = audit_archive.archive_file_write

    def append():
        try:
            with transaction.atomic():
                outcome["seq"] = audit_record(actor="concurrent", action=AuditAction.ITEM_READ).seq
        except Exception as error:  # reported below
            outcome["error"] = error
        finally:
            connections.close_all()

    def write_then_append(*args, **kwargs):
        written = write(*args, **kwargs)
        # Another connection appends while the archive's transaction is open: it must not wait for it.
        thread = threading.Thread(target=append)
        thread.start()
        thread.join(timeout=60)
        outcome["blocked"] = thread.is_alive()
        return written

    monkeypatch.setattr(audit_archive, "archive_file_write", write_then_append)
    archives = _archive(trail, limit=1).archives
    assert [a.last_seq for a in archives] == [10]
    assert outcome.get("blocked") is False and "error" not in outcome and outcome["seq"] == 34
    assert audit_chain_verify().ok


def test_an_event_altered_in_the_table_is_not_archived_and_nothing_is_written(trail):
    _raw("UPDATE governance_auditevent SET actor_name = 'someone-else' WHERE seq = 5")
    with pytest.raises(ArchiveError, match="not archived: event 6: prev_hash does not match the hash of event 5"):
        _archive(trail)
    assert not AuditArchive.objects.exists() and AuditEvent.objects.filter(seq__lte=10).count() == 10
    assert not list(trail.archive.glob("*"))
