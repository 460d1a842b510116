"""Scripts follow a requested label check through the active-learning resource's label_check.status."""

import pytest

from training.services.label_issues import label_issues_run

pytestmark = pytest.mark.django_db


def test_the_label_check_status_goes_from_queued_to_idle_when_the_check_is_done(project, reviewer, api_client):
    client = api_client(reviewer)
    detail = f"/api/projects/{project.pk}/active-learning/"
    assert client.post(f"/api/projects/{project.pk}/label-issues/check/").status_code == 202
    check = client.get(detail).json()["label_check"]
    assert (check["status"], check["error"], check["checked_at"]) == ("queued", "", None)

    label_issues_run(project_id=project.pk)

    check = client.get(detail).json()["label_check"]
    assert check["status"] == "idle" and check["checked_at"] is not None


def test_denies_the_label_check_status_to_an_annotator(project, annotator, api_client):
    assert api_client(annotator).get(f"/api/projects/{project.pk}/active-learning/").status_code == 403
