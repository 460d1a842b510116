"""Export formats (CoNLL, Parquet) and background exports: sealed at rest, redactable, behind short-lived links."""

import io
import json
import time

import pyarrow.parquet as pq
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from annotation.models import ExportRecord, ExportStatus
from annotation.services import exports
from annotation.services.annotations import annotation_submit
from annotation.services.erasure import erasure_request_create, erasure_run
from annotation.services.exports import annotations_export, export_build, export_request
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from governance.models import AuditEvent
from governance.roles import ProjectRole
from projects.models import TaskType
from tests.factories import answer_submit, project_make

pytestmark = pytest.mark.django_db

SPAN_TEXT = "Ada Lovelace wrote to ada@example.org from London."


@pytest.fixture
def span_project(manager, annotator):
    project = project_make(
        manager=manager,
        name="People",
        task_type=TaskType.SPANS,
        labels=[{"name": "PER", "color": "#1f77b4"}, {"name": "LOC", "color": "#ff7f0e"}],
        texts=["placeholder"],
        members={annotator: ProjectRole.ANNOTATOR},
    )
    project_update(actor=manager, project=project, gold_rate=0.0)
    item = project.items.get()
    item.text = SPAN_TEXT
    item.save()
    held = queue_next_item(actor=annotator, project=project)
    annotation_submit(
        actor=annotator,
        item=held,
        value={"spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 43, "end": 49, "label": "LOC"}]},
    )
    return project


FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture
def labelled(project, annotator):
    """Three labelled items, the first of which is a spreadsheet formula."""
    first = project.items.order_by("pk").first()
    first.text = FORMULA
    first.save()
    for item in project.items.order_by("pk")[:3]:
        answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    return project


def _built(project, actor, fmt, redact=False) -> ExportRecord:
    export = export_request(actor=actor, project=project, fmt=fmt, redact=redact)
    return export_build(export_id=export.pk)


def _download(client, export) -> bytes:
    detail = client.get(reverse("api:export-job", args=[export.project_id, export.pk]))
    assert detail.status_code == 200, detail.content
    response = client.get(detail.json()["download_url"])
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def test_streams_span_annotations_as_conll_bio_tokens(span_project, manager):
    text = b"".join(annotations_export(actor=manager, project=span_project, fmt="conll")).decode()
    assert "Ada B-PER\nLovelace I-PER\nwrote O" in text
    assert "London. B-LOC" in text
    assert "# annotator = " in text


def test_refuses_conll_for_a_classification_project_naming_the_format(project, manager):
    with pytest.raises(ValidationError) as error:
        annotations_export(actor=manager, project=project, fmt="conll")
    assert "format" in error.value.message_dict


def test_builds_a_parquet_export_that_is_sealed_at_rest_and_downloads_through_a_signed_link(
    labelled, manager, api_client
):
    export = _built(labelled, manager, "parquet")
    assert export.status == ExportStatus.READY
    assert (export.progress_total, export.progress_done) == (3, 3)
    first = labelled.items.order_by("pk").first()
    assert export.item_ranges[0][0] == first.pk
    with open(export.file_path, "rb") as handle:
        assert first.text.encode() not in handle.read()

    table = pq.read_table(io.BytesIO(_download(api_client(manager), export)))
    assert table.num_rows == 3
    assert table.column("text").to_pylist()[0] == first.text
    assert table.column("labels").to_pylist()[0] == ["positive"]
    assert AuditEvent.objects.filter(action="export.download", target_id=str(export.pk)).exists()


def test_background_csv_export_neutralises_spreadsheet_formulas(labelled, manager, api_client):
    export = _built(labelled, manager, "csv")
    body = _download(api_client(manager), export).decode()
    assert "'" + FORMULA in body


def test_redacted_export_overwrites_personal_data_and_keeps_span_offsets(span_project, manager, api_client):
    export = _built(span_project, manager, "jsonl", redact=True)
    record = json.loads(_download(api_client(manager), export))
    assert "ada@example.org" not in record["text"]
    assert "*" * len("ada@example.org") in record["text"]
    assert record["text"][:12] == "Ada Lovelace" or record["text"][:12] == "*" * 12
    assert len(record["text"]) == len(SPAN_TEXT)
    assert record["meta"] is None


def test_denies_a_download_link_made_for_another_user(labelled, manager, ml_engineer, api_client):
    export = _built(labelled, manager, "jsonl")
    link = api_client(manager).get(reverse("api:export-job", args=[labelled.pk, export.pk])).json()["download_url"]
    assert api_client(ml_engineer).get(link).status_code == 403


def test_denies_an_expired_download_link(labelled, manager, api_client, monkeypatch):
    export = _built(labelled, manager, "jsonl")
    client = api_client(manager)
    link = client.get(reverse("api:export-job", args=[labelled.pk, export.pk])).json()["download_url"]
    monkeypatch.setattr(exports, "EXPORT_LINK_SECONDS", -1)
    response = client.get(link)
    assert response.status_code == 403
    assert "expired" in response.json()["detail"]


def test_allows_ml_engineer_to_start_a_background_export(project, ml_engineer, api_client):
    response = api_client(ml_engineer).post(
        reverse("api:exports", args=[project.pk]), {"format": "parquet", "redact": True}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued" and response.json()["redacted"] is True
    assert response["Location"] == reverse("api:export-job", args=[project.pk, response.json()["id"]])


def test_denies_annotator_to_start_a_background_export(project, annotator, api_client):
    response = api_client(annotator).post(reverse("api:exports", args=[project.pk]), {"format": "csv"}, format="json")
    assert response.status_code == 403
    assert not ExportRecord.objects.exists()


def test_rejects_an_unknown_export_format_naming_the_field(project, manager, api_client):
    response = api_client(manager).post(reverse("api:exports", args=[project.pk]), {"format": "xlsx"}, format="json")
    assert response.status_code == 400 and "format" in response.json()


def test_erasure_destroys_export_files_that_held_the_subjects_items(labelled, manager, admin_user, api_client):
    item = labelled.items.order_by("pk").first()
    export = _built(labelled, manager, "jsonl")
    item.meta = {"customer_id": "C-1234"}
    item.save()
    erasure_run(request_id=erasure_request_create(actor=admin_user, identifier="C-1234").pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.ERASED and export.file_path == ""
    detail = api_client(manager).get(reverse("api:export-job", args=[labelled.pk, export.pk])).json()
    assert detail["download_url"] is None


def test_export_worker_builds_the_file_with_progress(transactional_db, celery_worker_process, labelled, manager):
    export = export_request(actor=manager, project=labelled, fmt="parquet")
    deadline = time.monotonic() + 60
    while export.is_active and time.monotonic() < deadline:
        time.sleep(0.2)
        export.refresh_from_db()
    assert export.status == ExportStatus.READY, export.error or export.status
    assert export.progress_done == export.progress_total == 3
