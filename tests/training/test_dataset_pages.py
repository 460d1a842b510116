"""Dataset-version pages: who may open them, freezing from the form, the manifest, diffs and signed downloads."""

# Fixtures imported from sibling test modules are used as test parameters of the same name.
# ruff: noqa: F811

import csv
import io
import time

import pytest
from django.core import signing
from django.urls import reverse

from governance.models import AuditEvent
from tests.annotation.views.support import HTMX, client_for
from tests.conftest import SAMPLE_TEXTS
from tests.training.test_dataset_exports import span_project  # noqa: F401 (fixtures)
from tests.training.test_datasets import _freeze, labelled  # noqa: F401 (fixtures)
from training.models import DatasetStatus, DatasetVersion
from training.services.datasets import dataset_version_create
from training.views.datasets import DOWNLOAD_LINK_SECONDS, dataset_download_signature

pytestmark = pytest.mark.django_db


def list_url(project) -> str:
    return reverse("datasets:list", args=[project.pk])


def detail_url(version) -> str:
    return reverse("datasets:detail", args=[version.project_id, version.pk])


def download_url(version, signature) -> str:
    return reverse("datasets:download", args=[version.project_id, version.pk, signature])


@pytest.mark.parametrize("role", ["manager", "ml_engineer"])
def test_allows_managers_and_ml_engineers_to_see_the_versions_and_a_version(
    role, project, manager, labelled, request
):
    version = _freeze(project, manager)
    client = client_for(request.getfixturevalue(role))
    page = client.get(list_url(project))
    assert page.status_code == 200 and "Dataset versions" in page.text
    assert client.get(detail_url(version)).status_code == 200


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_denies_annotators_and_reviewers_the_dataset_pages(
    role, project, manager, labelled, request
):
    version = _freeze(project, manager)
    client = client_for(request.getfixturevalue(role))
    assert client.get(list_url(project)).status_code == 403
    assert client.get(detail_url(version)).status_code == 403
    assert (
        client.post(
            reverse("datasets:create", args=[project.pk]), {"conflict_policy": "majority"}
        ).status_code
        == 403
    )
    assert not DatasetVersion.objects.filter(number=2).exists()


def test_hides_the_dataset_pages_from_outsiders(project, manager, outsider, labelled):
    version = _freeze(project, manager)
    client = client_for(outsider)
    assert client.get(list_url(project)).status_code == 404
    assert client.get(detail_url(version)).status_code == 404


def test_sends_anonymous_visitors_to_the_login_page(project):
    response = client_for(None).get(list_url(project))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "role, shown",
    [("manager", True), ("ml_engineer", True), ("reviewer", False), ("annotator", False)],
)
def test_the_project_page_links_to_datasets_for_curators_only(role, shown, project, request):
    page = (
        client_for(request.getfixturevalue(role))
        .get(reverse("annotation:project-detail", args=[project.pk]), {"section": "models"})
        .text
    )
    assert ('id="datasets-link"' in page) is shown


def test_freezing_from_the_form_records_the_filters_and_the_list_follows_the_build(
    project, ml_engineer
):
    response = client_for(ml_engineer).post(
        reverse("datasets:create", args=[project.pk]),
        {
            "name": "first cut",
            "conflict_policy": "drop",
            "reviewed_only": "on",
            "min_agreement": "0.5",
            "date_from": "2024-01-01",
            "labels": ["positive", "negative"],
        },
    )
    assert response.status_code == 302 and response["Location"] == list_url(project)
    version = DatasetVersion.objects.get(project=project)
    assert (version.number, version.name, version.conflict_policy, version.public_status) == (
        1,
        "first cut",
        "drop",
        "building",
    )
    assert version.filters == {
        "reviewed_only": True,
        "min_agreement": 0.5,
        "date_from": "2024-01-01",
        "labels": ["negative", "positive"],
    }
    assert AuditEvent.objects.filter(action="dataset.request", actor=ml_engineer).count() == 1
    page = client_for(ml_engineer).get(list_url(project)).text
    row_url = reverse("datasets:row", args=[project.pk, version.pk])
    assert f'hx-get="{row_url}" hx-trigger="every 1s"' in page


def test_a_finished_row_stops_polling_and_shows_the_short_hash_with_the_full_one_on_hover(
    project, manager, labelled
):
    version = _freeze(project, manager)
    row = (
        client_for(manager).get(reverse("datasets:row", args=[project.pk, version.pk]), **HTMX).text
    )
    assert "hx-get" not in row and 'data-status="ready"' in row
    assert f'title="{version.content_hash}">{version.content_hash[:12]}</code>' in row
    splits = version.manifest["splits"]
    assert f"{splits['train']} / {splits['dev']} / {splits['test']}" in row


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"min_agreement": "2"}, "less than or equal to 1"),
        ({"date_from": "2024-05-02", "date_to": "2024-05-01"}, "is before 2024-05-02"),
        ({"labels": ["joyful"]}, "joyful is not one of the available choices"),
    ],
)
def test_bad_filters_are_shown_on_the_form_and_nothing_is_frozen(fields, message, project, manager):
    response = client_for(manager).post(
        reverse("datasets:create", args=[project.pk]), {"conflict_policy": "majority", **fields}
    )
    assert response.status_code == 422
    assert message in response.text
    assert not DatasetVersion.objects.exists()


