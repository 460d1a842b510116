"""Sealed files: records and byte streams read back as written, and any cut, swap or edit is caught."""

import io
import os
import struct

import pytest

from governance.crypto import DecryptionError, FieldCipher, open_sealed, seal
from governance.sealed_files import (
    BYTES_CHUNK,
    BYTES_MAGIC,
    CHUNK_RECORDS,
    MAGIC,
    SealedBytesWriter,
    SealedFileError,
    sealed_bytes_read,
    sealed_frames_read,
    sealed_jsonl_read,
    sealed_jsonl_write,
)


@pytest.fixture
def cipher():
    return FieldCipher.from_data_key(project_id=7, data_key=os.urandom(32))


def _bytes_file(path, cipher, data: bytes, name="export:1"):
    writer = SealedBytesWriter(path, cipher=cipher, name=name)
    writer.write(data)
    writer.close()
    return path


def test_records_read_back_as_written_across_chunks(tmp_path, cipher):
    records = [{"id": index, "text": f"é {index}"} for index in range(CHUNK_RECORDS * 2 + 5)]
    path = tmp_path / "v.sealed"
    size = sealed_jsonl_write(path, records, cipher=cipher, name="dataset:1")
    assert size == path.stat().st_size and path.read_bytes().startswith(MAGIC)
    assert list(sealed_jsonl_read(path, cipher=cipher, name="dataset:1")) == records
    assert not path.with_name("v.sealed.partial").exists()


def test_an_empty_records_file_reads_back_empty(tmp_path, cipher):
    path = tmp_path / "empty.sealed"
    sealed_jsonl_write(path, [], cipher=cipher, name="dataset:1")
    assert list(sealed_jsonl_read(path, cipher=cipher, name="dataset:1")) == []


def test_a_byte_stream_reads_back_chunk_by_chunk(tmp_path, cipher):
    data = os.urandom(BYTES_CHUNK * 2 + 10)
    path = _bytes_file(tmp_path / "e.sealed", cipher, data)
    chunks = list(sealed_bytes_read(path, cipher=cipher, name="export:1"))
    assert b"".join(chunks) == data and [len(chunk) for chunk in chunks] == [
        BYTES_CHUNK,
        BYTES_CHUNK,
        10,
    ]


def test_an_aborted_byte_stream_leaves_no_file(tmp_path, cipher):
    writer = SealedBytesWriter(tmp_path / "e.sealed", cipher=cipher, name="export:1")
    writer.write(b"half")
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_file_of_the_other_kind(tmp_path, cipher):
    path = _bytes_file(tmp_path / "e.sealed", cipher, b"abc")
    with pytest.raises(SealedFileError, match="is not a sealed records file"):
        list(sealed_jsonl_read(path, cipher=cipher, name="export:1"))


def test_refuses_a_file_sealed_under_another_name(tmp_path, cipher):
    path = _bytes_file(tmp_path / "e.sealed", cipher, b"abc", name="export:1")
    with pytest.raises(SealedFileError, match="Chunk 0 of e.sealed does not open"):
        list(sealed_bytes_read(path, cipher=cipher, name="export:2"))


@pytest.mark.parametrize(
    "cut, message",
    [(-5, "ends inside chunk 1"), (None, "ends before its last chunk")],
)
def test_notices_a_file_cut_short(tmp_path, cipher, cut, message):
    path = _bytes_file(tmp_path / "e.sealed", cipher, os.urandom(BYTES_CHUNK + 1))
    content = path.read_bytes()
    first_frame_end = (
        len(BYTES_MAGIC)
        + 4
        + struct.unpack(">I", content[len(BYTES_MAGIC) : len(BYTES_MAGIC) + 4])[0]
    )
    path.write_bytes(content[:cut] if cut else content[:first_frame_end])
    with pytest.raises(SealedFileError, match=message):
        list(sealed_bytes_read(path, cipher=cipher, name="export:1"))


def test_notices_data_after_the_last_chunk(tmp_path, cipher):
    path = _bytes_file(tmp_path / "e.sealed", cipher, b"abc")
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(SealedFileError, match="has data after its last chunk"):
        list(sealed_bytes_read(path, cipher=cipher, name="export:1"))


def test_the_frame_reader_takes_any_framing_of_length_and_ciphertext(cipher):
    """The reader the old import-upload framing still goes through: its own associated data."""

    def context(index, last):
        return f"other:{index}:{int(last)}".encode()

    frames = b"".join(
        struct.pack(">I", len(blob)) + blob
        for blob in (
            seal(cipher.aead, b"one ", context(0, False)),
            seal(cipher.aead, b"two", context(1, True)),
        )
    )

    def open_frame(blob, index, last):
        return open_sealed(cipher.aead, blob, context(index, last))

    assert list(sealed_frames_read(io.BytesIO(frames), label="f", open_frame=open_frame)) == [
        b"one ",
        b"two",
    ]
    with pytest.raises(SealedFileError, match="Chunk 0 of f does not open"):

        def refuse(blob, index, last):
            raise DecryptionError("no")

        list(sealed_frames_read(io.BytesIO(frames), label="f", open_frame=refuse))
