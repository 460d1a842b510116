"""Dataset versions over the API: list, freeze, manifest, diff and export, each allowed and denied by role."""

# Fixtures imported from sibling test modules are used as test parameters of the same name.
# ruff: noqa: F811

import json

import pytest

from annotation.services.reviews import review_resolve
from governance.models import AuditEvent
from governance.services.keys import project_data_shred
from tests.conftest import SAMPLE_TEXTS
from tests.training.test_dataset_exports import span_project  # noqa: F401 (fixtures)
from tests.training.test_datasets import _freeze, labelled  # noqa: F401 (fixtures)
from training.models import DatasetVersion
from training.services.datasets import dataset_version_create

pytestmark = pytest.mark.django_db


def versions_url(project) -> str:
    return f"/api/projects/{project.pk}/datasets/"


def version_url(version, tail: str = "") -> str:
    return f"/api/projects/{version.project_id}/datasets/{version.pk}/{tail}"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("role", ["manager", "ml_engineer"])
def test_allows_curators_to_list_versions_with_hash_and_splits(
    role, api_client, project, manager, labelled, request
):
    version = _freeze(project, manager)
    response = api_client(request.getfixturevalue(role)).get(versions_url(project))
    assert response.status_code == 200
    [listed] = response.json()["results"]
    assert (
        listed["number"] == 1
        and listed["status"] == "ready"
        and listed["content_hash"] == version.content_hash
    )
    assert listed["splits"] == version.manifest["splits"] and listed["created_by"] == "manager"


@pytest.mark.parametrize("role, status", [("annotator", 403), ("reviewer", 403), ("outsider", 404)])
def test_denies_everyone_else_every_dataset_endpoint(
    role, status, api_client, project, manager, labelled, request
):
    version = _freeze(project, manager)
    client = api_client(request.getfixturevalue(role))
    assert client.get(versions_url(project)).status_code == status
    assert client.post(versions_url(project), {}, format="json").status_code == status
    assert client.get(version_url(version)).status_code == status
    assert client.get(version_url(version, "diff/?against=1")).status_code == status
    assert client.get(version_url(version, "export/?format=jsonl")).status_code == status
    assert DatasetVersion.objects.count() == 1
    assert not AuditEvent.objects.filter(action="dataset.export").exists()


def test_anonymous_callers_are_asked_to_authenticate(api_client, project):
    assert api_client(None).get(versions_url(project)).status_code == 401


def test_freezing_answers_202_with_the_version_to_follow(api_client, project, ml_engineer):
    response = api_client(ml_engineer).post(
        versions_url(project),
        {
            "name": "api cut",
            "conflict_policy": "reviewer_wins",
            "filters": {"labels": ["positive"], "date_to": "2030-01-01"},
        },
        format="json",
    )
    assert response.status_code == 202
    version = DatasetVersion.objects.get(project=project)
    assert response["Location"] == version_url(version)
    assert response.json()["status"] == "building" and response.json()["number"] == 1
    assert version.filters == {"labels": ["positive"], "date_to": "2030-01-01"}
    assert version.conflict_policy == "reviewer_wins" and version.requested_by == ml_engineer


@pytest.mark.parametrize(
    "payload, field, message",
    [
        ({"filters": {"labels": ["joyful"]}}, "labels", "not labels of this project: joyful"),
        ({"filters": {"min_agreement": 1.5}}, "filters", "less than or equal to 1"),
        ({"conflict_policy": "coin_flip"}, "conflict_policy", "not a valid choice"),
        (
            {"filters": {"date_from": "2024-02-01", "date_to": "2024-01-01"}},
            "date_to",
            "is before 2024-02-01",
        ),
    ],
)
def test_bad_freeze_requests_say_which_field_is_wrong(
    payload, field, message, api_client, project, manager
):
    response = api_client(manager).post(versions_url(project), payload, format="json")
    assert response.status_code == 400
    assert message in json.dumps(response.json())
    assert field in response.json()
    assert not DatasetVersion.objects.exists()


