"""The audit archive file on its own (no database): written once, read back only whole and as signed."""

import datetime as dt
import gzip
import hashlib
import json

import pytest

from governance.audit import GENESIS_HASH
from governance.checkpoints.archive import ArchiveFileError, archive_file_read, archive_file_write
from governance.checkpoints.note import Checkpoint, CheckpointError, note_key_generate, note_sign

ORIGIN = "sensitive-annotator/file-test"
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _chain(count: int) -> list[bytes]:
    payloads, head = [], GENESIS_HASH
    for seq in range(1, count + 1):
        body = {"seq": seq, "prev_hash": head, "created_at": (START + dt.timedelta(minutes=seq)).isoformat(), "action": "item.read"}
        payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        payloads.append(payload)
        head = hashlib.sha256(payload).hexdigest()
    return payloads


@pytest.fixture
def written(tmp_path):
    key = note_key_generate(ORIGIN)
    payloads = _chain(5)
    head = hashlib.sha256(payloads[-1]).hexdigest()
    note = note_sign(Checkpoint(origin=ORIGIN, size=5, head_hash=head).body(), key).decode()
    header = {"origin": ORIGIN, "checkpoint_note": note, "created_at": START.isoformat()}
    path, manifest, sha256 = archive_file_write(tmp_path, header=header, payloads=payloads, key=key)
    return key, payloads, path, manifest, header


def _rewrite(path, lines: list[bytes]) -> None:
    path.chmod(0o644)
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))


def test_a_written_archive_reads_back_the_same_payloads_under_its_signed_manifest(written):
    key, payloads, path, manifest, _ = written
    read = list(archive_file_read(path, [key.public_only()]))
    assert [payload for _, payload in read] == payloads
    assert (manifest.first_seq, manifest.last_seq, manifest.count) == (1, 5, 5)
    assert manifest.earliest_created_at.startswith("2025-01-01T00:01:00")
    assert not list(path.parent.glob("*.partial")) and path.stat().st_mode & 0o222 == 0


def test_an_archive_file_is_never_replaced(written, tmp_path):
    key, payloads, path, _, header = written
    with pytest.raises(ArchiveFileError, match="already exists: an archive file is never replaced"):
        archive_file_write(tmp_path, header=header, payloads=payloads, key=key)
    assert not list(tmp_path.glob("*.partial"))


def test_a_cut_or_extended_file_does_not_read(written):
    key, _, path, _, _ = written
    lines = gzip.decompress(path.read_bytes()).splitlines()
    _rewrite(path, lines[:3] + lines[-1:])  # events 3..5 dropped, signature kept
    with pytest.raises(ArchiveFileError, match="ends at event #2, its manifest says #5"):
        list(archive_file_read(path, [key.public_only()]))
    _rewrite(path, lines + [lines[1]])
    with pytest.raises(ArchiveFileError, match="the signature line is missing or not last"):
        list(archive_file_read(path, [key.public_only()]))


def test_a_changed_manifest_fails_its_signature(written):
    key, _, path, _, _ = written
    lines = gzip.decompress(path.read_bytes()).splitlines()
    lines[0] = lines[0].replace(b'"created_at":"2025', b'"created_at":"2024')
    _rewrite(path, lines)
    with pytest.raises(ArchiveFileError, match="manifest's signature by .* does not verify"):
        list(archive_file_read(path, [key.public_only()]))


def test_a_chain_that_does_not_link_is_not_written(tmp_path):
    key = note_key_generate(ORIGIN)
    payloads = _chain(3)
    with pytest.raises(CheckpointError, match="event 3: prev_hash does not match"):
        archive_file_write(tmp_path, header={}, payloads=[payloads[0], payloads[1].replace(b"item", b"xtem"), payloads[2]], key=key)
    assert list(tmp_path.iterdir()) == []
