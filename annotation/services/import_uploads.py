"""An import's upload on disk: a sealed byte stream under the project key, read back one chunk at a time."""

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from annotation.models import ImportJob
from governance.crypto import open_sealed
from governance.keyring import project_cipher
from governance.sealed_files import (
    BYTES_CHUNK,
    BYTES_MAGIC,
    SealedBytesWriter,
    sealed_bytes_read,
    sealed_frames_read,
)

CHUNK_BYTES = BYTES_CHUNK


def _upload_name(job: ImportJob) -> str:
    # Frames name their job: an upload moved to another job's path does not open.
    return f"importjob:{job.pk}"


def upload_seal(*, job: ImportJob, stream) -> None:
    """Copy the upload to ARTIFACT_DIR as a sealed byte stream, one chunk in memory at a time."""
    folder = Path(settings.ARTIFACT_DIR) / "imports" / f"project-{job.project_id}"
    path = folder / f"{job.pk}-{uuid.uuid4().hex}.sealed"
    writer = SealedBytesWriter(path, cipher=project_cipher(job.project_id), name=_upload_name(job))
    try:
        while chunk := stream.read(CHUNK_BYTES):
            writer.write(chunk)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    job.upload_path, job.upload_bytes = str(path), writer.tell()


def _legacy_upload_chunks(job: ImportJob, path: Path) -> Iterator[bytes]:
    """Chunks of an upload sealed in the framing imports used before they shared sealed_files.py.

    Kept because such an upload can outlive an upgrade: a job still queued when the new release
    starts keeps its upload until a worker runs it (queued jobs never expire; only running jobs
    whose worker died are reaped). The framing has no magic line and names each chunk
    ("importjob.upload", job, index, 0 or 1). Remove once no queued job predates that release.
    """
    cipher = project_cipher(job.project_id)

    def open_frame(blob: bytes, index: int, last: bool) -> bytes:
        context = cipher.context("importjob.upload", job.pk, index, int(last))
        return open_sealed(cipher.aead, blob, context)

    with open(path, "rb") as handle:
        yield from sealed_frames_read(handle, label=path.name, open_frame=open_frame)


def _upload_chunks(job: ImportJob) -> Iterator[bytes]:
    path = Path(job.upload_path)
    with open(path, "rb") as handle:
        legacy = handle.read(len(BYTES_MAGIC)) != BYTES_MAGIC
    if legacy:
        return _legacy_upload_chunks(job, path)
    return sealed_bytes_read(path, cipher=project_cipher(job.project_id), name=_upload_name(job))


class SealedUploadReader(io.RawIOBase):
    """The sealed upload read back one chunk at a time: memory stays flat as the file grows."""

    def __init__(self, job: ImportJob):
        self._chunks = _upload_chunks(job)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        size = min(len(target), len(self._buffer))
        target[:size], self._buffer = self._buffer[:size], self._buffer[size:]
        return size

    def close(self) -> None:
        if chunks := getattr(self, "_chunks", None):  # absent when the file did not open
            chunks.close()
        super().close()


def upload_delete(job: ImportJob) -> None:
    if job.upload_path:
        Path(job.upload_path).unlink(missing_ok=True)
        ImportJob.objects.filter(pk=job.pk).update(upload_path="")
