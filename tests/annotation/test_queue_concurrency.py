"""Annotators racing for the queue at the same moment, each on their own database connection."""

import threading
from collections import Counter

import pytest
from django.db import connection

from annotation.models import Annotation, AnnotationStatus
from annotation.services.annotations import annotation_submit
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
