"""The background import API: queue a job, read its progress and report; managers only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import ImportJob
from annotation.services.import_jobs import import_job_run
from annotation.services.import_policies import data_source_create

pytestmark = pytest.mark.django_db

CONTENT = b'{"id": "j1", "text": "Queued through the API"}\n{"id": "j2", "text": ""}\n'


def _create(client, project, **extra):
    upload = SimpleUploadedFile("api.jsonl", CONTENT)
    return client.post(
        f"/api/projects/{project.pk}/import-jobs/", {"file": upload, **extra}, format="multipart"
    )


def test_allows_the_manager_to_queue_an_import_job_and_read_its_report(
    project, manager, api_client
):
    source = data_source_create(actor=manager, project=project, name="API source")
    client = api_client(manager)
    response = _create(client, project, on_error="skip", source=source.pk)
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["on_error"], body["source"]) == ("queued", "skip", source.pk)
    import_job_run(job_id=body["id"])
    detail = client.get(f"/api/projects/{project.pk}/import-jobs/{body['id']}/").json()
    assert (detail["status"], detail["created"], detail["errors_count"]) == ("succeeded", 1, 1)
    assert (
        detail["report"]["errors"][0]["row"] == 2
        and detail["report"]["errors"][0]["field"] == "text"
    )


def test_denies_an_annotator_to_queue_an_import_job(project, annotator, api_client):
    assert _create(api_client(annotator), project).status_code == 403
    assert not ImportJob.objects.exists()


def test_denies_an_annotator_to_read_an_import_job(project, manager, annotator, api_client):
    job_id = _create(api_client(manager), project).json()["id"]
    assert (
        api_client(annotator).get(f"/api/projects/{project.pk}/import-jobs/{job_id}/").status_code
        == 403
    )


def test_hides_another_projects_job_and_refuses_its_source(
    project, foreign_project, manager, api_client
):
    foreign_source = data_source_create(
        actor=foreign_project.created_by, project=foreign_project, name="theirs"
    )
    assert _create(api_client(manager), project, source=foreign_source.pk).status_code == 404
    assert (
        api_client(manager).get(f"/api/projects/{foreign_project.pk}/import-jobs/1/").status_code
        == 404
    )
