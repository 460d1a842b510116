import csv
import io
import json

import pytest

from annotation.services.annotations import item_skip
from governance.models import AuditEvent
from tests.factories import answer_submit, item_hand

pytestmark = pytest.mark.django_db


@pytest.fixture
def annotated(project, annotator, second_annotator):
    first, second, third = project.items.order_by("id")[:3]
    answer_submit(actor=annotator, item=first, value={"labels": ["positive"]}, lead_time_ms=900)
    answer_submit(
        actor=second_annotator, item=second, value={"labels": ["negative"]}, lead_time_ms=1200
    )
    item_hand(actor=annotator, item=third)
    item_skip(actor=annotator, item=third, reason="unclear")
    return project


def _download(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_exports_jsonl_with_one_record_per_annotated_item(annotated, ml_engineer, api_client):
    response = api_client(ml_engineer).get(f"/api/projects/{annotated.pk}/export/?format=jsonl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="project-{annotated.pk}-annotations.jsonl"'
    )
    records = [json.loads(line) for line in _download(response).splitlines()]
    assert [record["annotations"][0]["value"] for record in records] == [
        {"labels": ["positive"]},
        {"labels": ["negative"]},
    ]
    assert records[0]["annotations"][0]["annotator"] == "annotator"


def test_exports_csv_when_asked_with_the_format_parameter(annotated, manager, api_client):
    response = api_client(manager).get(f"/api/projects/{annotated.pk}/export/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(_download(response))))
    assert [(row["annotator"], row["labels"], row["lead_time_ms"]) for row in rows] == [
        ("annotator", "positive", "900"),
        ("annotator2", "negative", "1200"),
    ]


def test_defaults_to_jsonl(annotated, manager, api_client):
    response = api_client(manager).get(f"/api/projects/{annotated.pk}/export/")
    assert response["Content-Type"] == "application/x-ndjson"


def test_rejects_an_unknown_export_format(annotated, manager, api_client):
    response = api_client(manager).get(f"/api/projects/{annotated.pk}/export/?format=xlsx")
    assert response.status_code == 400
    assert "format" in response.json()


def test_records_the_export_in_the_audit_trail(annotated, ml_engineer, api_client):
    _download(api_client(ml_engineer).get(f"/api/projects/{annotated.pk}/export/?format=csv"))
    event = AuditEvent.objects.filter(action="annotation.export").get()
    assert event.actor == ml_engineer and event.details == {"format": "csv"}


def test_denies_an_annotator_to_export(annotated, annotator, api_client):
    response = api_client(annotator).get(f"/api/projects/{annotated.pk}/export/?format=jsonl")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="annotation.export").exists()
