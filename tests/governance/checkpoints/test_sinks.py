"""The folder and syslog checkpoint sinks, and reading notes back from a folder or a receiver's file."""

import base64
import os

import pytest

from governance.checkpoints.note import Checkpoint, note_key_generate, note_sign
from governance.checkpoints.sinks import (
    SYSLOG_NOTE_MARKER,
    CheckpointSinkError,
    FolderSink,
    SyslogSink,
    checkpoint_sink_from_url,
    checkpoint_sinks_from_urls,
    syslog_notes_find,
)
from governance.checkpoints.verify import checkpoint_sources_read
from tests.governance.checkpoints.conftest import free_port

KEY = note_key_generate("sensitive-annotator/test")


def _note(size: int, head: str = "a") -> tuple[bytes, Checkpoint]:
    checkpoint = Checkpoint("sensitive-annotator/test", size, head * 64)
    return note_sign(checkpoint.body(), KEY), checkpoint


def _no_payloads(after, upto):
    raise AssertionError("these sinks ask for no proof")


def test_the_folder_sink_writes_one_file_per_checkpoint_named_by_zero_padded_size(tmp_path):
    sink = checkpoint_sink_from_url(f"file://{tmp_path}/checkpoints")
    for size in (3, 12):
        note, checkpoint = _note(size)
        assert sink.publish(note, checkpoint, payloads=_no_payloads) == []
    names = sorted(os.listdir(tmp_path / "checkpoints"))
    assert names == ["00000000000000000003.note", "00000000000000000012.note"]
    assert (tmp_path / "checkpoints" / names[1]).read_bytes() == _note(12)[0]
    assert [note for note in sink.read_all()] == [_note(3)[0], _note(12)[0]]


def test_the_folder_sink_takes_the_same_checkpoint_again_cosigned_or_not(tmp_path):
    sink = FolderSink(f"file://{tmp_path}")
    note, checkpoint = _note(5)
    sink.publish(note, checkpoint, payloads=_no_payloads)
    cosigned = note + note_sign(checkpoint.body(), note_key_generate("witness")).split(b"\n\n")[1]
    sink.publish(cosigned, checkpoint, payloads=_no_payloads)
    assert list(sink.read_all()) == [note]


def test_the_folder_sink_refuses_a_different_checkpoint_of_a_published_size(tmp_path):
    sink = FolderSink(f"file://{tmp_path}")
    sink.publish(*_note(5), payloads=_no_payloads)
    with pytest.raises(CheckpointSinkError, match="split view: 00000000000000000005.note already holds a different"):
        sink.publish(*_note(5, head="b"), payloads=_no_payloads)
    assert list(sink.read_all()) == [_note(5)[0]]


def test_the_folder_sink_refuses_a_checkpoint_smaller_than_one_it_holds(tmp_path):
    sink = FolderSink(f"file://{tmp_path}")
    sink.publish(*_note(9), payloads=_no_payloads)
    with pytest.raises(CheckpointSinkError, match="rollback: a checkpoint of size 9 is already here"):
        sink.publish(*_note(4), payloads=_no_payloads)


def test_the_folder_sink_leaves_no_temporary_file_behind_and_says_when_it_cannot_write(tmp_path):
    sink = FolderSink(f"file://{tmp_path}")
    sink.publish(*_note(1), payloads=_no_payloads)
    assert os.listdir(tmp_path) == ["00000000000000000001.note"]
    tmp_path.chmod(0o500)
    try:
        if os.geteuid() != 0:  # root writes anyway
            with pytest.raises(CheckpointSinkError, match="cannot write 00000000000000000002.note"):
                sink.publish(*_note(2), payloads=_no_payloads)
    finally:
        tmp_path.chmod(0o700)


def test_the_syslog_sink_sends_one_rfc5424_message_per_checkpoint(syslog_receiver):
    sink = checkpoint_sink_from_url(f"syslog+tcp://127.0.0.1:{syslog_receiver.port}")
    note, checkpoint = _note(7)
    assert sink.publish(note, checkpoint, payloads=_no_payloads) == []
    (message,) = syslog_receiver.wait_for(1)
    header, _, msg = message.partition(" [")
    pri_version, timestamp, host, app, pid, msgid = header.split(" ")
    assert (pri_version, app, msgid) == ("<109>1", "sensitive-annotator", "checkpoint")
    assert timestamp.endswith("Z") and pid == str(os.getpid())
    assert f'origin="sensitive-annotator/test" size="7" head="{"a" * 64}"]' in msg
    assert msg.split(SYSLOG_NOTE_MARKER)[1] == base64.b64encode(note).decode()
    assert syslog_notes_find(message) == [note]


def test_the_syslog_sink_says_which_receiver_it_could_not_reach():
    port = free_port()
    sink = SyslogSink(f"syslog+tcp://127.0.0.1:{port}")
    with pytest.raises(CheckpointSinkError, match=f"syslog\\+tcp://127.0.0.1:{port}: cannot deliver"):
        sink.publish(*_note(1), payloads=_no_payloads)


def test_a_receivers_file_of_messages_reads_back_as_notes(syslog_receiver, tmp_path):
    sink = SyslogSink(f"syslog+tcp://127.0.0.1:{syslog_receiver.port}")
    for size in (1, 2):
        sink.publish(*_note(size), payloads=_no_payloads)
    received = tmp_path / "received.log"
    # A receiver's file: its own prefix on each line, the message as received.
    received.write_text("".join(f"Dec  7 16:00:00 host {m}\n" for m in syslog_receiver.wait_for(2)))
    assert [source.note for source in checkpoint_sources_read(str(received))] == [_note(1)[0], _note(2)[0]]


def test_a_file_of_notes_one_after_another_reads_back_note_by_note(tmp_path):
    notes = [_note(1)[0], _note(2)[0], _note(3)[0]]
    path = tmp_path / "notes.txt"
    path.write_bytes(notes[0] + notes[1] + b"\n" + notes[2])
    sources = checkpoint_sources_read(str(path))
    assert [source.note for source in sources] == notes
    assert [source.label for source in sources] == [f"{path}:1", f"{path}:6", f"{path}:12"]


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://host/x", "no sink handles 'ftp' URLs"),
        ("file://relative/folder", "file:///absolute/folder"),
        ("syslog+tcp://host", "syslog\\+tcp://host:port"),
    ],
)
def test_a_sink_url_it_cannot_use_is_refused_naming_it(url, message):
    with pytest.raises(CheckpointSinkError, match=message):
        checkpoint_sink_from_url(url)


def test_a_sink_listed_twice_is_refused(tmp_path):
    with pytest.raises(CheckpointSinkError, match="listed twice"):
        checkpoint_sinks_from_urls([f"file://{tmp_path}", f"file://{tmp_path}"])
