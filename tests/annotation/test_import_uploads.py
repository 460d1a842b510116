"""Import uploads are sealed byte streams; uploads sealed in the framing of earlier releases still import."""

import io
import json
from pathlib import Path

import pytest

from annotation.services.import_jobs import import_job_create, import_job_run
from annotation.services.import_uploads import SealedUploadReader
from common.jobs.models import JobStatus
from governance.crypto import seal
from governance.keyring import project_cipher
from governance.sealed_files import BYTES_MAGIC, SealedFileError

pytestmark = pytest.mark.django_db

ROWS = b"".join(json.dumps({"text": f"row number {n}"}).encode() + b"\n" for n in range(5))


def _queued(project, actor, content: bytes = ROWS):
    return import_job_create(
        actor=actor, project=project, stream=io.BytesIO(content), filename="rows.jsonl"
    )


def _legacy_seal(job, content: bytes, chunk_bytes: int) -> None:
    """Rewrite the job's upload as releases before the shared sealed files wrote it."""
    cipher = project_cipher(job.project_id)
    chunks = [content[at : at + chunk_bytes] for at in range(0, len(content), chunk_bytes)] or [b""]
    with open(job.upload_path, "wb") as out:
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            context = cipher.context("importjob.upload", job.pk, index, int(last))
            blob = seal(cipher.aead, chunk, context)
            out.write(len(blob).to_bytes(4, "big") + blob)


def _read(job) -> bytes:
    reader = SealedUploadReader(job)
    try:
        return io.BufferedReader(reader).read()
    finally:
        reader.close()


def test_an_upload_is_stored_as_a_sealed_byte_stream_and_reads_back(project, manager):
    job = _queued(project, manager)
    stored = Path(job.upload_path).read_bytes()
    assert stored.startswith(BYTES_MAGIC) and b"row number" not in stored
    assert job.upload_bytes == len(ROWS) and _read(job) == ROWS


def test_an_empty_upload_reads_back_empty(project, manager):
    job = _queued(project, manager, b"")
    assert job.upload_bytes == 0 and _read(job) == b""


@pytest.mark.parametrize("chunk_bytes", [7, 1 << 20])
def test_an_upload_sealed_in_the_earlier_framing_still_reads_back(project, manager, chunk_bytes):
    job = _queued(project, manager)
    _legacy_seal(job, ROWS, chunk_bytes)
    assert _read(job) == ROWS


def test_a_job_queued_before_an_upgrade_imports_its_upload_in_the_earlier_framing(project, manager):
    job = _queued(project, manager)
    _legacy_seal(job, ROWS, chunk_bytes=16)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.created) == (JobStatus.SUCCEEDED, 5)


def test_an_upload_of_another_job_does_not_open(project, manager):
    first, second = _queued(project, manager), _queued(project, manager)
    Path(second.upload_path).write_bytes(Path(first.upload_path).read_bytes())
    with pytest.raises(SealedFileError, match="does not open"):
        _read(second)


def test_an_upload_in_the_earlier_framing_cut_short_is_refused(project, manager):
    job = _queued(project, manager)
    _legacy_seal(job, ROWS, chunk_bytes=16)
    content = Path(job.upload_path).read_bytes()
    Path(job.upload_path).write_bytes(content[: len(content) // 2])
    with pytest.raises(SealedFileError, match="cut short"):
        _read(job)
