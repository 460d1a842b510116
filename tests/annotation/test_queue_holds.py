"""Answers and skips take only items the queue handed to their annotator (or that they answered before)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from annotation.models import Annotation, AnnotationStatus, ItemLock
from annotation.services.annotations import annotation_submit, item_skip
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from governance.models import AuditEvent
from tests.annotation.views.support import HTMX, client_for

pytestmark = pytest.mark.django_db

NOT_HANDED = "This item was not handed to you; take the next item from the queue."


def _api_submit(client, project, item_id, body):
    return client.post(f"/api/projects/{project.pk}/items/{item_id}/annotations/", body, format="json")


def _api_skip(client, project, item_id, body):
    return client.post(f"/api/projects/{project.pk}/items/{item_id}/skip/", body, format="json")


# Submitting


def test_an_annotator_cannot_submit_an_item_the_queue_did_not_hand_them(project, annotator):
    item = project.items.order_by("id").last()
    with pytest.raises(Http404):
        annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    assert not Annotation.objects.exists()


def test_an_annotator_submits_the_item_the_queue_handed_them(project, annotator):
    item = queue_next_item(actor=annotator, project=project)
    annotation = annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    assert annotation.status == AnnotationStatus.SUBMITTED
    assert not ItemLock.objects.filter(item=item, user=annotator).exists()


def test_an_annotator_changes_their_earlier_answer_without_a_new_hold(project, annotator):
    item = queue_next_item(actor=annotator, project=project)
    annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    changed = annotation_submit(actor=annotator, item=item, value={"labels": ["negative"]})
    assert changed.value == {"labels": ["negative"]}
    assert AuditEvent.objects.filter(action="annotation.update").count() == 1


def test_a_lapsed_hold_still_takes_an_answer_while_the_slot_is_free(project, annotator):
    item = queue_next_item(actor=annotator, project=project)
    ItemLock.objects.filter(item=item).update(expires_at=timezone.now() - timedelta(seconds=1))
    annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    item.refresh_from_db()
    assert (item.annotation_count, item.is_done) == (1, True)


def test_a_reviewer_who_labels_is_told_to_take_the_item_from_the_queue(project, reviewer):
    # Reviewers may see every item, so the refusal says why instead of hiding the item.
    item = project.items.order_by("id").last()
    with pytest.raises(ValidationError, match=NOT_HANDED):
        annotation_submit(actor=reviewer, item=item, value={"labels": ["positive"]})


def test_the_api_refuses_an_answer_for_an_item_not_handed_to_the_annotator(project, annotator, api_client):
    item = project.items.order_by("id").last()
    response = _api_submit(api_client(annotator), project, item.pk, {"value": {"labels": ["positive"]}})
    assert response.status_code == 404
    assert item.text not in response.text
    assert not Annotation.objects.exists()


def test_the_api_tells_a_reviewer_to_take_the_item_from_the_queue(project, reviewer, api_client):
    item = project.items.order_by("id").last()
    response = _api_submit(api_client(reviewer), project, item.pk, {"value": {"labels": ["positive"]}})
    assert response.status_code == 400
    assert response.json() == {"item": [NOT_HANDED]}


def test_a_span_answer_for_an_item_not_handed_cannot_quote_its_text(manager, annotator, api_client):
    # Span errors quote the text they point at: they come only after the item was found handed.
    from governance.roles import ProjectRole
    from projects.models import TaskType
    from tests.factories import project_make

    project = project_make(
        manager=manager,
        task_type=TaskType.SPANS,
        labels=[{"name": "PER", "color": "#1f77b4"}],
        texts=["Ada Lovelace wrote the first program."],
        members={annotator: ProjectRole.ANNOTATOR},
    )
    item = project.items.get()
    twice = {"spans": [{"start": 0, "end": 3, "label": "PER"}, {"start": 0, "end": 3, "label": "PER"}]}
    response = _api_submit(api_client(annotator), project, item.pk, {"value": twice})
    assert response.status_code == 404
    assert "Ada" not in response.text


def test_the_page_answers_404_for_an_item_not_handed_with_or_without_a_valid_answer(project, annotator):
    item = project.items.order_by("id").last()
    url = reverse("annotation:annotation-submit", args=[project.pk, item.pk])
    client = client_for(annotator)
    for data in ({}, {"label": "positive"}):
        response = client.post(url, data, **HTMX)
        assert response.status_code == 404
        assert item.text not in response.text
    assert not AuditEvent.objects.filter(action="item.read").exists()


def test_the_page_shows_a_refused_answer_again_and_records_that_read(project, annotator):
    client = client_for(annotator)
    client.get(reverse("annotation:label", args=[project.pk]))
    item = project.items.order_by("id").first()
    response = client.post(reverse("annotation:annotation-submit", args=[project.pk, item.pk]), {}, **HTMX)
    assert response.status_code == 422 and item.text in response.text
    shown_again = AuditEvent.objects.get(action="item.read", details__via="label.form")
    assert shown_again.details["items"] == [item.pk]


# Skipping


def test_an_annotator_cannot_skip_an_item_the_queue_did_not_hand_them(project, annotator):
    item = project.items.order_by("id").last()
    with pytest.raises(Http404):
        item_skip(actor=annotator, item=item, reason="unclear")


def test_an_annotator_cannot_skip_a_full_item_through_the_api(project, annotator, second_annotator, api_client):
    full = queue_next_item(actor=second_annotator, project=project)
    annotation_submit(actor=second_annotator, item=full, value={"labels": ["positive"]})
    response = _api_skip(api_client(annotator), project, full.pk, {"reason": "unclear"})
    assert response.status_code == 404
    assert not Annotation.objects.filter(annotator=annotator).exists()


def test_the_api_refuses_a_skip_without_a_reason_as_the_page_does(project, annotator, api_client):
    client = api_client(annotator)
    item_id = client.post(f"/api/projects/{project.pk}/next/").json()["item"]["id"]
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        response = _api_skip(client, project, item_id, body)
        assert response.status_code == 400
        assert response.json() == {"reason": ["Say why you skip this item: choose a reason or write one."]}
    assert not Annotation.objects.exists()
    # The refusal kept the hold: the item is still the annotator's to answer or skip.
    assert ItemLock.objects.filter(item_id=item_id, user=annotator).exists()


def test_the_page_refuses_a_skip_without_a_reason_inside_the_same_item(project, annotator):
    client = client_for(annotator)
    client.get(reverse("annotation:label", args=[project.pk]))
    item = project.items.order_by("id").first()
    response = client.post(reverse("annotation:item-skip", args=[project.pk, item.pk]), {"reason": ""}, **HTMX)
    assert response.status_code == 422
    assert "Say why you skip this item" in response.text and item.text in response.text
    assert not Annotation.objects.exists()


def test_a_skip_reason_over_the_limit_is_refused_with_the_limit(project, annotator):
    item = queue_next_item(actor=annotator, project=project)
    with pytest.raises(ValidationError, match="is 501 characters long; the limit is 500"):
        item_skip(actor=annotator, item=item, reason="x" * 501)


def test_a_skipped_item_can_still_be_answered_while_a_slot_is_free(project, manager, annotator):
    project_update(actor=manager, project=project, gold_rate=0.0)
    item = queue_next_item(actor=annotator, project=project)
    item_skip(actor=annotator, item=item, reason="unclear")
    annotation = annotation_submit(actor=annotator, item=item, value={"labels": ["neutral"]})
    assert annotation.status == AnnotationStatus.SUBMITTED and annotation.skip_reason == ""
