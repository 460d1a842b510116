"""The review page: reviewers see every answer, accept, correct or reject; others are kept out."""

import pytest
from django.urls import reverse

from annotation.models import AnnotationStatus, FinalAnnotation, FinalSource, Review, ReviewDecision
from annotation.services.annotations import annotation_submit
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from governance.models import AuditEvent
from tests.annotation.views.support import HTMX, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def disputed(project, manager, annotator, second_annotator):
    project_update(actor=manager, project=project, overlap=2, gold_rate=0.0)
    item = queue_next_item(actor=annotator, project=project)
    queue_next_item(actor=second_annotator, project=project)
    annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]}, comment="looks happy")
    annotation_submit(actor=second_annotator, item=item, value={"labels": ["negative"]})
    return item


def test_allows_a_reviewer_to_open_the_review_page_with_every_answer_side_by_side(project, reviewer, disputed):
    response = client_for(reviewer).get(reverse("annotation:review", args=[project.pk]))
    assert response.status_code == 200
    page = response.text
    assert f'data-item-id="{disputed.pk}"' in page
    assert ">annotator<" in page and ">annotator2<" in page and "looks happy" in page
    assert "annotation/review.js" in page
    assert page.count("<script") == page.count("<script src=")
    assert AuditEvent.objects.filter(action="item.read", details__via="review").exists()


def test_denies_an_annotator_the_review_page(project, annotator, disputed):
    assert client_for(annotator).get(reverse("annotation:review", args=[project.pk])).status_code == 403


def test_denies_an_outsider_the_review_page_without_revealing_the_project(project, outsider):
    assert client_for(outsider).get(reverse("annotation:review", args=[project.pk])).status_code == 404


def test_accepting_through_the_page_decides_the_item_and_shows_the_next(project, reviewer, disputed):
    url = reverse("annotation:review-item", args=[project.pk, disputed.pk])
    response = client_for(reviewer).post(url, {"decision": "resolve", "label": ["negative"]}, **HTMX)
    assert response.status_code == 200 and 'id="review-empty"' in response.text
    final = FinalAnnotation.objects.get(item=disputed)
    assert (final.value, final.source) == ({"labels": ["negative"]}, FinalSource.REVIEW)
    assert sorted(Review.objects.values_list("decision", flat=True)) == [ReviewDecision.ACCEPTED, ReviewDecision.CORRECTED]


def test_rejecting_without_a_comment_is_explained_on_the_page(project, reviewer, disputed):
    url = reverse("annotation:review-item", args=[project.pk, disputed.pk])
    response = client_for(reviewer).post(url, {"decision": "reject", "comment": ""}, **HTMX)
    assert response.status_code == 422 and "Say why the annotation is rejected" in response.text
    assert not Review.objects.exists()


def test_rejecting_with_a_comment_sends_the_item_back_to_its_annotators(project, reviewer, annotator, disputed):
    url = reverse("annotation:review-item", args=[project.pk, disputed.pk])
    client_for(reviewer).post(url, {"decision": "reject", "comment": "Re-read rule 3."}, **HTMX)
    assert set(disputed.annotations.values_list("status", flat=True)) == {AnnotationStatus.REJECTED}
    page = client_for(annotator).get(reverse("annotation:label", args=[project.pk])).text
    assert f'data-item-id="{disputed.pk}"' in page and "Re-read rule 3." in page


def test_denies_an_annotator_deciding_an_item(project, annotator, disputed):
    url = reverse("annotation:review-item", args=[project.pk, disputed.pk])
    response = client_for(annotator).post(url, {"decision": "resolve", "label": ["positive"]}, **HTMX)
    assert response.status_code == 403 and not FinalAnnotation.objects.exists()


def test_allows_a_manager_to_change_overlap_and_gold_rate_from_the_project_page(project, manager):
    url = reverse("annotation:project-settings", args=[project.pk])
    data = {"overlap": 3, "review_policy": "all", "gold_rate": 0.25}
    response = client_for(manager).post(url, data, **HTMX)
    assert response.status_code == 200 and 'id="settings-saved"' in response.text
    project.refresh_from_db()
    # Overlapping spans is a span-project setting (tests/annotation/views/test_task_type_forms.py).
    assert (project.overlap, project.review_policy, project.gold_rate) == (3, "all", 0.25)


def test_a_gold_rate_above_one_is_refused_with_the_field_named(project, manager):
    url = reverse("annotation:project-settings", args=[project.pk])
    data = {"overlap": 1, "review_policy": "all", "gold_rate": 1.5}
    response = client_for(manager).post(url, data, **HTMX)
    assert response.status_code == 422 and "less than or equal to 1" in response.text


def test_denies_a_reviewer_changing_the_project_settings(project, reviewer):
    url = reverse("annotation:project-settings", args=[project.pk])
    response = client_for(reviewer).post(url, {"overlap": 5, "review_policy": "all", "gold_rate": 0}, **HTMX)
    assert response.status_code == 403
