import csv
import io
import json

import pytest
from django.urls import reverse

from annotation.models import ImportJob
from annotation.selectors import item_find_by_text
from annotation.services.import_jobs import import_job_run
from common.jobs.models import JobStatus
from tests.annotation.views.support import HTMX, client_for, label_first_item, upload
from tests.factories import project_make
from training.models import PreannotationJob

pytestmark = pytest.mark.django_db


# Import


def _quick_import(client, project, name, content, **headers):
    return client.post(
        reverse("annotation:items-import", args=[project.pk]), {"file": upload(name, content)}, **headers
    )


def test_allows_a_manager_to_quick_import_as_a_background_job_shown_on_its_page(project, manager):
    content = "".join(json.dumps({"id": f"n{i}", "text": f"New text {i}"}) + "\n" for i in range(3))
    client = client_for(manager)
    first = _quick_import(client, project, "more.jsonl", content, **HTMX)
    job = ImportJob.objects.get()
    job_url = reverse("annotation:import-job", args=[project.pk, job.pk])
    assert first.status_code == 200 and first["HX-Redirect"] == job_url
    assert (job.status, job.on_error, job.filename) == ("queued", "reject", "more.jsonl")
    assert project.items.count() == 6  # nothing imported in the request itself
    page = client.get(job_url)
    assert 'hx-trigger="every 1s"' in page.text and "<progress" in page.text
    import_job_run(job_id=job.pk)
    assert "3 rows read, 3 created, 0 already present" in client.get(job_url, **HTMX).text
    _quick_import(client, project, "more.jsonl", content, **HTMX)
    again = ImportJob.objects.exclude(pk=job.pk).get()
    import_job_run(job_id=again.pk)
    again.refresh_from_db()
    assert (again.created, again.skipped) == (0, 3)
    assert project.items.count() == 9


def test_allows_a_manager_to_quick_import_csv(project, manager):
    _quick_import(client_for(manager), project, "more.csv", 'external_id,text\na1,"Hello, world"\na2,Second\n', **HTMX)
    import_job_run(job_id=ImportJob.objects.get().pk)
    assert item_find_by_text(project=project, text="Hello, world").filter(external_id="a1").exists()


def test_denies_an_annotator_the_quick_import_and_queues_nothing(project, annotator):
    response = _quick_import(client_for(annotator), project, "x.jsonl", '{"text": "t"}\n', **HTMX)
    assert response.status_code == 403 and not ImportJob.objects.exists()


def test_a_bad_row_in_a_quick_import_fails_the_job_naming_the_row_and_stores_nothing(project, manager):
    content = json.dumps({"text": "fine"}) + "\n" + json.dumps({"text": "also fine"}) + "\n" + json.dumps({"text": " "}) + "\n"
    client = client_for(manager)
    _quick_import(client, project, "broken.jsonl", content, **HTMX)
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    page = client.get(reverse("annotation:import-job", args=[project.pk, job.pk])).text
    assert "Nothing was imported." in page
    assert "<td>3</td><td>text</td><td>is empty</td>" in page
    assert project.items.count() == 6


def test_import_without_a_file_says_so(project, manager):
    response = client_for(manager).post(
        reverse("annotation:items-import", args=[project.pk]), {}, **HTMX
    )
    assert response.status_code == 422
    assert "This field is required." in response.text and not ImportJob.objects.exists()


def test_quick_import_without_htmx_goes_to_the_job_page(project, manager):
    response = _quick_import(client_for(manager), project, "x.jsonl", '{"text": "t"}\n')
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("annotation:import-job", args=[project.pk, job.pk])


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
        reverse("training:preannotation-start", args=[project.pk]), **HTMX
    )
    assert response.status_code == 200
    job = PreannotationJob.objects.get(project=project)
    assert job.status == JobStatus.QUEUED and job.requested_by == manager
    assert 'hx-trigger="every 1s"' in response.text
    assert reverse("training:preannotation-status", args=[project.pk, job.pk]) in response.text
    assert "<html" not in response.text


def test_allows_an_ml_engineer_to_start_preannotation(project, ml_engineer):
    response = client_for(ml_engineer).post(
        reverse("training:preannotation-start", args=[project.pk])
    )
    assert response.status_code == 302
    assert PreannotationJob.objects.filter(project=project, requested_by=ml_engineer).exists()


def test_preannotation_status_keeps_polling_while_the_job_runs(project, manager, job):
    PreannotationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, progress_total=6, progress_done=2
    )
    response = client_for(manager).get(
        reverse("training:preannotation-status", args=[project.pk, job.pk]), **HTMX
    )
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in response.text
    assert '<progress max="6" value="2">' in response.text and "2 of 6 items" in response.text


def test_preannotation_status_stops_polling_when_the_job_succeeded(project, manager, job):
    PreannotationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED, progress_total=6, progress_done=6, method="zero_shot"
    )
    response = client_for(manager).get(
        reverse("training:preannotation-status", args=[project.pk, job.pk]), **HTMX
    )
    assert "hx-trigger" not in response.text.split("<form")[0]
    assert "Succeeded" in response.text and "zero_shot" in response.text
    assert "Pre-annotate with model" in response.text


def test_preannotation_status_shows_the_error_of_a_failed_job(project, ml_engineer, job):
    PreannotationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, error="Model folder <missing>"
    )
    response = client_for(ml_engineer).get(
        reverse("training:preannotation-status", args=[project.pk, job.pk])
    )
    assert response.status_code == 200
    assert "Model folder &lt;missing&gt;" in response.text
    assert "every 1s" not in response.text


def test_preannotation_status_of_another_projects_job_is_not_found(project, manager):
    other = project_make(manager=manager)
    foreign = PreannotationJob.objects.create(project=other, requested_by=manager)
    response = client_for(manager).get(
        reverse("training:preannotation-status", args=[project.pk, foreign.pk])
    )
    assert response.status_code == 404


def test_pre_annotating_a_span_project_shows_why_it_is_not_possible(client, manager):
    from projects.models import TaskType
    from tests.factories import project_make

    project = project_make(manager=manager, task_type=TaskType.SPANS, labels=[{"name": "PER"}], texts=["Ada wrote."])
    client.force_login(manager)
    response = client.post(f"/projects/{project.pk}/preannotate/", HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "does not support span" in response.content.decode()
