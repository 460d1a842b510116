"""The active-learning loop: its settings, the debounced background refresh, and what it reports."""

import logging
import time

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from annotation.models import Item
from common.jobs.lifecycle import (
    job_cancel,
    job_claim,
    job_fail,
    job_finish,
    jobs_reap,
    running_rows,
)
from common.jobs.models import ACTIVE_STATUSES, JobStatus
from common.jobs.registry import JobKind
from governance.audit import AuditAction, audit_record
from governance.keyring import DataShredded
from projects.models import Project
from training.models.active import (
    ActiveLearning,
    ActiveLearningRefresh,
    LearningCurvePoint,
    Strategy,
    new_project_strategy,
)

logger = logging.getLogger(__name__)

# A refresh of a 10,000-item pool takes seconds; one "running" for this long lost its worker.
REFRESH_STALE_SECONDS = 600
# Changing these asks for a new order at once; the other settings only affect the next refresh.
_RERANK_FIELDS = {"strategy", "control_fraction"}
_UPDATABLE = ("strategy", "control_fraction", "refresh_every")

# One statement, run after a submit commits: it touches no row at all while the loop is off.
_BUMP_SQL = """
UPDATE training_activelearning SET pending_labels = pending_labels + %s
 WHERE project_id = %s AND strategy <> %s
RETURNING pending_labels, refresh_every
"""


def active_learning_config(*, project: Project) -> ActiveLearning:
    """The project's loop settings and state, created on first use with the strategy a new project
    of its task type starts with (``project_create`` asks for it through annotation's
    PROJECT_CREATED hook; projects older than that default have an "off" row from migration 0011)."""
    state, _ = ActiveLearning.objects.get_or_create(
        project=project, defaults={"strategy": new_project_strategy(project.task_type)}
    )
    return state


@transaction.atomic
def active_learning_update(*, actor, project: Project, **changes) -> ActiveLearning:
    """Change the strategy, control fraction or refresh interval; audited.

    A new strategy or control fraction asks for a refresh at once; turning the loop off puts
    the queue back in import order (every rank 0) in this same transaction.
    """
    unknown = sorted(set(changes) - set(_UPDATABLE))
    if unknown:
        raise ValidationError({name: gettext("Not an active-learning setting.") for name in unknown})
    active_learning_config(project=project)
    state = ActiveLearning.objects.select_for_update().get(project=project)
    before = {name: getattr(state, name) for name in changes}
    for name, value in changes.items():
        setattr(state, name, value)
    state.full_clean(exclude=["project"])
    changed = {name: getattr(state, name) for name in changes if getattr(state, name) != before[name]}
    if not changed:
        return state
    state.save(update_fields=[*changed, "updated_at"])
    if state.strategy == Strategy.OFF and "strategy" in changed:
        Item.objects.filter(project=project).exclude(queue_rank=0).update(queue_rank=0)
        ActiveLearning.objects.filter(pk=state.pk).update(pending_labels=0, scored_by="")
        waiting = ActiveLearningRefresh.objects.filter(project=project, status=JobStatus.QUEUED)
        for queued in waiting:
            job_cancel(queued)
    audit_record(
        actor=actor,
        action=AuditAction.ACTIVE_LEARNING_UPDATE,
        project=project,
        target=state,
        details={"changes": {name: [before[name], value] for name, value in changed.items()}},
    )
    if state.strategy != Strategy.OFF and _RERANK_FIELDS & set(changed):
        active_learning_refresh_request(project=project, force=True)
    return state


def _enqueue(project_id: int) -> None:
    from training.celery_tasks import active_learning_refresh_task

    # Seconds of CPU: routed to the default queue in settings, not the gpu queue.
    transaction.on_commit(lambda: active_learning_refresh_task.delay(project_id))


