"""The artifact volume fills up during an export: the export fails saying "no space left", the user reads
it on the export's page and in the API, no download is offered and no partial file stays on the volume.

The full disk is real: the worker runs in a mount namespace of its own (``unshare -m``) where the
exports folder is a 16 KiB tmpfs, so writing the file fails with ENOSPC as on a full volume."""

import io
import json
import subprocess

import pytest
from django.urls import reverse

from annotation.models import ExportRecord
from annotation.services.exports import export_request
from annotation.services.imports import items_import
from common.jobs.lifecycle import DISK_FULL
from common.jobs.models import JobStatus
from tests.factories import project_make, user_make
from tests.faults.processes import FaultWorker, broker_of_this_process, wait_for, worker_env

ITEMS = 500
VOLUME = "16k"


def _labelled(count: int) -> bytes:
    return json.dumps([
        {"data": {"text": f"Message {index} about the parcel that came {('late', 'early')[index % 2]}."},
         "annotations": [{"result": [{"from_name": "label", "to_name": "text", "type": "choices",
                                      "value": {"choices": [("positive", "negative")[index % 2]]}}]}]}
        for index in range(count)
    ]).encode()


def _files_seen_by(worker: FaultWorker, folder) -> list[str]:
    """The files under ``folder`` as the worker sees them (inside its mount namespace)."""
    found = subprocess.run(["nsenter", "-t", str(worker.process.pid), "-m", "--", "find", str(folder), "-type", "f"],
                           capture_output=True, text=True, check=True)
    return found.stdout.split()


@pytest.mark.django_db(transaction=True)
def test_an_export_onto_a_full_volume_fails_saying_no_space_left_and_leaves_no_file(
    redis_server, settings, tmp_path, client, api_client
):
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    exports = settings.ARTIFACT_DIR / "exports"
    exports.mkdir(parents=True)
    manager = user_make("manager")
    with broker_of_this_process(redis_server.url):
        project = project_make(manager=manager, active_learning="off")
        items_import(actor=manager, project=project, stream=io.BytesIO(_labelled(ITEMS)), filename="l.json",
                     fmt="labelstudio")
        redis_server.cli("DEL", "default", "gpu")  # the embeddings the import asked for: not this test's
        export = export_request(actor=manager, project=project, fmt="jsonl")

    # mount(8) inside the new namespace only: the machine's view of the folder is untouched.
    full_volume = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                   f'mount -t tmpfs -o size={VOLUME} tmpfs "{exports}" && exec "$@"', "sh"]
    worker = FaultWorker(log_path=tmp_path / "worker.log", prefix=full_volume,
                         env=worker_env(broker_url=redis_server.url, artifact_dir=settings.ARTIFACT_DIR))
    try:
        worker.wait_ready()
        ended = wait_for(lambda: (row := ExportRecord.objects.get(pk=export.pk)).status != JobStatus.QUEUED
                         and not row.is_active and row, what=f"the export to end; worker log:\n{worker.log()[-3000:]}")
        assert ended.status == JobStatus.FAILED
        assert "no space left" in ended.error.lower()
        assert ended.error == DISK_FULL
        assert ended.file_path == ""
        assert _files_seen_by(worker, exports) == [], "a partial export file stayed on the volume"
        assert "No space left on device" in worker.log(), "the worker's volume was really full"
    finally:
        worker.stop()

    reply = api_client(manager).get(reverse("api:export-job", kwargs={"project_id": project.pk, "export_id": export.pk}))
    assert reply.status_code == 200
    assert reply.json()["status"] == "failed"
    assert "no space left" in reply.json()["error"].lower()
    assert reply.json()["download_url"] is None

    client.force_login(manager)
    page = client.get(reverse("annotation:export-job", kwargs={"project_id": project.pk, "export_id": export.pk}))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="export-job-error"' in html and "No space left on the disk" in html
    assert 'id="export-download"' not in html
