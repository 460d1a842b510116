"""A sealed file that cannot be finished (a full disk, a failing source) leaves no partial file behind.

The full disk is real: the partial file's name points at /dev/full, where every write that
reaches the device fails with ENOSPC, as on a full volume.
"""

import errno
import os

import pytest

from common.jobs.lifecycle import DISK_FULL, job_error_text
from governance.crypto import FieldCipher
from governance.sealed_files import (
    BYTES_CHUNK,
    SealedBytesWriter,
    sealed_file_discard,
    sealed_jsonl_write,
)


@pytest.fixture
def cipher():
    return FieldCipher.from_data_key(project_id=7, data_key=os.urandom(32))


def _onto_full_disk(path):
    partial = path.with_name(path.name + ".partial")
    partial.symlink_to("/dev/full")
    return partial


def test_a_records_file_on_a_full_disk_fails_with_enospc_and_leaves_no_partial_file(tmp_path, cipher):
    path = tmp_path / "v1.sealed"
    partial = _onto_full_disk(path)
    records = ({"id": index, "text": "x" * 200} for index in range(5000))
    with pytest.raises(OSError) as raised:
        sealed_jsonl_write(path, records, cipher=cipher, name="dataset-version:1")
    assert raised.value.errno == errno.ENOSPC
    assert not path.exists() and not partial.is_symlink() and not partial.exists()


def test_a_records_file_whose_source_fails_midway_leaves_no_partial_file(tmp_path, cipher):
    def records():
        yield {"id": 1}
        raise ValueError("the database went away")

    path = tmp_path / "v2.sealed"
    with pytest.raises(ValueError):
        sealed_jsonl_write(path, records(), cipher=cipher, name="dataset-version:2")
    assert list(tmp_path.iterdir()) == []


def test_aborting_a_byte_stream_whose_close_fails_still_removes_the_partial_file(tmp_path, cipher):
    path = tmp_path / "export-3.sealed"
    partial = _onto_full_disk(path)
    writer = SealedBytesWriter(path, cipher=cipher, name="export:3")
    with pytest.raises(OSError) as raised:
        writer.write(b"y" * (BYTES_CHUNK * 2))
        writer.close()
    assert raised.value.errno == errno.ENOSPC
    writer.abort()  # closing flushes into the full disk again: that error is swallowed here
    assert not partial.is_symlink() and not path.exists()


def test_a_full_disk_is_told_in_words_and_other_errors_as_raised():
    assert job_error_text(OSError(errno.ENOSPC, "No space left on device")) == DISK_FULL
    assert "no space left" in DISK_FULL.lower()
    assert job_error_text(ValueError("bad value")) == "ValueError: bad value"


def test_discarding_a_sealed_file_removes_the_partial_one_beside_it(tmp_path):
    path = tmp_path / "v4.sealed"
    path.write_bytes(b"done")
    path.with_name("v4.sealed.partial").write_bytes(b"half")
    sealed_file_discard(path)
    assert list(tmp_path.iterdir()) == []