@transaction.atomic
def _refresh_queue(
    project_id: int, *, requested_by=None
) -> tuple[ActiveLearningRefresh | None, bool]:
    """The project's queued or running refresh, or a new one queued (sent after commit), and
    whether it is new; None while the loop is off.

    The ActiveLearning row's lock makes two submits crossing the threshold queue one refresh;
    a running refresh whose worker died is reaped first, so a new one replaces it.
    """
    state = (
        ActiveLearning.objects.select_for_update()
        .filter(project_id=project_id)
        .exclude(strategy=Strategy.OFF)
        .first()
    )
    if state is None:
        return None, False
    jobs_reap(model=ActiveLearningRefresh, project=project_id)
    active = ActiveLearningRefresh.objects.filter(
        project_id=project_id, status__in=ACTIVE_STATUSES
    ).first()
    if active is not None:
        return active, False
    job = ActiveLearningRefresh.objects.create(project_id=project_id, requested_by=requested_by)
    _enqueue(project_id)
    return job, True


def active_learning_labels_added(*, project_id: int, count: int = 1) -> None:
    """Count submitted labels and queue a refresh every ``refresh_every`` of them.

    Run after the submit commits, in a short transaction of its own. While the loop is off this
    is one UPDATE that matches no row. A refresh already queued or running is not queued again:
    the running one queues the next itself when it ends, if enough labels came in meanwhile.
    """
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_BUMP_SQL, [count, project_id, Strategy.OFF.value])
        row = cursor.fetchone()
        if row is not None and connection.vendor == "postgresql":
            # A counter lost in a crash only delays a refresh: no need to wait for the WAL flush
            # (about 3 ms a submit). Read at commit, so setting it after the UPDATE is enough.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    if row is None:
        return
    pending, every = row
    # Only when the count crosses a multiple of refresh_every: past the first, a refresh is
    # queued or running and queues the next itself when it ends, so asking on every submit only
    # queued the submits on this row's lock (the load benchmark's most waited lock at 8+
    # annotators); a refresh that was lost is still asked for again every refresh_every labels.
    if pending // every > (pending - count) // every:
        _refresh_queue(project_id)


def active_learning_refresh_request(*, project: Project, actor=None, force: bool = False) -> bool:
    """Ask for a refresh; True when one is queued or will follow the one running.

    Without ``force`` only once ``refresh_every`` labels are pending. With it, at once; a
    refresh already running is made to queue another when it ends, one whose worker was lost
    is reaped and replaced, and a queued one's message is sent again.
    """
    state = active_learning_config(project=project)
    if state.strategy == Strategy.OFF:
        return False
    if force:
        ActiveLearning.objects.filter(pk=state.pk, pending_labels__lt=F("refresh_every")).update(
            pending_labels=F("refresh_every")
        )
    state.refresh_from_db()
    if state.pending_labels < state.refresh_every:
        return False
    with transaction.atomic():
        job, created = _refresh_queue(project.pk, requested_by=actor)
        if job is None:
            return False
        if created and actor is not None:
            audit_record(actor=actor, action=AuditAction.ACTIVE_LEARNING_REFRESH_REQUEST, project=project, target=state)
        elif not created and force and job.status == JobStatus.QUEUED:
            # Sent again in case the first message was lost (a flushed broker): the run is
            # taken by a conditional UPDATE, so a duplicate does nothing.
            _enqueue(project.pk)
    return True


def active_learning_refresh_now(*, project: Project, actor=None) -> ActiveLearningRefresh:
    """Embed what is missing and refresh in this process (the management command), not in a
    worker; returns the refresh as it ended."""
    from training.services.embeddings import embeddings_compute_run

    state = active_learning_config(project=project)
    if state.strategy == Strategy.OFF:
        raise ValidationError(
            {"strategy": gettext("Active learning is off for this project; choose a strategy first.")}
        )
    embeddings_compute_run(project_id=project.pk, notify=False)
    with transaction.atomic():
        ActiveLearning.objects.select_for_update().get(pk=state.pk)
        jobs_reap(model=ActiveLearningRefresh, project=project)
        job = ActiveLearningRefresh.objects.create(project=project, requested_by=actor)
        audit_record(
            actor=actor or "manage.py active_learning_refresh",
            action=AuditAction.ACTIVE_LEARNING_REFRESH_REQUEST,
            project=project,
            target=state,
        )
    _refresh_execute(project.pk, job_id=job.pk)
    job.refresh_from_db()
    return job


