"""Active learning over the API: settings and status, refresh, label issues and similar items, each allowed and denied."""

import pytest

from annotation.models import FinalAnnotation
from governance.models import AuditEvent
from tests.annotation.views.support import label_first_item
from tests.training.topics_support import item_by_text, topic_project
from training.models.active import (
    ActiveLearning,
    ActiveLearningRefresh,
    LabelIssue,
    LabelIssueStatus,
    LearningCurvePoint,
)

pytestmark = pytest.mark.django_db


def _issue(project, item, quality=0.02):
    return LabelIssue.objects.create(
        project=project, item=item, given_label="positive", suggested_label="negative", quality=quality
    )


# --- settings, status, curve, hint --------------------------------------------------------------


def test_allows_quality_viewers_to_read_settings_status_curve_and_hint(project, reviewer, ml_engineer, api_client):
    ActiveLearning.objects.filter(project=project).update(strategy="margin", stop_history=[0.9, 0.99], scored_by="head")
    LearningCurvePoint.objects.create(project=project, labels=20, control_labels=3, accuracy=0.66, scored_by="head")
    for user in (reviewer, ml_engineer):
        response = api_client(user).get(f"/api/projects/{project.pk}/active-learning/")
        assert response.status_code == 200
        body = response.json()
        assert body["strategy"] == "margin" and body["control_fraction"] == 0.1 and body["refresh_every"] == 10
        assert body["status"]["refresh_status"] == "idle" and body["status"]["scored_by"] == "head"
        assert body["stopping_hint"] == {"stopped": False, "agreement": 0.99, "refreshes": 2}
        assert [(p["labels"], p["accuracy"]) for p in body["learning_curve"]] == [(20, 0.66)]
        assert body["keywords"] == {"positive": [], "negative": [], "neutral": []}


def test_reads_the_defaults_of_a_project_without_a_loop_row_without_writing(project, reviewer, api_client):
    # Only a project made outside project_create (which sets its loop up) lacks the row.
    ActiveLearning.objects.filter(project=project).delete()
    body = api_client(reviewer).get(f"/api/projects/{project.pk}/active-learning/").json()
    assert body["strategy"] == "margin" and body["learning_curve"] == [] and body["stopping_hint"]["agreement"] is None
    assert not ActiveLearning.objects.filter(project=project).exists()


@pytest.mark.parametrize(("who", "status"), [("annotator", 403), ("outsider", 404)])
def test_denies_the_loop_to_users_without_quality_access(project, request, api_client, who, status):
    client = api_client(request.getfixturevalue(who))
    assert client.get(f"/api/projects/{project.pk}/active-learning/").status_code == status


