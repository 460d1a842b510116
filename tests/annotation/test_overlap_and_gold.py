"""Overlap slots, hold expiry, overlapping spans, and gold items mixed into the queue."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from annotation.models import Annotation, AnnotationStatus, FinalAnnotation, FinalSource, ItemLock
from annotation.selectors import project_progress
from annotation.services.annotations import annotation_submit, item_skip
from annotation.services.gold import item_gold_clear, item_gold_set
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from governance.roles import ProjectRole
from projects.models import TaskType
from tests.factories import project_make, user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(manager):
    annotators = [user_make(f"member{index}") for index in range(4)]
    project = project_make(
        manager=manager,
        texts=["first text", "second text", "third text"],
        members={user: ProjectRole.ANNOTATOR for user in annotators},
    )
    project_update(actor=manager, project=project, overlap=2, gold_rate=0.0)
    return project, annotators


def test_with_overlap_two_annotators_share_an_item_and_a_third_is_sent_elsewhere(team):
    project, (first, second, third, _) = team
    item = queue_next_item(actor=first, project=project)
    assert queue_next_item(actor=second, project=project).pk == item.pk
    assert queue_next_item(actor=third, project=project).pk != item.pk


def test_an_item_closes_after_k_submissions_and_agreeing_answers_become_final(team):
    project, (first, second, *_rest) = team
    item = queue_next_item(actor=first, project=project)
    annotation_submit(actor=first, item=item, value={"labels": ["positive"]})
    item.refresh_from_db()
    assert (item.annotation_count, item.is_done) == (1, False)
    assert queue_next_item(actor=second, project=project).pk == item.pk
    annotation_submit(actor=second, item=item, value={"labels": ["positive"]})
    item.refresh_from_db()
    assert item.is_done
    final = FinalAnnotation.objects.get(item=item)
    assert (final.value, final.source, final.unanimous) == ({"labels": ["positive"]}, FinalSource.AGREEMENT, True)


def test_disagreeing_answers_leave_the_item_for_a_reviewer(team):
    project, (first, second, *_rest) = team
    item = queue_next_item(actor=first, project=project)
    annotation_submit(actor=first, item=item, value={"labels": ["positive"]})
    queue_next_item(actor=second, project=project)
    annotation_submit(actor=second, item=item, value={"labels": ["negative"]})
    assert not FinalAnnotation.objects.filter(item=item).exists()


def test_a_submission_for_an_item_the_queue_handed_to_others_is_not_found(team):
    # The overlap cap for someone whose hold lapsed meanwhile is the test below.
    project, (first, second, third, _) = team
    item = queue_next_item(actor=first, project=project)
    queue_next_item(actor=second, project=project)
    with pytest.raises(Http404):
        annotation_submit(actor=third, item=item, value={"labels": ["positive"]})


def test_an_expired_hold_frees_its_slot_for_someone_else(team):
    project, (first, second, third, _) = team
    item = queue_next_item(actor=first, project=project)
    queue_next_item(actor=second, project=project)
    ItemLock.objects.filter(item=item, user=first).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert queue_next_item(actor=third, project=project).pk == item.pk


def test_a_submission_on_an_expired_hold_is_refused_once_others_took_the_slots(team):
    project, (first, second, third, _) = team
    item = queue_next_item(actor=first, project=project)
    queue_next_item(actor=second, project=project)
    ItemLock.objects.filter(item=item, user=first).update(expires_at=timezone.now() - timedelta(seconds=1))
    queue_next_item(actor=third, project=project)
    with pytest.raises(ValidationError, match="reserved by other annotators"):
        annotation_submit(actor=first, item=item, value={"labels": ["positive"]})
    # The refusal rolled back with the rest: the expired hold was not silently dropped.
    assert ItemLock.objects.filter(item=item, user=first).exists()


def test_a_submission_on_a_live_hold_is_counted_without_a_recount(team):
    project, (first, second, *_rest) = team
    item = queue_next_item(actor=first, project=project)
    queue_next_item(actor=second, project=project)
    annotation_submit(actor=first, item=item, value={"labels": ["positive"]})
    item.refresh_from_db()
    assert item.annotation_count == 1 and not ItemLock.objects.filter(item=item, user=first).exists()


def test_a_skip_frees_the_slot_and_the_item_never_returns_to_the_skipper(team):
    project, (first, second, third, _) = team
    item = queue_next_item(actor=first, project=project)
    queue_next_item(actor=second, project=project)
    skipped = item_skip(actor=first, item=item, reason="unclear")
    assert skipped.skip_reason == "unclear"
    assert queue_next_item(actor=third, project=project).pk == item.pk
    assert queue_next_item(actor=first, project=project).pk != item.pk


def test_lowering_the_overlap_closes_items_that_already_have_enough_answers(team, manager):
    project, (first, *_rest) = team
    item = queue_next_item(actor=first, project=project)
    annotation_submit(actor=first, item=item, value={"labels": ["neutral"]})
    project_update(actor=manager, project=project, overlap=1)
    item.refresh_from_db()
    assert item.is_done and FinalAnnotation.objects.get(item=item).value == {"labels": ["neutral"]}
    project_update(actor=manager, project=project, overlap=3)
    item.refresh_from_db()
    assert not item.is_done and not FinalAnnotation.objects.filter(item=item).exists()


@pytest.fixture
def spans_project(manager, annotator):
    return project_make(
        manager=manager,
        task_type=TaskType.SPANS,
        labels=[{"name": "PER"}, {"name": "ORG"}],
        texts=["Ada Lovelace worked with Charles Babbage."],
        members={annotator: ProjectRole.ANNOTATOR},
    )


def test_overlapping_spans_are_refused_naming_both_unless_the_project_allows_them(spans_project, annotator, manager):
    item = queue_next_item(actor=annotator, project=spans_project)
    overlapping = {"spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 4, "end": 12, "label": "ORG"}]}
    with pytest.raises(ValidationError, match=r"'Lovelace' \(4\.\.12\) overlaps 'Ada Lovelace' \(0\.\.12\)"):
        annotation_submit(actor=annotator, item=item, value=overlapping)
    project_update(actor=manager, project=spans_project, allow_overlapping_spans=True)
    annotation = annotation_submit(actor=annotator, item=item, value=overlapping)
    assert len(annotation.value["spans"]) == 2


def test_the_same_span_twice_is_refused_even_where_overlaps_are_allowed(spans_project, annotator, manager):
    project_update(actor=manager, project=spans_project, allow_overlapping_spans=True)
    item = queue_next_item(actor=annotator, project=spans_project)
    twice = {"spans": [{"start": 0, "end": 3, "label": "PER"}, {"start": 0, "end": 3, "label": "PER"}]}
    with pytest.raises(ValidationError, match="marked twice"):
        annotation_submit(actor=annotator, item=item, value=twice)


# Gold items ---------------------------------------------------------------------------------


@pytest.fixture
def gold_project(team, manager):
    project, annotators = team
    gold = project.items.order_by("id").last()
    item_gold_set(actor=manager, item=gold, value={"labels": ["negative"]})
    return project, annotators, gold


def test_a_gold_item_is_served_at_the_gold_rate_once_to_each_annotator(gold_project, manager):
    project, (first, second, *_rest), gold = gold_project
    project_update(actor=manager, project=project, gold_rate=1.0)
    assert queue_next_item(actor=first, project=project).pk == gold.pk
    assert queue_next_item(actor=second, project=project).pk == gold.pk
    annotation_submit(actor=first, item=gold, value={"labels": ["positive"]})
    assert queue_next_item(actor=first, project=project).pk != gold.pk


def test_gold_items_are_never_served_at_rate_zero_and_stay_out_of_progress(gold_project, annotator):
    project, (first, *_rest), gold = gold_project
    served = set()
    while (item := queue_next_item(actor=first, project=project)) is not None:
        served.add(item.pk)
        annotation_submit(actor=first, item=item, value={"labels": ["positive"]})
    assert gold.pk not in served and len(served) == 2
    assert project_progress(project=project, user=first).total == 2


def test_answers_on_a_gold_item_do_not_fill_slots_or_make_a_final(gold_project, manager):
    project, annotators, gold = gold_project
    project_update(actor=manager, project=project, gold_rate=1.0)
    for user in annotators[:3]:
        assert queue_next_item(actor=user, project=project).pk == gold.pk
        annotation_submit(actor=user, item=gold, value={"labels": ["negative"]})
    gold.refresh_from_db()
    assert gold.annotation_count == 0 and gold.gold_value == {"labels": ["negative"]}
    assert not FinalAnnotation.objects.filter(item=gold).exists()
    assert Annotation.objects.filter(item=gold, status=AnnotationStatus.SUBMITTED).count() == 3


def test_clearing_gold_returns_the_item_to_the_queue_with_its_answers_counted(gold_project, manager):
    project, (first, *_rest), gold = gold_project
    project_update(actor=manager, project=project, gold_rate=1.0)
    queue_next_item(actor=first, project=project)
    annotation_submit(actor=first, item=gold, value={"labels": ["negative"]})
    item_gold_clear(actor=manager, item=gold)
    gold.refresh_from_db()
    assert (gold.is_gold, gold.annotation_count, gold.is_done) == (False, 1, False)


def test_a_gold_answer_must_fit_the_project(team, manager):
    project, _ = team
    with pytest.raises(ValidationError, match="not labels of this project"):
        item_gold_set(actor=manager, item=project.items.first(), value={"labels": ["joyful"]})
