"""Annotators racing for the queue at the same moment, each on their own database connection."""

import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count, Q

from annotation.models import Annotation, AnnotationStatus, Item, ItemLock, LockPurpose
from annotation.services.annotations import annotation_submit
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from governance.roles import ProjectRole
from tests.factories import project_make, user_make

ANNOTATORS = 8


def _race(workers, target):
    barrier = threading.Barrier(len(workers))
    errors = []

    def run(user):
        try:
            barrier.wait()
            target(user)
        except Exception as error:  # surfaced below with the user's name
            errors.append(f"{user}: {error!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(user,)) for user in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def _slots_taken(item) -> int:
    """Holds plus submitted annotations of the item, counted by one statement, so from one snapshot.

    Two separate counts would count twice a slot whose submit commits between them (its hold in
    the first, its annotation in the second).
    """
    counts = Item.objects.filter(pk=item.pk).aggregate(
        holds=Count("locks", filter=Q(locks__purpose=LockPurpose.ANNOTATE), distinct=True),
        submitted=Count("annotations", filter=Q(annotations__status=AnnotationStatus.SUBMITTED), distinct=True),
    )
    return counts["holds"] + counts["submitted"]


@pytest.fixture
def crowded_project(transactional_db):
    manager = user_make("lead")
    annotators = [user_make(f"racer{i}") for i in range(ANNOTATORS)]
    project = project_make(
        manager=manager,
        texts=[f"text number {i}" for i in range(40)],
        members={user: ProjectRole.ANNOTATOR for user in annotators},
    )
    return project, annotators


def test_annotators_asking_at_the_same_moment_each_receive_a_different_item(crowded_project):
    project, annotators = crowded_project
    served = {}

    def ask(user):
        served[user.pk] = queue_next_item(actor=user, project=project).pk

    _race(annotators, ask)
    assert len(set(served.values())) == ANNOTATORS


def test_parallel_labelling_until_the_queue_is_empty_labels_every_item_exactly_once(crowded_project):
    project, annotators = crowded_project

    def work(user):
        while (item := queue_next_item(actor=user, project=project)) is not None:
            annotation_submit(actor=user, item=item, value={"labels": ["positive"]})

    _race(annotators, work)
    per_item = Counter(
        Annotation.objects.filter(project=project, status=AnnotationStatus.SUBMITTED).values_list("item_id", flat=True)
    )
    assert len(per_item) == 40 and set(per_item.values()) == {1}
    assert project.items.filter(is_done=False).count() == 0


@pytest.mark.parametrize("overlap", [2, 3])
def test_parallel_labelling_with_overlap_gives_every_item_exactly_k_annotations_and_never_more(crowded_project, overlap):
    project, annotators = crowded_project
    project_update(actor=project.created_by, project=project, overlap=overlap)
    held_at_once = Counter()

    def work(user):
        while (item := queue_next_item(actor=user, project=project)) is not None:
            held_at_once[item.pk] = max(held_at_once[item.pk], _slots_taken(item))
            annotation_submit(actor=user, item=item, value={"labels": ["positive"]})

    _race(annotators, work)
    per_item = Counter(
        Annotation.objects.filter(project=project, status=AnnotationStatus.SUBMITTED).values_list("item_id", flat=True)
    )
    assert len(per_item) == 40 and set(per_item.values()) == {overlap}
    assert max(held_at_once.values()) <= overlap
    # Nobody labelled the same item twice, and every item closed.
    pairs = Annotation.objects.filter(project=project).values_list("item_id", "annotator_id")
    assert len(pairs) == len(set(pairs))
    assert project.items.filter(is_done=False).count() == 0
    assert not ItemLock.objects.filter(item__project=project).exists()
