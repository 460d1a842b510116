"""Checkpoints sent to a real rsyslog receiver on loopback, then verified from the file it wrote."""

import pytest
from django.core.management import CommandError, call_command

from governance.services.checkpoints import audit_checkpoint_publish
from tests.governance.siem_support import Rsyslog
from tests.governance.test_audit import _raw
from tests.governance.test_auditor_pages import events_append

pytestmark = pytest.mark.django_db


def test_rsyslog_parses_each_checkpoint_message_and_its_file_verifies_the_trail(checkpointing, settings, tmp_path, capsys):
    receiver = Rsyslog(tmp_path / "rsyslog")
    settings.AUDIT_CHECKPOINT_SINKS = [receiver.sink]
    receiver.start()
    try:
        for _ in range(3):
            events_append(4)
            outcome = audit_checkpoint_publish(force=True)
            assert not outcome.failed
    finally:
        receiver.stop()  # a clean stop writes out what it read
    lines = receiver.output.read_text().splitlines()
    assert len(lines) == 3
    facility, severity, _host, app, _pid, msgid, _time, data, message = lines[0].split("|", 8)
    assert (facility, severity, app, msgid) == ("audit", "notice", "sensitive-annotator", "checkpoint")  # facility 13
    assert data.startswith('[checkpoint@32473 origin="sensitive-annotator/test" size="4" head="')
    assert message.startswith("checkpoint-note:")

    call_command("audit_verify", checkpoints=[str(receiver.output)], key=[checkpointing.key.vkey()])
    assert "consistent with 3 signed checkpoint(s) up to size 14" in capsys.readouterr().out
    _raw("DELETE FROM governance_auditevent WHERE seq > 12")
    with pytest.raises(CommandError, match=r"First contradicted checkpoint of size 14 \(.*received.log \(message 3\)\)"):
        call_command("audit_verify", checkpoints=[str(receiver.output)], key=[checkpointing.key.vkey()])
