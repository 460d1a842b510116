"""The Active learning page, the label-issue queue, similar items, and what the project and quality pages show of them."""

import pytest
from django.urls import reverse

from annotation.models import FinalAnnotation
from common.jobs.models import JobStatus
from governance.models import AuditEvent
from tests.annotation.views.support import HTMX, client_for, label_first_item
from tests.training.topics_support import item_by_text, topic_project
from training.models import ModelVersion, TrainingJob
from training.models.active import (
    ActiveLearning,
    ActiveLearningRefresh,
    LabelIssue,
    LabelIssueStatus,
    LearningCurvePoint,
)
from training.services.datasets import dataset_version_build, dataset_version_create

pytestmark = pytest.mark.django_db


def _url(name, project, *args):
    return reverse(name, args=[project.pk, *args])


def _issue(project, item, given="positive", suggested="negative", quality=0.02):
    return LabelIssue.objects.create(
        project=project, item=item, given_label=given, suggested_label=suggested, quality=quality
    )


def _model_version(project, actor, number=1):
    version = dataset_version_build(version_id=dataset_version_create(actor=actor, project=project).pk)
    job = TrainingJob.objects.create(
        project=project, dataset_version=version, requested_by=actor, status=JobStatus.SUCCEEDED
    )
    return ModelVersion.objects.create(
        project=project, number=number, name=f"sentiment-v{number}", training_job=job, dataset_version=version,
        dataset_hash=version.content_hash, base_model_name="tiny", base_model_fingerprint="0" * 10,
        code_version="test", metrics={}, device="cpu", artifact_path="/nonexistent",
    )


# --- the Active learning page -------------------------------------------------------------------


def test_shows_quality_viewers_the_status_without_the_settings_form(project, reviewer, ml_engineer):
    for user in (reviewer, ml_engineer):
        response = client_for(user).get(_url("active:page", project))
        assert response.status_code == 200
        page = response.content.decode()
        assert 'id="active-status"' in page and 'data-status="idle"' in page
        assert "active-settings-form" not in page and "refresh-button" not in page


def test_shows_a_manager_the_settings_form_with_a_keyword_field_per_label(project, manager):
    page = client_for(manager).get(_url("active:page", project)).content.decode()
    assert 'id="active-settings-form"' in page and 'id="refresh-button"' in page
    for label in project.labels.all():
        assert f'name="keywords_{label.pk}"' in page


@pytest.mark.parametrize(("who", "status"), [("annotator", 403), ("outsider", 404)])
def test_denies_the_page_and_its_status_to_users_without_quality_access(project, request, who, status):
    client = client_for(request.getfixturevalue(who))
    assert client.get(_url("active:page", project)).status_code == status
    assert client.get(_url("active:status", project)).status_code == status


def test_a_manager_changes_the_strategy_control_share_and_seed_keywords(project, manager):
    positive = project.labels.get(name="positive")
    data = {"strategy": "margin", "control_percent": "20", "refresh_every": "5"}
    data |= {f"keywords_{label.pk}": "" for label in project.labels.all()}
    data[f"keywords_{positive.pk}"] = "great, love ,  , Great, wonderful"

    response = client_for(manager).post(_url("active:settings", project), data)

    assert response.status_code == 302
    state = ActiveLearning.objects.get(project=project)
    assert (state.strategy, state.control_fraction, state.refresh_every) == ("margin", 0.2, 5)
    positive.refresh_from_db()
    assert positive.keywords == "great, love, wonderful"
    assert AuditEvent.objects.filter(action="active_learning.update", project_id=project.pk).exists()
    assert AuditEvent.objects.get(action="label.keywords").details == {"labels": {"positive": 3}}