def active_learning_embeddings_ready(*, project_id: int) -> None:
    """New embeddings were stored: the loop, if on, re-ranks with the new items in the pool."""
    project = Project.objects.filter(pk=project_id).first()
    if project is not None:
        active_learning_refresh_request(project=project, force=True)


def active_learning_refresh_run(*, project_id: int) -> None:
    """Refit the head, re-rank the pool and record the learning curve; runs in a worker.

    The task names the project, so the worker claims its newest queued refresh (older queued
    ones are superseded: cancelled) and takes the labels counted so far in the same transaction;
    a duplicate message finds nothing queued and does nothing. Labels counted from then on go to
    the next refresh, which this one queues as it ends if enough came in meanwhile.
    """
    _refresh_execute(project_id)


def _refresh_claim(project_id: int, *, job_id: int | None = None) -> ActiveLearningRefresh | None:
    with transaction.atomic():
        state = ActiveLearning.objects.select_for_update().filter(project_id=project_id).first()
        if state is None:
            return None
        queued = ActiveLearningRefresh.objects.filter(
            project_id=project_id, status=JobStatus.QUEUED
        )
        if state.strategy == Strategy.OFF:
            for job in queued:
                job_cancel(job)
            return None
        job = queued.order_by("-id") if job_id is None else queued.filter(pk=job_id)
        job = job.first()
        if job is None or not job_claim(ActiveLearningRefresh, job_id=job.pk):
            return None
        ActiveLearning.objects.filter(pk=state.pk).update(pending_labels=0)
        for older in queued.filter(pk__lt=job.pk):
            job_cancel(older)
    job.refresh_from_db()
    return job


def _refresh_execute(project_id: int, *, job_id: int | None = None) -> None:
    job = _refresh_claim(project_id, job_id=job_id)
    if job is None:
        logger.info("No active-learning refresh of project %s is queued.", project_id)
        return
    started = time.perf_counter()
    state = ActiveLearning.objects.select_related("project").get(project_id=project_id)
    outcome: dict = {"error": ""}
    try:
        outcome.update(_refresh(state))
    except DataShredded as error:
        outcome["error"] = str(error)
    except Exception as error:  # recorded on the job; the worker stays up for the next one
        logger.exception("Active-learning refresh for project %s failed.", project_id)
        outcome["error"] = f"{type(error).__name__}: {error}"
    seconds = time.perf_counter() - started
    _finish(job, seconds=seconds, **outcome)


