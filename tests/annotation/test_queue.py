from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from annotation.models import AnnotationStatus, ItemLock
from annotation.selectors import project_progress
from annotation.services.annotations import annotation_submit, item_skip
from annotation.services.queue import queue_next_item

pytestmark = pytest.mark.django_db


def test_next_item_returns_the_same_item_until_it_is_submitted(project, annotator):
    first = queue_next_item(actor=annotator, project=project)
    again = queue_next_item(actor=annotator, project=project)
    assert first is not None and again.pk == first.pk


def test_second_annotator_never_receives_an_item_held_by_the_first(project, annotator, second_annotator):
    held = queue_next_item(actor=annotator, project=project)
    other = queue_next_item(actor=second_annotator, project=project)
    assert other is not None and other.pk != held.pk


def test_an_expired_lock_returns_the_item_to_the_queue(project, annotator, second_annotator):
    held = queue_next_item(actor=annotator, project=project)
    ItemLock.objects.filter(item=held).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert queue_next_item(actor=second_annotator, project=project).pk == held.pk


def test_every_item_is_handed_out_once_across_annotators_until_the_queue_is_empty(project, annotator, second_annotator):
    seen = []
    for user in [annotator, second_annotator] * 10:
        item = queue_next_item(actor=user, project=project)
        if item is None:
            continue
        seen.append(item.pk)
        annotation_submit(actor=user, item=item, value={"labels": ["neutral"]})
    assert sorted(seen) == sorted(project.items.values_list("pk", flat=True))
    assert queue_next_item(actor=annotator, project=project) is None


def test_submitting_an_item_reserved_by_someone_else_is_not_found(project, annotator, second_annotator):
    held = queue_next_item(actor=annotator, project=project)
    with pytest.raises(Http404):
        annotation_submit(actor=second_annotator, item=held, value={"labels": ["positive"]})


def test_submitting_after_ones_hold_lapsed_and_someone_else_took_the_slot_is_refused(
    project, annotator, second_annotator
):
    held = queue_next_item(actor=annotator, project=project)
    ItemLock.objects.filter(item=held).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert queue_next_item(actor=second_annotator, project=project).pk == held.pk
    with pytest.raises(ValidationError, match="reserved by other annotators"):
        annotation_submit(actor=annotator, item=held, value={"labels": ["positive"]})


def test_a_skipped_item_leaves_my_queue_but_stays_open_for_others(project, annotator, second_annotator):
    skipped = queue_next_item(actor=annotator, project=project)
    annotation = item_skip(actor=annotator, item=skipped, reason="unclear")
    assert annotation.status == AnnotationStatus.SKIPPED
    assert queue_next_item(actor=annotator, project=project).pk != skipped.pk
    assert queue_next_item(actor=second_annotator, project=project).pk == skipped.pk


def test_progress_counts_done_and_remaining_items(project, annotator):
    item = queue_next_item(actor=annotator, project=project)
    annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]}, lead_time_ms=1200)
    progress = project_progress(project=project, user=annotator)
    assert (progress.total, progress.done, progress.remaining, progress.mine) == (6, 1, 5, 1)


@pytest.mark.parametrize(
    "value, message",
    [
        ({"labels": ["positive", "negative"]}, "exactly one label"),
        ({"labels": ["joyful"]}, "not labels of this project: joyful"),
        ({"spans": []}, "expects"),
        ("positive", "must be an object"),
    ],
)
def test_a_value_that_does_not_fit_the_project_is_refused_with_the_reason(project, annotator, value, message):
    item = queue_next_item(actor=annotator, project=project)
    with pytest.raises(ValidationError, match=message):
        annotation_submit(actor=annotator, item=item, value=value)
