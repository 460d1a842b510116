"""Checkpoints the app publishes to a witness process come back cosigned; audit_verify --witness-vkey requires them; the checkpoints page shows each witness."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from governance.checkpoints.cosign import (
    cosigner_key_from_vkey,
    cosigner_key_generate,
    note_cosignature_time,
)
from governance.checkpoints.witness_sink import WitnessSink
from governance.models import AuditCheckpoint, AuditCheckpointDelivery
from governance.services.checkpoints import audit_checkpoint_publish
from tests.governance.checkpoints.conftest import ORIGIN
from tests.governance.checkpoints.witness_support import (
    chain_rewrite_from,
    events_make,
    witness_alarms,
    witness_running,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def witnessed(checkpointing, settings, tmp_path):
    """Checkpointing on, with a witness process listed before the folder (so the folder's copy is cosigned)."""
    (tmp_path / "witness").mkdir()
    running = witness_running(tmp_path / "witness", checkpointing.key.vkey())
    witness = next(running)
    settings.AUDIT_CHECKPOINT_SINKS = [f"{witness.url}#{witness.vkey}", checkpointing.folder_url]
    yield witness
    next(running, None)


def _verify(checkpointing, *vkeys: str) -> str:
    out = io.StringIO()
    options = [arg for vkey in vkeys for arg in ("--witness-vkey", vkey)]
    call_command("audit_verify", "--checkpoints", str(checkpointing.folder), *options, stdout=out)
    return out.getvalue()


def test_published_checkpoints_come_back_cosigned_and_audit_verify_requires_the_witness(
    witnessed, checkpointing, client, auditor
):
    events_make(3)  # after the auditor's role grant: events 1..4
    first = audit_checkpoint_publish(force=True)
    assert first.failed == [] and first.checkpoint.size == 4
    sink_name = WitnessSink(witnessed.url).name
    assert AuditCheckpointDelivery.objects.get(checkpoint=first.checkpoint, sink=sink_name).cosignatures
    folder_note = (checkpointing.folder / f"{4:020d}.note").read_bytes()
    assert note_cosignature_time(folder_note, cosigner_key_from_vkey(witnessed.vkey)) is not None
    events_make(2)
    # The witness gets events 5..7 (the first checkpoint's own audit event included) as the proof.
    second = audit_checkpoint_publish(force=True)
    assert second.failed == [] and witnessed.origin(ORIGIN)["size"] == second.checkpoint.size == 7
    assert "Audit chain intact" in _verify(checkpointing, witnessed.vkey)
    other = cosigner_key_generate("witness.test/other").vkey()
    with pytest.raises(CommandError, match="no cosignature by witness 'witness.test/other'"):
        _verify(checkpointing, other)
    with pytest.raises(CommandError, match="not an Ed25519 cosignature/v1 key"):
        _verify(checkpointing, checkpointing.key.vkey())  # the log's own key is no witness key
    with pytest.raises(CommandError, match="name at least one"):
        call_command("audit_verify", "--witness-vkey", witnessed.vkey)

    client.force_login(auditor)
    page = client.get(reverse("governance:audit-checkpoints")).content.decode()
    assert 'id="witnesses"' in page and sink_name in page
    assert '<td class="witness-size">7</td>' in page and "cosignature verified" in page


def test_a_rewritten_trail_whose_checkpoint_rows_were_deleted_gets_an_alarm_shown_on_the_page(
    witnessed, checkpointing, client, auditor
):
    events_make(4)  # after the auditor's role grant: events 1..5
    assert audit_checkpoint_publish(force=True).failed == []
    chain_rewrite_from(2)
    # The app refuses to sign a head that does not extend its last checkpoint, so a DBA who rewrites
    # the trail also deletes the app's own record of checkpoints; the witness still remembers.
    AuditCheckpointDelivery.objects.all().delete()
    AuditCheckpoint.objects.all().delete()
    events_make(1)
    outcome = audit_checkpoint_publish(force=True)
    [(sink, size, error)] = outcome.failed
    assert sink == WitnessSink(witnessed.url).name and "422" in error and "ALARM" in error
    assert [a["alarm"] for a in witness_alarms(witnessed)] == ["inconsistent"]
    assert witnessed.origin(ORIGIN)["size"] == 5

    client.force_login(auditor)
    page = client.get(reverse("governance:audit-checkpoints")).content.decode()
    assert "witness-alarm" in page


def test_the_witnesses_section_is_not_shown_to_an_annotator(witnessed, client, annotator):
    client.force_login(annotator)
    response = client.get(reverse("governance:audit-checkpoints"))
    assert response.status_code == 403 and b'id="witnesses"' not in response.content


def test_with_the_witness_listed_after_the_folder_the_cosignature_is_found_in_the_apps_record(
    witnessed, checkpointing, settings
):
    settings.AUDIT_CHECKPOINT_SINKS = [checkpointing.folder_url, f"{witnessed.url}#{witnessed.vkey}"]
    events_make(2)
    outcome = audit_checkpoint_publish(force=True)
    assert outcome.failed == []
    folder_note = (checkpointing.folder / f"{outcome.checkpoint.size:020d}.note").read_bytes()
    assert note_cosignature_time(folder_note, cosigner_key_from_vkey(witnessed.vkey)) is None
    assert "cosigned by witness.test/w1" in _verify(checkpointing, witnessed.vkey)
    # A database writer can drop the app's copy of the cosignature (not forge one): then it is missing.
    row = AuditCheckpoint.objects.get(pk=outcome.checkpoint.pk)
    AuditCheckpoint.objects.filter(pk=row.pk).update(note=folder_note.decode())
    AuditCheckpointDelivery.objects.filter(checkpoint=row).update(cosignatures=[])
    with pytest.raises(CommandError, match="carries no cosignature by witness 'witness.test/w1'"):
        _verify(checkpointing, witnessed.vkey)