def _refresh(state: ActiveLearning) -> dict:
    import numpy as np

    from training.ml.active.stopping import has_stopped, prediction_agreement
    from training.services.active_ranking import (
        ranking_compute,
        ranks_write,
        stop_predictions_open,
        stop_predictions_seal,
    )
    from training.services.embeddings import embeddings_compute_request

    project = state.project
    history = list(state.stop_history)
    rng = np.random.default_rng([project.pk, len(history), LearningCurvePoint.objects.filter(project=project).count()])
    ranking = ranking_compute(state=state, rng=rng)
    if ranking.missing_embeddings:
        with transaction.atomic():
            embeddings_compute_request(project=project)
    if not ranking.scored_by:
        # No embeddings yet: the queue keeps its order until they are stored, which asks again.
        return {"scored_by": ""}

    started = time.perf_counter()
    ranks = np.empty(len(ranking.pool_ids), dtype=np.float64)
    ranks[ranking.order] = np.arange(1, len(ranking.order) + 1, dtype=np.float64)
    if not ranks_write(project_id=project.pk, ids=ranking.pool_ids, ranks=ranks, control=ranking.control):
        return {"scored_by": ""}  # turned off meanwhile: its reset to import order stands
    with transaction.atomic():
        locked = ActiveLearning.objects.select_for_update().get(pk=state.pk)
        if locked.strategy == Strategy.OFF:
            # Turned off while the ranks were written: its reset to import order wins.
            Item.objects.filter(project=project).exclude(queue_rank=0).update(queue_rank=0)
            return {"scored_by": ""}
        _curve_record(project, ranking)
        stop_set = state.stop_set
        if ranking.stop_predictions is not None:
            previous = stop_predictions_open(project.pk, state.stop_set.get("predictions", "")) if isinstance(
                state.stop_set, dict
            ) else None
            if previous is not None and previous.shape == ranking.stop_predictions.shape:
                history.append(round(prediction_agreement(previous, ranking.stop_predictions), 4))
            stop_set = {
                "items": ranking.stop_set,
                "predictions": stop_predictions_seal(project.pk, ranking.stop_predictions),
            }
        audit_record(
            actor=None,
            action=AuditAction.ACTIVE_LEARNING_REFRESH,
            project=project,
            target=state,
            details={
                "strategy": state.strategy,
                "scored_by": ranking.scored_by,
                "pool": len(ranking.pool_ids),
                "labels": ranking.labels,
                "control_labels": ranking.control_labels,
                "texts_read": ranking.texts_read,
            },
        )
    ranking.phases["write"] = time.perf_counter() - started
    logger.info(
        "Active-learning refresh for project %s ranked %d items by %s; phases %s.",
        project.pk,
        len(ranking.pool_ids),
        ranking.scored_by,
        " ".join(f"{name}={seconds:.3f}s" for name, seconds in ranking.phases.items()),
    )
    return {
        "scored_by": ranking.scored_by,
        "stop_set": stop_set,
        "stop_history": history,
        "stopped": has_stopped(history),
    }


def _curve_record(project: Project, ranking) -> None:
    last = LearningCurvePoint.objects.filter(project=project).order_by("-labels", "-id").first()
    same = last is not None and (last.labels, last.control_labels, last.scored_by) == (
        ranking.labels,
        ranking.control_labels,
        ranking.scored_by,
    )
    if same:
        # A re-rank without new labels (a setting changed) measures the same head again.
        LearningCurvePoint.objects.filter(pk=last.pk).update(accuracy=ranking.accuracy)
        return
    LearningCurvePoint.objects.create(
        project=project,
        labels=ranking.labels,
        control_labels=ranking.control_labels,
        accuracy=ranking.accuracy,
        scored_by=ranking.scored_by,
        model_version=ranking.model_version,
    )


def _finish(job: ActiveLearningRefresh, *, seconds: float, error: str, **fields) -> None:
    """Record the outcome and end the job; queue the next if enough labels came in meanwhile."""
    with transaction.atomic():
        state = ActiveLearning.objects.select_for_update().get(project_id=job.project_id)
        if fields:
            ActiveLearning.objects.filter(pk=state.pk).update(**fields)
        # A refresh reaped meanwhile (its worker taken for dead) stays failed.
        rows = running_rows(job)
        ended = job_fail(job, error=error, rows=rows) if error else job_finish(job, rows=rows)
        if ended:
            ActiveLearning.objects.filter(pk=state.pk).update(
                refreshed_at=timezone.now(), refresh_seconds=seconds
            )
        if state.pending_labels >= state.refresh_every:
            _refresh_queue(job.project_id)


def active_learning_refresh_reaped(job: ActiveLearningRefresh) -> None:
    """A refresh holds nothing while it runs (``common.jobs`` hook): the next one re-ranks the
    whole queue."""


ACTIVE_LEARNING_REFRESH_JOB_KIND = JobKind(
    name="active_learning_refresh",
    label=gettext_lazy("Active-learning refresh"),
    model=ActiveLearningRefresh,
    stale_seconds=lambda: REFRESH_STALE_SECONDS,
    on_reap=active_learning_refresh_reaped,
)