def test_allows_a_manager_to_change_the_settings_and_seed_keywords(project, manager, api_client):
    response = api_client(manager).patch(
        f"/api/projects/{project.pk}/active-learning/",
        {"strategy": "diversity", "control_fraction": 0.25, "keywords": {"negative": ["awful", "broken"]}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["strategy"] == "diversity" and body["control_fraction"] == 0.25
    assert body["keywords"]["negative"] == ["awful", "broken"]
    assert project.labels.get(name="negative").keywords == "awful, broken"
    assert AuditEvent.objects.filter(action="active_learning.update", project_id=project.pk).count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"strategy": "clairvoyant"}, "strategy"),
        ({"control_fraction": 0.9}, "control_fraction"),
        ({"keywords": {"astonished": ["wow"]}}, "keywords"),
    ],
)
def test_refuses_bad_settings_naming_the_field(project, manager, api_client, payload, field):
    response = api_client(manager).patch(f"/api/projects/{project.pk}/active-learning/", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    state = ActiveLearning.objects.get(project=project)
    assert (state.strategy, state.control_fraction) == ("margin", 0.1)


@pytest.mark.parametrize(("who", "status"), [("ml_engineer", 403), ("reviewer", 403), ("outsider", 404)])
def test_denies_changing_the_loop_and_refreshing_to_non_managers(project, request, api_client, who, status):
    client = api_client(request.getfixturevalue(who))
    url = f"/api/projects/{project.pk}/active-learning/"
    assert client.patch(url, {"strategy": "margin"}, format="json").status_code == status
    assert client.post(url + "refresh/").status_code == status


def test_allows_a_manager_to_queue_a_refresh(project, manager, api_client):
    ActiveLearning.objects.filter(project=project).update(strategy="least_confidence")
    response = api_client(manager).post(f"/api/projects/{project.pk}/active-learning/refresh/")
    assert response.status_code == 202 and response.json() == {"queued": True}
    assert ActiveLearningRefresh.objects.get(project=project).status == "queued"


def test_refuses_a_refresh_while_the_loop_is_off(project, manager, api_client):
    ActiveLearning.objects.filter(project=project).update(strategy="off")
    response = api_client(manager).post(f"/api/projects/{project.pk}/active-learning/refresh/")
    assert response.status_code == 400 and "choose a strategy first" in str(response.json())


# --- label issues -------------------------------------------------------------------------------


def test_allows_a_reviewer_to_list_open_issues_with_text_and_records_the_read(project, reviewer, annotator, api_client):
    first = label_first_item(project, annotator, "positive")
    second = label_first_item(project, annotator, "positive")
    _issue(project, first, quality=0.3)
    _issue(project, second, quality=0.01)

    response = api_client(reviewer).get(f"/api/projects/{project.pk}/label-issues/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [row["item"] for row in results] == [second.pk, first.pk]  # most likely wrong first
    assert results[0]["text"] == second.text and results[0]["status"] == "open"
    read = AuditEvent.objects.get(action="item.read", details__via="api.label_issues")
    assert sorted(read.details["items"]) == sorted([first.pk, second.pk])


def test_refuses_an_unknown_status_filter(project, reviewer, api_client):
    response = api_client(reviewer).get(f"/api/projects/{project.pk}/label-issues/?status=lost")
    assert response.status_code == 400 and "lost" in str(response.json())


@pytest.mark.parametrize(("who", "status"), [("annotator", 403), ("ml_engineer", 403), ("outsider", 404)])
def test_denies_label_issues_to_non_reviewers(project, request, annotator, api_client, who, status):
    issue = _issue(project, label_first_item(project, annotator))
    client = api_client(request.getfixturevalue(who))
    base = f"/api/projects/{project.pk}/label-issues/"
    assert client.get(base).status_code == status
    assert client.post(base + "check/").status_code == status
    assert client.post(base + f"{issue.pk}/resolve/", {"decision": "dismissed"}, format="json").status_code == status
    assert LabelIssue.objects.get(pk=issue.pk).status == LabelIssueStatus.OPEN


def test_allows_a_reviewer_to_ask_for_a_label_check(project, reviewer, api_client):
    assert api_client(reviewer).post(f"/api/projects/{project.pk}/label-issues/check/").status_code == 202
    assert AuditEvent.objects.filter(action="label_issue.request", project_id=project.pk).exists()


def test_allows_a_reviewer_to_correct_a_label(project, reviewer, annotator, api_client):
    item = label_first_item(project, annotator, "positive")
    issue = _issue(project, item)

    response = api_client(reviewer).post(
        f"/api/projects/{project.pk}/label-issues/{issue.pk}/resolve/", {"decision": "confirmed"}, format="json"
    )

    assert response.status_code == 200 and response.json()["status"] == "confirmed"
    assert response.json()["resolved_by"] == reviewer.username
    assert FinalAnnotation.objects.get(item=item).value == {"labels": ["negative"]}


def test_refuses_a_verdict_without_a_decision_and_an_issue_of_another_project(
    project, reviewer, annotator, api_client, foreign_project
):
    issue = _issue(project, label_first_item(project, annotator))
    foreign = _issue(foreign_project, foreign_project.items.first())
    base = f"/api/projects/{project.pk}/label-issues/"
    assert api_client(reviewer).post(base + f"{issue.pk}/resolve/", {}, format="json").status_code == 400
    assert api_client(reviewer).post(base + f"{foreign.pk}/resolve/", {"decision": "dismissed"}, format="json").status_code == 404


# --- similar items ------------------------------------------------------------------------------


def test_allows_item_browsers_to_find_similar_items(manager, annotator, api_client):
    project, pairs = topic_project(manager=manager, annotator=annotator, per_topic=3)
    item = item_by_text(project, pairs[0][0])

    response = api_client(manager).get(f"/api/projects/{project.pk}/items/{item.pk}/similar/?k=2")

    assert response.status_code == 200
    body = response.json()
    assert body["item"] == item.pk and body["embedded"] is True
    assert len(body["neighbours"]) == 2 and dict(pairs)[body["neighbours"][0]["text"]] == pairs[0][1]
    read = AuditEvent.objects.get(action="item.read", details__via="api.similar")
    assert read.details["items"] == [row["id"] for row in body["neighbours"]]


def test_answers_embedded_false_for_an_item_not_embedded_yet(project, reviewer, api_client):
    item = project.items.first()
    body = api_client(reviewer).get(f"/api/projects/{project.pk}/items/{item.pk}/similar/").json()
    assert body == {"item": item.pk, "embedded": False, "neighbours": []}


@pytest.mark.parametrize("k", ["two", "0", "99"])
def test_refuses_a_bad_neighbour_count(project, reviewer, api_client, k):
    item = project.items.first()
    response = api_client(reviewer).get(f"/api/projects/{project.pk}/items/{item.pk}/similar/?k={k}")
    assert response.status_code == 400 and "k" in response.json()


@pytest.mark.parametrize(("who", "status"), [("annotator", 403), ("outsider", 404)])
def test_denies_similar_items_to_users_who_may_not_browse(project, request, api_client, who, status):
    item = project.items.first()
    client = api_client(request.getfixturevalue(who))
    assert client.get(f"/api/projects/{project.pk}/items/{item.pk}/similar/").status_code == status
