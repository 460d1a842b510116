from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common.jobs.lifecycle import WORKER_LOST
from common.jobs.models import JobStatus
from governance.models import AuditEvent
from tests.training.active_learning_support import NEGATIVE, POSITIVE, al_on, al_project, label
from training.models.active import ActiveLearning, ActiveLearningRefresh, LearningCurvePoint
from training.selectors.active import refresh_error, refresh_latest, refresh_status
from training.services.active_learning import (
    REFRESH_STALE_SECONDS,
    active_learning_labels_added,
    active_learning_refresh_request,
    active_learning_refresh_run,
)

pytestmark = pytest.mark.django_db


def _state(project) -> ActiveLearning:
    return ActiveLearning.objects.get(project=project)


def _status(project) -> str:
    return refresh_status(refresh_latest(project=project))


def _running_since(project, started) -> ActiveLearningRefresh:
    """The project's refresh as a worker left it: running, its last heartbeat at ``started``."""
    ActiveLearningRefresh.objects.filter(project=project).delete()
    return ActiveLearningRefresh.objects.create(
        project=project, status=JobStatus.RUNNING, started_at=started, heartbeat_at=started
    )


def test_with_the_loop_off_a_submitted_label_costs_one_statement_that_changes_nothing(project):
    ActiveLearning.objects.filter(project=project).update(strategy="off")

    with CaptureQueriesContext(connection) as queries:
        active_learning_labels_added(project_id=project.pk)

    assert len(queries) == 1
    assert (_state(project).pending_labels, _status(project)) == (0, "idle")


def test_a_project_without_a_loop_row_is_left_alone(project):
    # Only a project made outside project_create (which sets its loop up) lacks the row.
    ActiveLearning.objects.filter(project=project).delete()
    active_learning_labels_added(project_id=project.pk, count=5)
    assert not ActiveLearning.objects.filter(project=project).exists()


def test_a_refresh_is_queued_once_every_refresh_every_labels_and_not_queued_twice(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=POSITIVE)
    al_on(project, manager, refresh_every=3)
    ActiveLearningRefresh.objects.filter(project=project).delete()
    ActiveLearning.objects.filter(project=project).update(pending_labels=0)

    active_learning_labels_added(project_id=project.pk)
    active_learning_labels_added(project_id=project.pk)
    assert (_state(project).pending_labels, _status(project)) == (2, "idle")
    active_learning_labels_added(project_id=project.pk)
    assert (_state(project).pending_labels, _status(project)) == (3, "queued")
    active_learning_labels_added(project_id=project.pk, count=4)
    assert (_state(project).pending_labels, _status(project)) == (7, "queued")
    assert ActiveLearningRefresh.objects.filter(project=project).count() == 1


def test_a_submit_counts_its_label_once_it_commits(manager, annotator, django_capture_on_commit_callbacks):
    project = al_project(manager=manager, annotator=annotator, texts=POSITIVE)
    al_on(project, manager, refresh_every=100)
    ActiveLearning.objects.filter(project=project).update(pending_labels=0)

    with django_capture_on_commit_callbacks(execute=True):
        label(project, annotator, POSITIVE[0], "positive")

    assert _state(project).pending_labels == 1


def test_the_run_takes_the_labels_counted_so_far_and_goes_idle(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE])
    al_on(project, manager, refresh_every=2)
    ActiveLearning.objects.filter(project=project).update(pending_labels=5)

    active_learning_refresh_run(project_id=project.pk)

    state = _state(project)
    assert (_status(project), state.pending_labels) == ("idle", 0)
    assert refresh_error(project=project) == ""
    assert refresh_latest(project=project).status == JobStatus.SUCCEEDED
    assert state.refreshed_at is not None and state.refresh_seconds > 0


def test_labels_counted_during_a_run_queue_the_next_one_as_it_ends(manager, annotator):
    from training.services import active_learning

    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE])
    al_on(project, manager, refresh_every=2)
    real_refresh = active_learning._refresh

    def refresh_while_labels_arrive(state):
        active_learning_labels_added(project_id=project.pk, count=3)
        assert _status(project) == "running"
        return real_refresh(state)

    active_learning._refresh = refresh_while_labels_arrive
    try:
        active_learning_refresh_run(project_id=project.pk)
    finally:
        active_learning._refresh = real_refresh

    assert (_status(project), _state(project).pending_labels) == ("queued", 3)


def test_a_second_message_for_the_same_refresh_does_nothing(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE])
    label(project, annotator, POSITIVE[0], "positive")
    al_on(project, manager)

    active_learning_refresh_run(project_id=project.pk)
    active_learning_refresh_run(project_id=project.pk)

    assert AuditEvent.objects.filter(action="active_learning.refresh", project_id=project.pk).count() == 1
    assert LearningCurvePoint.objects.filter(project=project).count() == 1


