"""Progress counts: exact by default; on the queue's hot path team totals may lag, the user's own never."""

import pytest

from annotation.selectors import project_progress
from annotation.services.annotations import annotation_submit
from annotation.services.queue import queue_next_item
from tests.factories import items_add

pytestmark = pytest.mark.django_db


def test_progress_without_an_allowed_age_counts_every_time(project, annotator, manager):
    assert project_progress(project=project, user=annotator).total == 6
    items_add(project=project, actor=manager, texts=["A seventh text to label."])
    assert project_progress(project=project, user=annotator).total == 7


def test_team_totals_may_be_remembered_for_the_allowed_age_but_my_own_count_is_always_exact(
    project, annotator, manager
):
    first = project_progress(project=project, user=annotator, max_age_s=3600)
    assert (first.total, first.done, first.mine) == (6, 0, 0)
    item = queue_next_item(actor=annotator, project=project)
    annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    items_add(project=project, actor=manager, texts=["A seventh text to label."])

    remembered = project_progress(project=project, user=annotator, max_age_s=3600)
    assert (remembered.total, remembered.done, remembered.mine) == (6, 0, 1)
    fresh = project_progress(project=project, user=annotator)
    assert (fresh.total, fresh.done, fresh.mine) == (7, 1, 1)
    # An exact count also refreshes what the hot path remembers.
    assert project_progress(project=project, user=annotator, max_age_s=3600).total == 7


def test_remembered_totals_never_cross_to_another_project(project, annotator, manager):
    from tests.factories import project_make

    other = project_make(manager=manager, texts=["only one"], members={annotator: "annotator"})
    assert project_progress(project=project, user=annotator, max_age_s=3600).total == 6
    assert project_progress(project=other, user=annotator, max_age_s=3600).total == 1