def test_answers_a_bad_setting_with_the_form_and_its_error(project, manager):
    response = client_for(manager).post(
        _url("active:settings", project), {"strategy": "psychic", "control_percent": "80", "refresh_every": "0"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "psychic" in page and 'class="error"' in page
    assert not ActiveLearning.objects.filter(project=project, strategy="psychic").exists()


@pytest.mark.parametrize(("who", "status"), [("ml_engineer", 403), ("reviewer", 403), ("outsider", 404)])
def test_denies_changing_settings_and_refreshing_to_non_managers(project, request, who, status):
    client = client_for(request.getfixturevalue(who))
    assert client.post(_url("active:settings", project), {"strategy": "entropy"}).status_code == status
    assert client.post(_url("active:refresh", project)).status_code == status
    assert ActiveLearning.objects.get(project=project).strategy == "margin"
    assert not ActiveLearningRefresh.objects.filter(project=project).exists()


def test_refresh_now_queues_a_refresh_and_the_status_card_polls_until_it_is_done(project, manager):
    ActiveLearning.objects.filter(project=project).update(strategy="entropy")

    response = client_for(manager).post(_url("active:refresh", project), **HTMX)

    assert response.status_code == 200
    card = response.content.decode()
    assert 'data-status="queued"' in card and 'hx-trigger="every 2s"' in card
    assert ActiveLearningRefresh.objects.get(project=project).status == "queued"


def test_refresh_now_says_the_loop_is_off_when_no_strategy_is_chosen(project, manager):
    ActiveLearning.objects.filter(project=project).update(strategy="off")
    response = client_for(manager).post(_url("active:refresh", project), **HTMX)
    assert response.status_code == 422
    assert "choose a strategy first" in response.content.decode()


def test_draws_the_learning_curve_with_the_active_models_first_point_marked(project, manager):
    version = _model_version(project, manager)
    for labels, accuracy, model in ((10, 0.5, None), (20, 0.7, None), (30, 0.8, version), (40, None, version)):
        LearningCurvePoint.objects.create(
            project=project, labels=labels, control_labels=labels // 10, accuracy=accuracy,
            scored_by=model.name if model else "head", model_version=model,
        )

    page = client_for(manager).get(_url("active:page", project)).content.decode()

    assert 'id="learning-curve-chart"' in page
    assert page.count('class="curve-point') == 3  # the point without a control label is not drawn
    assert page.count('class="curve-point by-model"') == 1
    assert page.count('class="model-version-mark"') == 1 and "sentiment-v1" in page


def test_shows_the_stopping_hint_with_its_agreement_figures(project, manager):
    ActiveLearning.objects.filter(project=project).update(strategy="margin", stopped=True, stop_history=[0.97, 0.995, 0.998])
    page = client_for(manager).get(_url("active:page", project)).content.decode()
    assert "The model has stopped changing." in page and "0.998" in page and 'data-stopped="true"' in page


def test_the_project_page_shows_the_learning_curve_and_links_to_quality_viewers_only(project, reviewer, annotator):
    ActiveLearning.objects.filter(project=project).update(strategy="margin", stop_history=[0.5, 0.8])
    detail = _url("annotation:project-detail", project)
    page = client_for(reviewer).get(detail, {"section": "models"}).content.decode()
    assert 'id="project-learning-curve"' in page and "The model is still changing" in page
    assert 'id="active-learning-link"' in page
    page = client_for(reviewer).get(detail, {"section": "review"}).content.decode()
    assert 'id="label-issues-link"' in page

    page = client_for(annotator).get(detail, {"section": "models"}).content.decode()
    assert "project-learning-curve" not in page and "active-learning-link" not in page


# --- label issues -------------------------------------------------------------------------------


def test_lists_open_issues_with_their_text_for_reviewers_and_records_the_read(project, reviewer, annotator):
    item = label_first_item(project, annotator, "positive")
    issue = _issue(project, item)

    response = client_for(reviewer).get(_url("active:label-issues", project))

    assert response.status_code == 200
    page = response.content.decode()
    assert f'id="label-issue-{issue.pk}"' in page and item.text in page
    assert reverse("active:similar", args=[project.pk, item.pk]) in page
    read = AuditEvent.objects.get(action="item.read", details__via="label_issues")
    assert read.details["items"] == [item.pk] and read.actor == reviewer


@pytest.mark.parametrize(("who", "status"), [("annotator", 403), ("ml_engineer", 403), ("outsider", 404)])
def test_denies_the_label_issues_to_non_reviewers(project, request, annotator, who, status):
    issue = _issue(project, label_first_item(project, annotator))
    client = client_for(request.getfixturevalue(who))
    assert client.get(_url("active:label-issues", project)).status_code == status
    assert client.post(_url("active:label-check", project)).status_code == status
    assert client.post(_url("active:label-issue-resolve", project, issue.pk), {"decision": "dismissed"}).status_code == status
    assert LabelIssue.objects.get(pk=issue.pk).status == LabelIssueStatus.OPEN


def test_check_labels_now_asks_a_worker_and_says_so(project, reviewer):
    response = client_for(reviewer).post(_url("active:label-check", project), follow=True)
    assert "running in the background" in response.content.decode()
    assert AuditEvent.objects.filter(action="label_issue.request", project_id=project.pk).count() == 1


def test_a_reviewer_corrects_a_label_from_the_queue(project, reviewer, annotator):
    item = label_first_item(project, annotator, "positive")
    issue = _issue(project, item)

    response = client_for(reviewer).post(
        _url("active:label-issue-resolve", project, issue.pk), {"decision": "confirmed", "label": "negative"}, **HTMX
    )

    assert response.status_code == 200
    assert 'data-status="confirmed"' in response.content.decode()
    assert item.text not in response.content.decode()  # the row comes back without the text
    assert FinalAnnotation.objects.get(item=item).value == {"labels": ["negative"]}


def test_a_reviewer_keeps_a_label_and_a_second_verdict_is_refused(project, reviewer, annotator):
    issue = _issue(project, label_first_item(project, annotator, "positive"))
    client = client_for(reviewer)

    assert client.post(_url("active:label-issue-resolve", project, issue.pk), {"decision": "dismissed"}).status_code == 302
    again = client.post(_url("active:label-issue-resolve", project, issue.pk), {"decision": "confirmed"}, **HTMX)

    assert again.status_code == 422 and "already settled" in again.content.decode()
    assert LabelIssue.objects.get(pk=issue.pk).status == LabelIssueStatus.DISMISSED


def test_an_issue_of_another_project_is_not_found(project, reviewer, annotator, foreign_issue):
    response = client_for(reviewer).post(_url("active:label-issue-resolve", project, foreign_issue.pk), {"decision": "dismissed"})
    assert response.status_code == 404


@pytest.fixture
def foreign_issue(manager):
    from tests.factories import project_make, user_make

    other = project_make(manager=user_make("someone"), texts=["Elsewhere entirely."])
    return _issue(other, other.items.first())


def test_the_quality_page_shows_the_share_of_likely_mislabelled_items(project, reviewer):
    ActiveLearning.objects.filter(project=project).update(label_check_at="2026-01-01T00:00Z", label_check_items=40, label_issue_rate=0.075)
    page = client_for(reviewer).get(_url("annotation:quality", project)).content.decode()
    assert "7.5 % of 40 labelled items look mislabelled." in page
    assert 'id="quality-label-issues-link"' in page


# --- similar items ------------------------------------------------------------------------------


def test_shows_items_similar_to_an_item_and_records_the_read(manager, annotator):
    project, pairs = topic_project(manager=manager, annotator=annotator, per_topic=3)
    item = item_by_text(project, pairs[0][0])

    response = client_for(manager).get(_url("active:similar", project, item.pk))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<tr data-item=") == len(pairs) - 1 and item.text in page
    read = AuditEvent.objects.get(action="item.read", details__via="similar")
    assert read.details["items"][0] == item.pk and len(read.details["items"]) == len(pairs)


def test_says_when_an_item_has_no_embedding_yet_without_showing_its_text(project, reviewer):
    item = project.items.first()
    page = client_for(reviewer).get(_url("active:similar", project, item.pk)).content.decode()
    assert "no embedding yet" in page and item.text not in page


@pytest.mark.parametrize(("who", "status"), [("annotator", 403), ("outsider", 404)])
def test_denies_similar_items_to_users_who_may_not_browse_items(project, request, who, status):
    item = project.items.first()
    assert client_for(request.getfixturevalue(who)).get(_url("active:similar", project, item.pk)).status_code == status


def test_shows_a_multi_label_issue_as_a_label_to_remove_or_add_without_a_label_choice(manager, annotator):
    from tests.factories import project_make
    from tests.training.topics_support import TOPIC_LABELS

    multi = project_make(
        manager=manager, task_type="multi_label", labels=TOPIC_LABELS, texts=["Rain stopped the match.", "Hail."]
    )
    first, second = multi.items.order_by("id")
    _issue(multi, first, given="weather", suggested="")
    _issue(multi, second, given="", suggested="sport")

    page = client_for(manager).get(_url("active:label-issues", multi)).content.decode()

    assert "without weather" in page and "(missing)" in page
    assert 'name="label"' not in page
