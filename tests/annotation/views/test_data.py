import csv
import io
import json

import pytest
from django.urls import reverse

from annotation.selectors import item_find_by_text
from tests.annotation.views.support import HTMX, client_for, label_first_item, upload
from tests.factories import project_make
from training.models import JobStatus, PreannotationJob

pytestmark = pytest.mark.django_db


# Import


def test_allows_a_manager_to_import_jsonl_and_reports_the_counts(project, manager):
    content = "".join(json.dumps({"id": f"n{i}", "text": f"New text {i}"}) + "\n" for i in range(3))
    client = client_for(manager)
    url = reverse("annotation:items-import", args=[project.pk])
    first = client.post(url, {"file": upload("more.jsonl", content)}, **HTMX)
    assert first.status_code == 200
    assert "3 rows, 3 created, 0 already present." in first.text
    assert 'hx-swap-oob="true"' in first.text
    again = client.post(url, {"file": upload("more.jsonl", content)}, **HTMX)
    assert "3 rows, 0 created, 3 already present." in again.text
    assert project.items.count() == 9


def test_allows_a_manager_to_import_csv(project, manager):
    response = client_for(manager).post(
        reverse("annotation:items-import", args=[project.pk]),
        {"file": upload("more.csv", 'external_id,text\na1,"Hello, world"\na2,Second\n')},
        **HTMX,
    )
    assert response.status_code == 200
    assert item_find_by_text(project=project, text="Hello, world").filter(external_id="a1").exists()


def test_import_error_names_the_file_row_and_field_and_stores_nothing(project, manager):
    content = (
        json.dumps({"text": "fine"})
        + "\n"
        + json.dumps({"text": "also fine"})
        + "\n"
        + json.dumps({"text": " "})
        + "\n"
    )
    response = client_for(manager).post(
        reverse("annotation:items-import", args=[project.pk]),
        {"file": upload("broken.jsonl", content)},
        **HTMX,
    )
    assert response.status_code == 422
    page = response.text
    assert "Nothing was imported." in page and "text is empty" in page
    assert "<dt>File</dt><dd>broken.jsonl</dd>" in page
    assert "<dt>Row</dt><dd>3</dd>" in page
    assert "<dt>Field</dt><dd>text</dd>" in page
    assert project.items.count() == 6


def test_import_without_a_file_says_so(project, manager):
    response = client_for(manager).post(
        reverse("annotation:items-import", args=[project.pk]), {}, **HTMX
    )
    assert response.status_code == 422
    assert "This field is required." in response.text


def test_import_without_htmx_returns_to_the_project_page(project, manager):
    response = client_for(manager).post(
        reverse("annotation:items-import", args=[project.pk]),
        {"file": upload("x.jsonl", '{"text": "t"}\n')},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("annotation:project-detail", args=[project.pk])


# Export


def test_export_streams_the_submitted_annotations_as_jsonl(project, manager, annotator):
    item = label_first_item(project, annotator)
    response = client_for(manager).get(
        reverse("annotation:annotations-export", args=[project.pk, "jsonl"])
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/x-ndjson"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="customer-feedback-{project.pk}-annotations.jsonl"'
    )
    records = [
        json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()
    ]
    assert [record["id"] for record in records] == [item.pk]
    assert records[0]["annotations"][0]["value"] == {"labels": ["positive"]}
    assert records[0]["annotations"][0]["annotator"] == "annotator"


def test_allows_an_ml_engineer_to_export_csv(project, ml_engineer, annotator):
    item = label_first_item(project, annotator, label="negative")
    response = client_for(ml_engineer).get(
        reverse("annotation:annotations-export", args=[project.pk, "csv"])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["item_id"], row["annotator"]) for row in rows] == [(str(item.pk), "annotator")]
    assert "negative" in rows[0]["labels"]


def test_export_in_an_unknown_format_is_not_found(project, manager):
    response = client_for(manager).get(f"/projects/{project.pk}/export.xlsx")
    assert response.status_code == 404


# Pre-annotation


def test_allows_a_manager_to_start_preannotation_and_the_partial_polls(project, manager):
    response = client_for(manager).post(
        reverse("annotation:preannotation-start", args=[project.pk]), **HTMX
    )
    assert response.status_code == 200
    job = PreannotationJob.objects.get(project=project)
    assert job.status == JobStatus.QUEUED and job.requested_by == manager
    assert 'hx-trigger="every 1s"' in response.text
    assert reverse("annotation:preannotation-status", args=[project.pk, job.pk]) in response.text
    assert "<html" not in response.text


def test_allows_an_ml_engineer_to_start_preannotation(project, ml_engineer):
    response = client_for(ml_engineer).post(
        reverse("annotation:preannotation-start", args=[project.pk])
    )
    assert response.status_code == 302
    assert PreannotationJob.objects.filter(project=project, requested_by=ml_engineer).exists()


def test_preannotation_status_keeps_polling_while_the_job_runs(project, manager, job):
    PreannotationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, items_total=6, items_done=2
    )
    response = client_for(manager).get(
        reverse("annotation:preannotation-status", args=[project.pk, job.pk]), **HTMX
    )
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in response.text
    assert '<progress max="6" value="2">' in response.text and "2 of 6 items" in response.text


def test_preannotation_status_stops_polling_when_the_job_succeeded(project, manager, job):
    PreannotationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED, items_total=6, items_done=6, method="zero_shot"
    )
    response = client_for(manager).get(
        reverse("annotation:preannotation-status", args=[project.pk, job.pk]), **HTMX
    )
    assert "hx-trigger" not in response.text.split("<form")[0]
    assert "Succeeded" in response.text and "zero_shot" in response.text
    assert "Pre-annotate with model" in response.text


def test_preannotation_status_shows_the_error_of_a_failed_job(project, ml_engineer, job):
    PreannotationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, error="Model folder <missing>"
    )
    response = client_for(ml_engineer).get(
        reverse("annotation:preannotation-status", args=[project.pk, job.pk])
    )
    assert response.status_code == 200
    assert "Model folder &lt;missing&gt;" in response.text
    assert "every 1s" not in response.text


def test_preannotation_status_of_another_projects_job_is_not_found(project, manager):
    other = project_make(manager=manager)
    foreign = PreannotationJob.objects.create(project=other, requested_by=manager)
    response = client_for(manager).get(
        reverse("annotation:preannotation-status", args=[project.pk, foreign.pk])
    )
    assert response.status_code == 404


def test_pre_annotating_a_span_project_shows_why_it_is_not_possible(client, manager):
    from annotation.models import TaskType
    from tests.factories import project_make

    project = project_make(manager=manager, task_type=TaskType.SPANS, labels=[{"name": "PER"}], texts=["Ada wrote."])
    client.force_login(manager)
    response = client.post(f"/projects/{project.pk}/preannotate/", HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "does not support span" in response.content.decode()
