"""The whole labelling loop through the API, with pre-annotation run by a real Celery worker."""

import csv
import io
import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.conftest import creator_grant
from tests.conftest import SAMPLE_TEXTS
from tests.factories import user_make

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PREANNOTATION_TIMEOUT_SECONDS = 240
TEXTS = SAMPLE_TEXTS + [
    "Customer service never called me back, very disappointing.",
    "Fantastic quality, I will order again.",
]


def _ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json() if response.content else None


def _wait_for_job(client, project_id: int, job_id: int) -> dict:
    deadline = time.monotonic() + PREANNOTATION_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        job = _ok(client.get(f"/api/projects/{project_id}/preannotate/{job_id}/"))
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.5)
    pytest.fail(
        f"Pre-annotation job {job_id} did not finish in {PREANNOTATION_TIMEOUT_SECONDS} s: {job}"
    )


def test_creates_imports_labels_preannotates_suggests_and_exports(
    api_client, celery_worker_process
):
    lead = api_client(creator_grant(user_make("lead")))
    user_make("labeller")
    labeller = api_client(None)
    token = _ok(
        labeller.post(
            "/api/auth/token/", {"username": "labeller", "password": "correct-horse-battery"}
        )
    )
    labeller.credentials(HTTP_AUTHORIZATION=f"Token {token['token']}")

    project = _ok(
        lead.post(
            "/api/projects/",
            {
                "name": "Reviews",
                "task_type": "single_label",
                "labels": [
                    {
                        "name": "positive",
                        "description": "The writer is pleased, happy or approving.",
                    },
                    {
                        "name": "negative",
                        "description": "The writer is unhappy, angry or critical.",
                    },
                    {
                        "name": "neutral",
                        "description": "Plain facts with no clear feeling either way.",
                    },
                ],
            },
            format="json",
        ),
        201,
    )
    pid = project["id"]
    _ok(
        lead.post(
            f"/api/projects/{pid}/members/",
            {"username": "labeller", "role": "annotator"},
            format="json",
        ),
        201,
    )

    lines = "".join(
        json.dumps({"id": f"r{index}", "text": text}) + "\n" for index, text in enumerate(TEXTS)
    )
    upload = SimpleUploadedFile("reviews.jsonl", lines.encode())
    # The import is a background job: the worker reads the file, the client polls the job's url.
    job = _ok(lead.post(f"/api/projects/{pid}/import/", {"file": upload}, format="multipart"), 202)
    deadline = time.monotonic() + PREANNOTATION_TIMEOUT_SECONDS
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = _ok(lead.get(job["url"]))
    counts = {key: job[key] for key in ("status", "rows_read", "created", "skipped", "errors_count")}
    assert counts == {
        "status": "succeeded",
        "rows_read": len(TEXTS),
        "created": len(TEXTS),
        "skipped": 0,
        "errors_count": 0,
    }, job

    # Label two items by hand and skip one; no model has run, so no suggestion yet.
    answers = {}
    for label in ("positive", "negative"):
        handed = _ok(labeller.post(f"/api/projects/{pid}/next/"))
        assert handed["suggestion"] is None
        item_id = handed["item"]["id"]
        body = {"value": {"labels": [label]}, "lead_time_ms": 1800}
        _ok(
            labeller.post(f"/api/projects/{pid}/items/{item_id}/annotations/", body, format="json"),
            201,
        )
        answers[item_id] = [label]
    skipped = _ok(labeller.post(f"/api/projects/{pid}/next/"))["item"]["id"]
    _ok(
        labeller.post(
            f"/api/projects/{pid}/items/{skipped}/skip/", {"reason": "sarcasm?"}, format="json"
        ),
        201,
    )

    started = lead.post(f"/api/projects/{pid}/preannotate/")
    job = _ok(started, 202)["job"]
    job = _wait_for_job(lead, pid, job["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["items_total"] == job["items_done"] == len(TEXTS) - 2
    assert _ok(lead.get(f"/api/projects/{pid}/predictions/"))["count"] == len(TEXTS) - 2

    # The next item now comes with the model's suggestion; the labeller accepts it.
    handed = _ok(labeller.post(f"/api/projects/{pid}/next/"))
    suggestion = handed["suggestion"]
    assert suggestion is not None and suggestion["model_version"] == job["model_version"]
    assert len(suggestion["value"]["labels"]) == 1 and suggestion["value"]["labels"][0] in {
        "positive",
        "negative",
        "neutral",
    }
    accepted = handed["item"]["id"]
    body = {"value": suggestion["value"], "lead_time_ms": 600, "prediction_id": suggestion["id"]}
    annotation = _ok(
        labeller.post(f"/api/projects/{pid}/items/{accepted}/annotations/", body, format="json"),
        201,
    )
    assert annotation["prediction"] == suggestion["id"]
    answers[accepted] = suggestion["value"]["labels"]

    exported = lead.get(f"/api/projects/{pid}/export/?format=jsonl")
    assert exported.status_code == 200
    records = [
        json.loads(line) for line in b"".join(exported.streaming_content).decode().splitlines()
    ]
    assert {
        record["id"]: record["annotations"][0]["value"]["labels"] for record in records
    } == answers
    assert skipped not in {record["id"] for record in records}
    assert all(record["annotations"][0]["annotator"] == "labeller" for record in records)

    exported = lead.get(f"/api/projects/{pid}/export/?format=csv")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert {int(row["item_id"]): row["labels"].split(";") for row in rows} == answers
    assert {row["external_id"] for row in rows} <= {f"r{index}" for index in range(len(TEXTS))}
