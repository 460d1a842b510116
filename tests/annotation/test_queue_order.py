"""The order the queue serves in: my held item, then items sent back to me, then the oldest open one."""

import pytest

from annotation.models import ItemLock
from annotation.services.annotations import annotation_submit
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from annotation.services.reviews import review_reject

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_back(project, manager, annotator, second_annotator):
    """An item the reviewer sent back to ``annotator`` (overlap 2, answers disagreed)."""
    project_update(actor=manager, project=project, overlap=2, gold_rate=0.0)
    item = queue_next_item(actor=annotator, project=project)
    assert queue_next_item(actor=second_annotator, project=project).pk == item.pk
    mine = annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    annotation_submit(actor=second_annotator, item=item, value={"labels": ["negative"]})
    return item, mine


def test_an_item_i_hold_comes_back_before_one_a_reviewer_sent_back(
    project, manager, reviewer, annotator, sent_back
):
    returned, mine = sent_back
    held = queue_next_item(actor=annotator, project=project)
    assert held.pk != returned.pk
    review_reject(actor=reviewer, item=returned, comment="Look again.", annotation_ids=[mine.pk])
    assert queue_next_item(actor=annotator, project=project).pk == held.pk
    annotation_submit(actor=annotator, item=held, value={"labels": ["neutral"]})
    assert queue_next_item(actor=annotator, project=project).pk == returned.pk


def test_open_items_come_oldest_first_and_never_one_i_answered(
    project, annotator, second_annotator, manager
):
    project_update(actor=manager, project=project, overlap=2, gold_rate=0.0)
    answered = []
    for _ in range(3):
        item = queue_next_item(actor=annotator, project=project)
        annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
        answered.append(item.pk)
    assert answered == sorted(answered)
    # Still open (one slot each), but not for me: I get the next item, the other annotator the oldest.
    mine = queue_next_item(actor=annotator, project=project)
    assert mine.pk not in answered and mine.pk > max(answered)
    assert queue_next_item(actor=second_annotator, project=project).pk == answered[0]


def test_a_full_item_is_passed_over_while_its_holds_are_live(project, annotator, second_annotator):
    first = queue_next_item(actor=annotator, project=project)
    second = queue_next_item(actor=second_annotator, project=project)
    assert second.pk != first.pk
    assert (
        ItemLock.objects.filter(item=first).count() == 1
        and ItemLock.objects.filter(item=second).count() == 1
    )


def test_the_item_served_carries_its_project_without_another_query(
    project, annotator, django_assert_num_queries
):
    item = queue_next_item(actor=annotator, project=project)
    with django_assert_num_queries(0):
        assert item.project.pk == project.pk
