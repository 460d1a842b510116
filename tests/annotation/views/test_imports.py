"""The imports pages: background job with a polled status, report CSV, sources, policies, PII review."""

import csv
import io

import pytest
from django.urls import reverse

from annotation.models import ImportJob, PiiFinding, PiiFindingStatus
from annotation.services.import_jobs import import_job_run
from governance.models import AuditEvent
from projects.models import PiiPolicy
from tests.annotation.views.support import HTMX, client_for, upload

pytestmark = pytest.mark.django_db


def _post_job(client, project, content, name="page.jsonl", **extra):
    url = reverse("annotation:import-job-create", args=[project.pk])
    return client.post(url, {"file": upload(name, content), "on_error": "skip", **extra}, **HTMX)


def test_allows_a_manager_to_open_the_imports_page(project, manager):
    response = client_for(manager).get(reverse("annotation:imports", args=[project.pk]))
    assert response.status_code == 200
    assert 'id="import-job-form"' in response.text and 'id="policy-form"' in response.text


def test_denies_an_annotator_the_imports_page(project, annotator):
    assert (
        client_for(annotator).get(reverse("annotation:imports", args=[project.pk])).status_code
        == 403
    )


def test_a_manager_queues_a_job_and_the_status_polls_until_done(project, manager):
    client = client_for(manager)
    response = _post_job(
        client, project, '{"text": "From the page"}\n{"text": "=HYPERLINK()", "meta": 5}\n'
    )
    assert response.status_code == 200
    job = ImportJob.objects.get()
    status_url = reverse("annotation:import-job", args=[project.pk, job.pk])
    assert f'hx-get="{status_url}"' in response.text and 'hx-trigger="every 1s"' in response.text
    import_job_run(job_id=job.pk)
    done = client.get(status_url, **HTMX)
    assert "hx-trigger" not in done.text
    assert (
        "2 rows read, 1 created, 0 already present, 0 near duplicates linked, 1 bad rows."
        in done.text
    )
    report = client.get(reverse("annotation:import-job-report", args=[project.pk, job.pk]))
    assert report["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0][:6] == ["kind", "file", "member", "row", "field", "reason"]
    assert rows[1][:5] == ["error", "page.jsonl", "", "2", "meta"]


def test_the_report_csv_neutralises_spreadsheet_formulas(project, manager):
    job = ImportJob.objects.create(
        project=project,
        requested_by=manager,
        filename="=cmd|calc.csv",
        status="succeeded",
        report={
            "errors": [
                {"file": "=cmd|calc.csv", "member": "", "row": 1, "field": "@x", "message": "+bad"}
            ]
        },
    )
    response = client_for(manager).get(
        reverse("annotation:import-job-report", args=[project.pk, job.pk])
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][1] == "'=cmd|calc.csv" and rows[1][4] == "'@x" and rows[1][5] == "'+bad"


def test_denies_an_annotator_to_queue_an_import_or_read_its_report(project, manager, annotator):
    job = ImportJob.objects.create(project=project, requested_by=manager, filename="x.jsonl")
    client = client_for(annotator)
    assert _post_job(client, project, '{"text": "no"}\n').status_code == 403
    assert (
        client.get(reverse("annotation:import-job", args=[project.pk, job.pk])).status_code == 403
    )
    assert (
        client.get(reverse("annotation:import-job-report", args=[project.pk, job.pk])).status_code
        == 403
    )


def test_a_bad_upload_form_says_what_is_missing(project, manager):
    response = client_for(manager).post(
        reverse("annotation:import-job-create", args=[project.pk]), {}, **HTMX
    )
    assert response.status_code == 422 and "This field is required." in response.text


def test_allows_a_manager_to_add_a_data_source_and_set_import_policies(project, manager):
    client = client_for(manager)
    created = client.post(
        reverse("annotation:data-source-create", args=[project.pk]),
        {
            "name": "Forum dump",
            "origin": "public forum",
            "licence": "CC-BY-4.0",
            "consent_basis": "public",
            "collection_date": "2025-01-31",
        },
    )
    assert created.status_code == 302
    assert project.sources.get().licence == "CC-BY-4.0"
    saved = client.post(
        reverse("annotation:import-policy", args=[project.pk]),
        {
            "normalization": "NFKC",
            "whitespace": "collapse",
            "min_length": 2,
            "over_max": "reject",
            "languages": "en, de",
            "pii_policy": "mask",
            "neardup_threshold": "0.8",
            "strip_html": "on",
        },
    )
    assert saved.status_code == 302
    project.refresh_from_db()
    assert project.pii_policy == PiiPolicy.MASK and project.neardup_threshold == 0.8
    assert (
        project.cleaning_policy["languages"] == ["en", "de"]
        and project.cleaning_policy["strip_html"] is True
    )


def test_a_bad_policy_is_refused_with_the_reason(project, manager):
    response = client_for(manager).post(
        reverse("annotation:import-policy", args=[project.pk]),
        {
            "normalization": "NFC",
            "whitespace": "keep",
            "min_length": 10,
            "max_length": 5,
            "over_max": "reject",
            "pii_policy": "keep",
        },
    )
    assert (
        response.status_code == 422
        and "max_length (5) must be at least min_length (10)" in response.text
    )


def test_denies_an_annotator_to_add_sources_or_change_policies(project, annotator):
    client = client_for(annotator)
    assert (
        client.post(
            reverse("annotation:data-source-create", args=[project.pk]), {"name": "x"}
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("annotation:import-policy", args=[project.pk]), {}).status_code == 403
    )


def _finding(project, action="keep"):
    item = project.items.first()
    return PiiFinding.objects.create(
        project=project, item=item, entity="EMAIL", start=0, end=4, score=1.0, action=action
    )


def test_allows_a_manager_to_review_findings(project, manager):
    finding = _finding(project)
    client = client_for(manager)
    page = client.get(reverse("annotation:pii-findings", args=[project.pk]))
    assert page.status_code == 200 and 'id="pii-findings"' in page.text and "EMAIL" in page.text
    reviewed = client.post(
        reverse("annotation:pii-finding-review", args=[project.pk, finding.pk]),
        {"status": "dismissed"},
    )
    assert reviewed.status_code == 302
    finding.refresh_from_db()
    assert finding.status == PiiFindingStatus.DISMISSED and finding.reviewed_by == manager


def test_denies_a_reviewer_the_findings_and_their_review(project, reviewer):
    finding = _finding(project)
    client = client_for(reviewer)
    assert client.get(reverse("annotation:pii-findings", args=[project.pk])).status_code == 403
    assert (
        client.post(
            reverse("annotation:pii-finding-review", args=[project.pk, finding.pk]),
            {"status": "confirmed"},
        ).status_code
        == 403
    )


def test_allows_a_manager_to_reveal_a_pseudonymised_item_and_audits_it(project, manager):
    project.pii_policy = PiiPolicy.PSEUDONYMISE
    project.save()
    client = client_for(manager)
    _post_job(client, project, '{"id": "pp", "text": "Contact bob@example.com please"}\n')
    import_job_run(job_id=ImportJob.objects.get().pk)
    item = project.items.get(external_id="pp")
    response = client.post(
        reverse("annotation:item-pii-reveal", args=[project.pk, item.pk]), **HTMX
    )
    assert response.status_code == 200 and "bob@example.com" in response.text
    assert AuditEvent.objects.filter(action="pii.reveal").count() == 1


def test_denies_an_annotator_to_reveal_pseudonyms(project, annotator):
    item = project.items.first()
    response = client_for(annotator).post(
        reverse("annotation:item-pii-reveal", args=[project.pk, item.pk])
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="pii.reveal").exists()
