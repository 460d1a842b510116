"""Background exports from the project page (format, redaction, job card, signed download) and the nav links."""

import pytest
from django.urls import reverse

from annotation.models import ExportRecord
from annotation.services.exports import export_build
from governance.models import AuditEvent
from tests.annotation.views.support import HTMX, client_for, label_first_item

pytestmark = pytest.mark.django_db


def _start(client, project, **data):
    return client.post(reverse("annotation:export-job-create", args=[project.pk]), data, **HTMX)


def test_allows_a_manager_to_export_in_the_background_and_download_through_the_signed_link(
    project, manager, annotator
):
    item = label_first_item(project, annotator)
    client = client_for(manager)
    data_section = reverse("annotation:project-detail", args=[project.pk]) + "?section=data"
    assert 'id="export-job-form"' in client.get(data_section).text
    response = _start(client, project, format="csv", redact="on")
    assert response.status_code == 200
    export = ExportRecord.objects.get()
    assert (export.format, export.redacted, export.requested_by) == ("csv", True, manager)
    status_url = reverse("annotation:export-job", args=[project.pk, export.pk])
    assert f'hx-get="{status_url}"' in response.text and 'id="export-job-form"' in response.text
    export_build(export_id=export.pk)
    done = client.get(status_url, **HTMX)
    assert "hx-trigger" not in done.text and 'data-status="ready"' in done.text
    assert "1 of 1 items written." in done.text
    link = done.text.split('id="export-download" href="')[1].split('"')[0]
    download = client.get(link)
    assert download.status_code == 200
    assert str(item.pk) in b"".join(download.streaming_content).decode()
    assert AuditEvent.objects.filter(action="export.download", target_id=str(export.pk)).exists()


def test_allows_an_ml_engineer_to_follow_an_export_on_its_own_page(project, ml_engineer, annotator):
    label_first_item(project, annotator)
    client = client_for(ml_engineer)
    response = client.post(reverse("annotation:export-job-create", args=[project.pk]), {"format": "jsonl"})
    export = ExportRecord.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("annotation:export-job", args=[project.pk, export.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200 and 'id="export-job-status"' in page.text and "<progress" in page.text


def test_denies_an_annotator_the_export_form_the_job_and_its_page(project, manager, annotator):
    client = client_for(annotator)
    data_section = reverse("annotation:project-detail", args=[project.pk]) + "?section=data"
    assert 'id="export-job-form"' not in client.get(data_section).text
    assert _start(client, project, format="csv").status_code == 403
    export = ExportRecord.objects.create(project=project, requested_by=manager, format="csv")
    assert client.get(reverse("annotation:export-job", args=[project.pk, export.pk])).status_code == 403
    assert ExportRecord.objects.count() == 1


def test_a_conll_export_of_a_classification_project_is_refused_with_the_reason(project, manager):
    response = _start(client_for(manager), project, format="conll")
    assert response.status_code == 422
    assert "CoNLL/BIO exports are for span projects" in response.text
    assert not ExportRecord.objects.exists()


def test_an_unknown_format_is_refused_on_the_form(project, manager):
    response = _start(client_for(manager), project, format="xlsx")
    assert response.status_code == 422 and 'id="export-job-form"' in response.text
    assert not ExportRecord.objects.exists()


def test_the_project_page_links_managers_to_the_retention_page(project, manager, annotator):
    url = reverse("annotation:project-detail", args=[project.pk]) + "?section=data"
    retention = reverse("annotation:project-retention", args=[project.pk])
    assert f'id="retention-link" href="{retention}"' in client_for(manager).get(url).text
    assert "retention-link" not in client_for(annotator).get(url).text


def test_the_main_nav_links_auditors_and_admins_to_erasure_requests(project, manager, auditor, admin_user):
    url = reverse("annotation:project-list")
    erasure = reverse("annotation:erasure-requests")
    for allowed in (auditor, admin_user):
        assert f'href="{erasure}" id="nav-erasure"' in client_for(allowed).get(url).text
    assert "nav-erasure" not in client_for(manager).get(url).text
