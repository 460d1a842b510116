"""An import's upload on disk: sealed chunk by chunk under the project key, read back one chunk at a time."""

import io
import uuid
from pathlib import Path

from django.conf import settings

from annotation.models import ImportJob
from governance.crypto import open_sealed, seal
from governance.keyring import project_cipher

CHUNK_BYTES = 1024 * 1024


def _chunk_context(job: ImportJob, index: int, last: bool) -> bytes:
    # Each chunk names its job, position and whether it ends the file: chunks cannot be
    # reordered, moved to another job, or the file cut short without the open failing.
    return project_cipher(job.project_id).context("importjob.upload", job.pk, index, int(last))


def upload_seal(*, job: ImportJob, stream) -> None:
    """Copy the upload to ARTIFACT_DIR chunk by chunk, each sealed under the project key."""
    folder = Path(settings.ARTIFACT_DIR) / "imports" / f"project-{job.project_id}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job.pk}-{uuid.uuid4().hex}.sealed"
    aead, size, index = project_cipher(job.project_id).aead, 0, 0
    with path.open("wb") as out:
        chunk = stream.read(CHUNK_BYTES)
        while True:
            following = stream.read(CHUNK_BYTES) if chunk else b""
            blob = seal(aead, chunk, _chunk_context(job, index, not following))
            out.write(len(blob).to_bytes(4, "big") + blob)
            size += len(chunk)
            index += 1
            if not following:
                break
            chunk = following
    job.upload_path, job.upload_bytes = str(path), size


class SealedUploadReader(io.RawIOBase):
    """The sealed upload read back one chunk at a time: memory stays flat as the file grows."""

    def __init__(self, job: ImportJob):
        self._file = open(job.upload_path, "rb")  # noqa: SIM115 - closed with the reader
        self._job, self._aead = job, project_cipher(job.project_id).aead
        self._index, self._buffer, self._done = 0, b"", False

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer and not self._done:
            header = self._file.read(4)
            if len(header) < 4:
                raise ValueError("the sealed upload ends before its last chunk")
            blob = self._file.read(int.from_bytes(header, "big"))
            # Try "not last" first: every chunk but one is.
            for last in (False, True):
                try:
                    self._buffer = open_sealed(
                        self._aead, blob, _chunk_context(self._job, self._index, last)
                    )
                    self._done = last
                    break
                except Exception:
                    if last:
                        raise
            self._index += 1
        size = min(len(target), len(self._buffer))
        target[:size], self._buffer = self._buffer[:size], self._buffer[size:]
        return size

    def close(self) -> None:
        self._file.close()
        super().close()


def upload_delete(job: ImportJob) -> None:
    if job.upload_path:
        Path(job.upload_path).unlink(missing_ok=True)
        ImportJob.objects.filter(pk=job.pk).update(upload_path="")