def test_the_detail_holds_the_manifest_and_no_item_text(api_client, project, manager, labelled):
    version = _freeze(project, manager)
    response = api_client(manager).get(version_url(version))
    assert response.status_code == 200
    data = response.json()
    assert data["manifest"]["dropped"] == {"tie": 1} and data["item_count"] == 4
    assert data["manifest"]["annotators"] == {"annotator": 4, "annotator2": 4}
    assert not [text for text in SAMPLE_TEXTS if text in response.content.decode()]


def test_a_version_of_another_project_is_not_found_through_this_one(
    api_client, project, manager, span_project, labelled
):
    theirs = _freeze(span_project, manager)
    assert (
        api_client(manager).get(f"/api/projects/{project.pk}/datasets/{theirs.pk}/").status_code
        == 404
    )


def test_the_diff_names_the_items_that_changed(api_client, project, manager, reviewer, labelled):
    old = _freeze(project, manager)
    review_resolve(actor=reviewer, item=labelled[3], value={"labels": ["positive"]})
    review_resolve(actor=reviewer, item=labelled[0], value={"labels": ["neutral"]})
    new = _freeze(project, manager)
    response = api_client(manager).get(version_url(new, f"diff/?against={old.number}"))
    assert response.status_code == 200
    assert response.json() == {
        "old": 1,
        "new": 2,
        "added": 1,
        "removed": 0,
        "relabelled": 1,
        "unchanged": 3,
        "added_ids": [labelled[3].pk],
        "removed_ids": [],
        "relabelled_ids": [labelled[0].pk],
    }


def test_the_diff_needs_a_ready_version_to_compare_with(api_client, project, manager, labelled):
    ready = _freeze(project, manager)
    client = api_client(manager)
    assert "against" in client.get(version_url(ready, "diff/")).json()
    building = dataset_version_create(actor=manager, project=project)
    response = client.get(version_url(ready, f"diff/?against={building.number}"))
    assert response.status_code == 400 and "is building, not ready" in json.dumps(response.json())
    assert client.get(version_url(ready, "diff/?against=7")).status_code == 404


@pytest.mark.parametrize(
    "fmt, content_type", [("jsonl", "application/x-ndjson"), ("csv", "text/csv")]
)
def test_an_export_streams_the_records_and_is_audited(
    fmt, content_type, api_client, project, ml_engineer, manager, labelled
):
    version = _freeze(project, manager)
    response = api_client(ml_engineer).get(version_url(version, f"export/?format={fmt}"))
    assert response.status_code == 200 and response["Content-Type"] == content_type
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="project-{project.pk}-dataset-v1.{fmt}"'
    )
    content = body(response).decode()
    assert labelled[0].text in content
    assert AuditEvent.objects.get(action="dataset.export").actor == ml_engineer
    assert (
        AuditEvent.objects.get(action="item.read", details__via=f"dataset.export.{fmt}").details[
            "count"
        ]
        == 4
    )


def test_a_span_version_exports_conll_with_a_split(api_client, span_project, manager):
    version = _freeze(span_project, manager)
    split = next(split for split, count in version.manifest["splits"].items() if count)
    response = api_client(manager).get(version_url(version, f"export/?format=conll&split={split}"))
    assert response.status_code == 200 and response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].endswith(f'dataset-v1-{split}.conll"')
    text = body(response).decode()
    assert text.count("-DOCSTART- O") == version.manifest["splits"][split]


def test_export_refuses_conll_for_classification_and_unknown_formats(
    api_client, project, manager, labelled
):
    version = _freeze(project, manager)
    client = api_client(manager)
    response = client.get(version_url(version, "export/?format=conll"))
    assert (
        response.status_code == 400 and "CoNLL holds entity spans" in response.json()["format"][0]
    )
    assert "format" in client.get(version_url(version, "export/?format=parquet")).json()
    assert not AuditEvent.objects.filter(action="dataset.export").exists()


def test_a_shredded_project_answers_410_for_an_export(
    api_client, project, manager, admin_user, labelled
):
    version = _freeze(project, manager)
    project_data_shred(actor=admin_user, project=project)
    assert api_client(manager).get(version_url(version, "export/?format=jsonl")).status_code == 410