def test_a_refresh_whose_worker_was_lost_is_taken_over(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE])
    al_on(project, manager)
    lost = _running_since(project, timezone.now() - timedelta(seconds=REFRESH_STALE_SECONDS + 60))

    assert active_learning_refresh_request(project=project, force=True) is True
    lost.refresh_from_db()
    assert (lost.status, lost.error, _status(project)) == (JobStatus.FAILED, WORKER_LOST, "queued")
    active_learning_refresh_run(project_id=project.pk)
    assert _status(project) == "idle" and refresh_error(project=project) == ""


@pytest.mark.parametrize(("age", "taken"), [(REFRESH_STALE_SECONDS + 60, True), (5, False)])
def test_enough_new_labels_take_over_a_lost_refresh_but_not_a_recent_one(
    manager, annotator, age, taken
):
    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE])
    al_on(project, manager)
    _running_since(project, timezone.now() - timedelta(seconds=age))
    ActiveLearning.objects.filter(project=project).update(pending_labels=0)
    every = _state(project).refresh_every

    active_learning_labels_added(project_id=project.pk, count=every)

    state = _state(project)
    assert _status(project) == ("queued" if taken else "running")
    assert state.pending_labels == every


def test_a_recent_running_refresh_is_not_run_twice(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE])
    al_on(project, manager)
    _running_since(project, timezone.now())

    active_learning_refresh_run(project_id=project.pk)

    assert _status(project) == "running"
    assert not AuditEvent.objects.filter(action="active_learning.refresh").exists()


def test_a_refresh_of_a_shredded_project_records_a_clear_error(manager, annotator, admin_user):
    from governance.services.keys import project_data_shred

    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE])
    al_on(project, manager)
    project_data_shred(actor=admin_user, project=project)

    active_learning_refresh_run(project_id=project.pk)

    assert _status(project) == "idle" and "destroyed" in refresh_error(project=project)
    assert refresh_latest(project=project).status == JobStatus.FAILED


def test_the_management_command_refreshes_in_process(manager, annotator):
    from io import StringIO

    from django.core.management import call_command

    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE])
    label(project, annotator, POSITIVE[0], "positive")
    label(project, annotator, NEGATIVE[0], "negative")
    # No control slice: with it, one of the two labels could be held out and no head fitted.
    al_on(project, manager, control_fraction=0.0)
    out = StringIO()

    call_command("active_learning_refresh", str(project.pk), stdout=out)

    assert f"Ranked project {project.pk}'s queue by head" in out.getvalue()
    assert _status(project) == "idle"


def test_the_management_command_refuses_a_project_with_the_loop_off(project):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    ActiveLearning.objects.filter(project=project).update(strategy="off")
    with pytest.raises(CommandError, match="off"):
        call_command("active_learning_refresh", str(project.pk))


def test_a_refresh_before_any_embedding_leaves_the_order_alone_and_asks_for_them(
    manager, annotator, django_capture_on_commit_callbacks
):
    from annotation.models import Item
    from training.services.active_learning import active_learning_update

    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE])
    active_learning_update(actor=manager, project=project, strategy="entropy")

    with django_capture_on_commit_callbacks() as callbacks:
        active_learning_refresh_run(project_id=project.pk)

    state = _state(project)
    assert (_status(project), refresh_error(project=project), state.scored_by) == ("idle", "", "")
    assert set(Item.objects.filter(project=project).values_list("queue_rank", flat=True)) == {0.0}
    # The embeddings task (the refresh's own end adds its metrics callback beside it).
    sent = [callback.__qualname__ for callback in callbacks]
    assert sent.count("embeddings_compute_request.<locals>.<lambda>") == 1, sent


def test_turning_the_loop_off_drops_a_queued_refresh_and_forcing_one_resends_its_message(
    manager, annotator, django_capture_on_commit_callbacks
):
    from training.services.active_learning import active_learning_update

    project = al_project(manager=manager, annotator=annotator, texts=POSITIVE)
    al_on(project, manager)
    assert _status(project) == "queued"
    with django_capture_on_commit_callbacks() as callbacks:
        assert active_learning_refresh_request(project=project, force=True) is True
    assert len(callbacks) == 1

    active_learning_update(actor=manager, project=project, strategy="off")

    assert (_status(project), _state(project).pending_labels) == ("idle", 0)
    assert refresh_latest(project=project).status == JobStatus.CANCELLED
