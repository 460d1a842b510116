"""The label-issues page follows a requested check: the panel polls while the check is queued or
running, then shows its result (and the issues) and stops polling."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from common.jobs.models import JobStatus
from governance.models import AuditEvent
from tests.annotation.views.support import HTMX, client_for, label_first_item
from training.models.active import LabelCheck, LabelIssue
from training.services import label_issues as label_issues_module
from training.services.label_issues import (
    LABEL_CHECK_STALE_SECONDS,
    label_issues_request,
    label_issues_run,
)

pytestmark = pytest.mark.django_db

POLLS = 'hx-trigger="every 2s"'


def _page(project):
    return reverse("active:label-issues", args=[project.pk])


def test_check_labels_now_answers_a_panel_that_polls_and_lists_no_text_meanwhile(project, reviewer, annotator):
    item = label_first_item(project, annotator)
    LabelIssue.objects.create(project=project, item=item, given_label="positive", suggested_label="negative", quality=0.1)
    response = client_for(reviewer).post(reverse("active:label-check", args=[project.pk]), **HTMX)
    assert response.status_code == 200
    assert 'id="label-issues-panel"' in response.text and POLLS in response.text
    assert f'hx-get="{_page(project)}"' in response.text
    assert 'data-status="queued"' in response.text and "Checking the labels" in response.text
    assert item.text not in response.text
    assert not AuditEvent.objects.filter(action="item.read", details__via="label_issues").exists()


def test_the_polling_panel_shows_the_result_and_stops_polling_once_the_check_is_done(project, reviewer, annotator):
    label_first_item(project, annotator)
    label_issues_request(actor=reviewer, project=project)
    client = client_for(reviewer)
    assert POLLS in client.get(_page(project), **HTMX).text
    assert POLLS in client.get(_page(project)).text  # a reload while it runs keeps following it

    label_issues_run(project_id=project.pk)

    done = client.get(_page(project), **HTMX)
    assert done.status_code == 200
    assert POLLS not in done.text and 'data-status="idle"' in done.text
    assert "Last check" in done.text and "not been checked yet" not in done.text
    assert 'id="no-label-issues"' in done.text
    assert "<html" not in done.text  # the partial alone


def test_the_panel_lists_the_issues_the_finished_check_opened(project, reviewer, annotator):
    item = label_first_item(project, annotator)
    label_issues_request(actor=reviewer, project=project)
    # What a finished check leaves: the state set back to idle, and an open issue.
    label_issues_run(project_id=project.pk)
    LabelIssue.objects.create(project=project, item=item, given_label="positive", suggested_label="negative", quality=0.1)
    done = client_for(reviewer).get(_page(project), **HTMX).text
    assert POLLS not in done and item.text in done
    assert AuditEvent.objects.get(action="item.read", details__via="label_issues").details["items"] == [item.pk]


def test_a_running_check_shows_as_running(project, reviewer):
    check = label_issues_request(actor=reviewer, project=project)
    LabelCheck.objects.filter(pk=check.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    panel = client_for(reviewer).get(_page(project), **HTMX).text
    assert POLLS in panel and 'data-status="running"' in panel and 'id="label-check-status"' in panel


def test_a_check_that_never_finished_stops_the_polling_and_says_to_start_it_again(project, reviewer):
    check = label_issues_request(actor=reviewer, project=project)
    long_ago = timezone.now() - timedelta(seconds=LABEL_CHECK_STALE_SECONDS + 60)
    LabelCheck.objects.filter(pk=check.pk).update(created_at=long_ago)
    panel = client_for(reviewer).get(_page(project), **HTMX).text
    assert POLLS not in panel
    assert "The last label check did not finish; start it again." in panel


def test_a_failed_check_stops_the_polling_and_shows_why(project, reviewer, monkeypatch):
    label_issues_request(actor=reviewer, project=project)

    def broken(**kwargs):
        raise RuntimeError("the encoder is missing")

    monkeypatch.setattr(label_issues_module, "embeddings_matrix", broken)
    with pytest.raises(RuntimeError):
        label_issues_run(project_id=project.pk)
    assert LabelCheck.objects.get(project=project).status == JobStatus.FAILED
    panel = client_for(reviewer).get(_page(project), **HTMX).text
    assert POLLS not in panel
    assert "The last label check failed: RuntimeError: the encoder is missing" in panel


def test_a_new_check_clears_the_last_failure(project, reviewer):
    LabelCheck.objects.create(project=project, status=JobStatus.FAILED, error="RuntimeError: boom")
    label_issues_request(actor=reviewer, project=project)
    panel = client_for(reviewer).get(_page(project), **HTMX).text
    assert "boom" not in panel and POLLS in panel


@pytest.mark.parametrize(("who", "status"), [("annotator", 403), ("ml_engineer", 403), ("outsider", 404)])
def test_denies_the_polling_panel_and_the_check_to_non_reviewers(project, request, who, status):
    client = client_for(request.getfixturevalue(who))
    assert client.get(_page(project), **HTMX).status_code == status
    assert client.post(reverse("active:label-check", args=[project.pk]), **HTMX).status_code == status
    assert not LabelCheck.objects.filter(project=project).exists()


def test_a_refused_check_answers_the_panel_with_the_reason(manager, reviewer):
    from tests.factories import project_make

    spans = project_make(manager=manager, task_type="spans", members={reviewer: "reviewer"})
    response = client_for(reviewer).post(reverse("active:label-check", args=[spans.pk]), **HTMX)
    assert response.status_code == 422
    assert 'id="label-check-error"' in response.text and "classification projects only" in response.text
    assert POLLS not in response.text
