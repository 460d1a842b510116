"""Bulk actions on the items a browser selection holds: one audited request, then a job that goes item by item."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext, gettext_lazy

from annotation.hooks import Hook, hook_run
from annotation.models import BulkActionName, FinalAnnotation, Item, ItemBulkJob
from annotation.selectors.browser import ItemFilters, item_browse_ids
from common.id_ranges import id_ranges
from common.jobs.lifecycle import job_claim, job_fail, job_finish, job_progress, running_rows
from common.jobs.registry import JobKind
from governance.audit import AuditAction, audit_record
from governance.keyring import project_readable_check
from governance.roles import Perm
from projects.models import Project

# Items handled between two progress reports (each a heartbeat and a check that nobody cancelled).
_CHUNK = 200
ITEM_BULK_STALE_SECONDS = 10 * 60


@dataclass(frozen=True)
class BulkAction:
    name: str
    label: str
    # The project permission the actor needs: the same one the item page asks for the single action.
    perm: str
    # What the confirmation says will happen.
    effect: str


BULK_ACTIONS: dict[str, BulkAction] = {
    action.name: action
    for action in (
        BulkAction(
            BulkActionName.DELETE, BulkActionName.DELETE.label, Perm.CHANGE_PROJECT,
            gettext_lazy("Each item goes with its answers, findings and suggestions, for good. Items held by a "
                         "dataset version are left as they are (an erasure request removes them from versions)."),
        ),
        BulkAction(
            BulkActionName.GOLD, BulkActionName.GOLD.label, Perm.CHANGE_PROJECT,
            gettext_lazy("Each item with a final answer becomes a gold item with that answer as its known "
                         "answer; items without one are left as they are."),
        ),
        BulkAction(
            BulkActionName.REVIEW, BulkActionName.REVIEW.label, Perm.REVIEW,
            gettext_lazy("Each item with submitted answers goes to the review queue (its final answer, if "
                         "any, is decided again); others are left as they are."),
        ),
        BulkAction(
            BulkActionName.EXPORT, BulkActionName.EXPORT.label, Perm.EXPORT_DATA,
            gettext_lazy("A background export (JSONL) of the items with submitted answers among them."),
        ),
        BulkAction(
            BulkActionName.DATASET, BulkActionName.DATASET.label, Perm.CURATE_DATASETS,
            gettext_lazy("A new dataset version frozen from the labelled items among them."),
        ),
    )
}  # fmt: skip


@transaction.atomic
def item_bulk_request(
    *,
    actor,
    project: Project,
    action: str,
    items: QuerySet[Item],
    filters: ItemFilters,
    name: str = "",
) -> ItemBulkJob:
    """Fix the selection (its ids, now), record the request, and start the work.

    Export and dataset version are jobs of their own: they are queued here and the bulk job
    only points to them. The item-by-item actions run in a worker (``item_bulk_run``), each item
    through its own service and audit event. The caller has checked the action's permission.
    """
    if action not in BULK_ACTIONS:
        raise ValidationError({"action": f"'{action}' is not one of {', '.join(BULK_ACTIONS)}."})
    project_readable_check(project=project)
    ids = list(item_browse_ids(items=items))
    if not ids:
        raise ValidationError(
            {"action": gettext("No items match these filters; there is nothing to do.")}
        )
    runs = id_ranges(ids)
    job = ItemBulkJob.objects.create(
        project=project, requested_by=actor, action=action, filters=filters.as_dict(), item_ranges=runs,
        item_count=len(ids), name=name.strip()[:200], progress_total=len(ids),
    )  # fmt: skip
    audit_record(
        actor=actor,
        action=AuditAction.ITEM_BULK_REQUEST,
        project=project,
        target=job,
        details={"action": action, "filters": job.filters, "count": len(ids), "items": runs},
    )
    if action == BulkActionName.EXPORT:
        from annotation.services.exports import DEFAULT_JOB_FORMAT, export_request

        export = export_request(
            actor=actor, project=project, fmt=DEFAULT_JOB_FORMAT, selection=runs
        )
        _handed_over(job, export=export.pk)
    elif action == BulkActionName.DATASET:
        versions = hook_run(
            Hook.DATASET_VERSION_FROM_ITEMS,
            actor=actor,
            project=project,
            item_ids=ids,
            name=job.name,
        )
        if not versions:
            raise ValidationError(
                {"action": "No app makes dataset versions here (training is not installed)."}
            )
        _handed_over(job, dataset_version=versions[0].pk, dataset_version_number=versions[0].number)
    else:
        from annotation.celery_tasks import item_bulk_run_task

        transaction.on_commit(lambda: item_bulk_run_task.delay(job.pk))
    return job


def _handed_over(job: ItemBulkJob, **result) -> None:
    job_finish(job, progress_done=job.item_count, result=result)
    job.refresh_from_db()


def _ids(runs: list[list[int]]) -> Iterator[int]:
    for first, last in runs:
        yield from range(first, last + 1)


def _chunks(runs: list[list[int]]) -> Iterator[list[int]]:
    chunk = []
    for item_id in _ids(runs):
        chunk.append(item_id)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _act(job: ItemBulkJob, item: Item) -> None:
    """The one-item service for the job's action; a ValidationError says why the item was left alone."""
    from annotation.services.gold import item_gold_set
    from annotation.services.items import item_delete, item_review_request

    actor = job.requested_by
    if job.action == BulkActionName.DELETE:
        item_delete(actor=actor, item=item)
    elif job.action == BulkActionName.GOLD:
        if item.is_gold:
            raise ValidationError(gettext("already gold"))
        final = FinalAnnotation.objects.filter(item=item).first()
        if final is None:
            raise ValidationError(gettext("no final answer"))
        item_gold_set(actor=actor, item=item, value=final.value)
    elif job.action == BulkActionName.REVIEW:
        item_review_request(actor=actor, item=item)