def test_the_version_page_shows_the_manifest_and_no_item_text(project, manager, labelled):
    version = _freeze(project, manager)
    page = client_for(manager).get(detail_url(version)).text
    assert f'value="{version.content_hash}"' in page
    for label in version.manifest["labels"]:
        assert f'<th scope="row">{label}</th>' in page
    assert "annotators tied" in page  # the dropped reason, in words
    assert "annotator2" in page and "decided by a reviewer" in page
    assert 'id="dataset-export-csv"' in page and 'id="dataset-export-conll"' not in page
    assert not [text for text in SAMPLE_TEXTS if text in page]


def test_a_building_version_page_reloads_itself_and_a_failed_one_says_why(project, manager):
    version = dataset_version_create(actor=manager, project=project)
    page = client_for(manager).get(detail_url(version)).text
    assert 'hx-select="#dataset-page"' in page and 'id="dataset-building"' in page
    DatasetVersion.objects.filter(pk=version.pk).update(
        status=DatasetStatus.FAILED, error="RuntimeError: disk full"
    )
    page = client_for(manager).get(detail_url(version)).text
    assert "hx-select" not in page and "The build failed: RuntimeError: disk full" in page


def test_a_span_version_offers_conll(span_project, manager):
    version = _freeze(span_project, manager)
    assert 'id="dataset-export-conll"' in client_for(manager).get(detail_url(version)).text


def test_the_diff_shows_counts_and_item_ids_but_no_text(project, manager, reviewer, labelled):
    from annotation.services.reviews import review_resolve

    old = _freeze(project, manager)
    review_resolve(actor=reviewer, item=labelled[3], value={"labels": ["positive"]})
    review_resolve(actor=reviewer, item=labelled[0], value={"labels": ["neutral"]})
    new = _freeze(project, manager)
    response = client_for(manager).get(
        reverse("datasets:diff", args=[project.pk, new.pk]), {"against": old.number}, **HTMX
    )
    assert response.status_code == 200
    page = response.text
    assert "From version 1 to version 2" in page
    assert (
        f'<tr data-change="added"><th scope="row">Added</th><td class="diff-count">1</td><td class="diff-ids">{labelled[3].pk}</td>'
        in page
    )
    assert f'<td class="diff-ids">{labelled[0].pk}</td>' in page
    assert not [text for text in SAMPLE_TEXTS if text in page]


def test_the_diff_asks_for_a_version_and_refuses_one_still_building(project, manager, labelled):
    ready = _freeze(project, manager)
    url = reverse("datasets:diff", args=[project.pk, ready.pk])
    assert client_for(manager).get(url, **HTMX).status_code == 422
    building = dataset_version_create(actor=manager, project=project)
    response = client_for(manager).get(url, {"against": building.number}, **HTMX)
    assert response.status_code == 422 and "Only versions that are ready" in response.text
    assert client_for(manager).get(url, {"against": 99}, **HTMX).status_code == 404


def test_a_download_button_signs_a_short_lived_link_that_streams_the_file(
    project, ml_engineer, manager, labelled
):
    version = _freeze(project, manager)
    client = client_for(ml_engineer)
    response = client.post(
        reverse("datasets:export", args=[project.pk, version.pk]), {"format": "csv", "split": ""}
    )
    assert response.status_code == 302
    prefix = reverse("datasets:detail", args=[project.pk, version.pk]) + "download/"
    assert response["Location"].startswith(prefix)
    download = client.get(response["Location"])
    assert download.status_code == 200 and download["Content-Type"] == "text/csv"
    assert (
        download["Content-Disposition"]
        == f'attachment; filename="project-{project.pk}-dataset-v1.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert len(rows) == version.item_count
    assert AuditEvent.objects.filter(action="dataset.export", actor=ml_engineer).count() == 1
    assert (
        AuditEvent.objects.get(action="item.read", actor=ml_engineer).details["count"]
        == version.item_count
    )


def test_a_download_link_expires_and_serves_only_the_user_it_was_made_for(
    project, manager, ml_engineer, labelled, monkeypatch
):
    version = _freeze(project, manager)
    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now - DOWNLOAD_LINK_SECONDS - 5)
    stale = dataset_download_signature(user=manager, version=version, fmt="csv")
    monkeypatch.undo()
    client = client_for(manager)
    response = client.get(download_url(version, stale))
    assert response.status_code == 302 and response["Location"] == detail_url(version)
    assert "That download link had expired" in client.get(response["Location"]).text
    theirs = dataset_download_signature(user=ml_engineer, version=version, fmt="csv")
    assert client_for(manager).get(download_url(version, theirs)).status_code == 403
    assert client_for(manager).get(download_url(version, theirs[:-2] + "xx")).status_code == 403
    assert not AuditEvent.objects.filter(action="dataset.export").exists()


def test_a_conll_download_of_a_classification_version_goes_back_with_the_reason(
    project, manager, labelled
):
    version = _freeze(project, manager)
    client = client_for(manager)
    response = client.post(
        reverse("datasets:export", args=[project.pk, version.pk]), {"format": "conll"}
    )
    assert response.status_code == 302 and response["Location"] == detail_url(version)
    assert "CoNLL holds entity spans" in client.get(response["Location"]).text