def item_bulk_run(*, job_id: int) -> ItemBulkJob:
    """Apply the job's action to each selected item still there, in chunks with progress; idempotent.

    Each item goes through its own service (one transaction and audit event each), so a failure
    on one item leaves the others done and the job says which reasons left how many alone.
    """
    claimed = job_claim(ItemBulkJob, job_id=job_id)
    job = ItemBulkJob.objects.select_related("project", "requested_by").get(pk=job_id)
    if not claimed:
        return job
    changed, skipped, done = 0, Counter(), 0
    try:
        for chunk in _chunks(job.item_ranges):
            present = {
                item.pk: item for item in Item.objects.filter(project=job.project, pk__in=chunk)
            }
            for item_id in chunk:
                item = present.get(item_id)
                if item is None:
                    skipped[gettext("no longer there")] += 1
                    continue
                try:
                    _act(job, item)
                except ValidationError as error:
                    skipped[" ".join(error.messages)[:200]] += 1
                else:
                    changed += 1
            done += len(chunk)
            result = {"changed": changed, "skipped": dict(skipped)}
            if not job_progress(job, done=done, result=result):
                job.refresh_from_db()
                return job  # cancelled or reaped meanwhile: stop here
    except Exception as error:  # recorded on the job; the worker stays up for the next one
        job_fail(
            job,
            error=f"{type(error).__name__}: {error}",
            result={"changed": changed, "skipped": dict(skipped)},
        )
        raise
    job_finish(
        job,
        rows=running_rows(job),
        progress_done=done,
        result={"changed": changed, "skipped": dict(skipped)},
    )
    job.refresh_from_db()
    return job


def item_bulk_reaped(job: ItemBulkJob) -> None:
    """A dead worker's bulk job holds nothing to release: what it changed stays changed, each item audited."""


ITEM_BULK_JOB_KIND = JobKind(
    name="item_bulk",
    label=gettext_lazy("Bulk action on items"),
    model=ItemBulkJob,
    stale_seconds=lambda: ITEM_BULK_STALE_SECONDS,
    on_reap=item_bulk_reaped,
)
