"""The near-duplicate pass: after an import commits, a worker links its new items to their near duplicates.

Why apart from the import: MinHash signatures, the band lookups and the bucket rows were a third
of an import's time. Exact duplicates, personal data and encryption stay in the import; the links
follow within seconds, and the duplicates page says while a pass is still running.
"""

import json
import logging
from collections.abc import Iterator

from django.db import connections, router, transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext_lazy, gettext_noop

from annotation.models import ImportJob, Item, NearDupBucket, NearDupJob
from annotation.services.bulk_insert import StatisticsSchedule
from annotation.services.import_batches import REPORT_LIMIT
from annotation.services.neardup_store import neardup_buckets_current, neardup_index_open
from common.jobs.lifecycle import job_claim, job_fail, job_finish, job_progress, running_rows
from common.jobs.registry import JobKind
from governance.keyring import DataShredded, project_cipher
from projects.models import Project

logger = logging.getLogger(__name__)

# Items checked in one transaction: the project's bucket lock is held this long (about a second).
CHUNK = 2000
NEARDUP_JOB_STALE_SECONDS = 10 * 60


# Stored on the job in English (the worker has no user language); translated when displayed.
KEY_DESTROYED = gettext_noop("The project's data key was destroyed: there is nothing left to compare.")


class _NoLongerOurs(Exception):
    """The job was cancelled or reaped while a chunk ran: that chunk is rolled back."""


def neardup_job_request(
    *, project: Project, item_ranges: list[list[int]], import_job: ImportJob | None = None
) -> NearDupJob | None:
    """Record a pass over these new items and queue it once the caller's transaction commits.

    Called by an import inside its own transaction, so a rolled-back import queues nothing.
    None when the project detects no near duplicates or the import created nothing.
    """
    count = sum(last - first + 1 for first, last in item_ranges)
    if not project.neardup_threshold or not count:
        return None
    job = NearDupJob.objects.create(
        project=project,
        import_job=import_job,
        requested_by=import_job.requested_by if import_job is not None else None,
        item_ranges=item_ranges,
        progress_total=count,
    )
    transaction.on_commit(lambda: _neardup_send(job.pk))
    return job


def _chunks(runs: list[list[int]], *, skip: int) -> Iterator[list[int]]:
    """The ids of ``runs`` in chunks of CHUNK, the first ``skip`` ids left out (already checked)."""
    chunk: list[int] = []
    for first, last in runs:
        size = last - first + 1
        if skip >= size:
            skip -= size
            continue
        first, skip = first + skip, 0
        for item_id in range(first, last + 1):
            chunk.append(item_id)
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _ranges_from(runs: list[list[int]], first_id: int) -> list[list[int]]:
    """The part of ``runs`` from ``first_id`` on: what this pass has still to check."""
    return [[max(first, first_id), last] for first, last in runs if last >= first_id]


def _texts(project: Project, ids: list[int]) -> list[tuple[int, str]]:
    """(id, text) of the chunk's items still there, neither linked nor filed yet, in id order.

    An item filed already is a keeper: a refile of the project (new threshold) or a run of this
    pass that got that far before its worker died filed it. Opened like an export reads items
    (values, not instances): the same key and associated data as ``item.text``.
    """
    alias = router.db_for_read(NearDupBucket)
    connection = connections[alias]
    quote = connection.ops.quote_name
    buckets, items = quote(NearDupBucket._meta.db_table), quote(Item._meta.db_table)
    if connection.vendor == "postgresql":
        # Ids as one array literal: a 2,000-value IN list costs Django and psycopg more, in
        # Python, than the statement costs PostgreSQL.
        where, param = "= ANY(%s::bigint[])", "{" + ",".join(map(str, ids)) + "}"
    else:
        where, param = "IN (SELECT value FROM json_each(%s))", json.dumps(ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT item_id FROM {buckets} WHERE item_id {where}", [param])
        filed = {item_id for (item_id,) in cursor.fetchall()}
        cursor.execute(
            f"SELECT id, text_ct, text_index FROM {items} WHERE project_id = %s AND id {where} "
            "AND duplicate_of_id IS NULL ORDER BY id",
            [project.pk, param],
        )
        rows = cursor.fetchall()
    opened = Item.text.opened
    return [
        (item_id, opened(project.pk, bytes(blob), text_index))
        for item_id, blob, text_index in rows
        if item_id not in filed
    ]


def _links_write(links: list[tuple[int, int]]) -> None:
    """Set duplicate_of for (item, keeper) pairs in one UPDATE."""
    if not links:
        return
    Item.objects.filter(pk__in=[item for item, _ in links]).update(
        duplicate_of_id=Case(
            *(When(pk=item, then=Value(keeper)) for item, keeper in links),
            output_field=IntegerField(),
        )
    )


def neardup_job_run(*, job_id: int) -> NearDupJob:
    """Check the job's items against the project's buckets, chunk by chunk, each in its own
    transaction under the project's bucket lock; idempotent (claimed by a conditional UPDATE).

    A job whose worker died is taken over where its last committed chunk ended. Items deleted
    since the import are skipped; a threshold changed meanwhile applies from the next chunk on;
    detection turned off ends the pass with what it linked so far.
    """
    claimed = job_claim(NearDupJob, job_id=job_id)
    job = NearDupJob.objects.select_related("project", "import_job").get(pk=job_id)
    if not claimed:
        logger.info("Near-duplicate job %s is not queued any more; nothing to do.", job_id)
        return job
    project = job.project
    try:
        hash_key = project_cipher(project.pk).neardup_key
    except DataShredded:
        job_finish(job, rows=running_rows(job), error=KEY_DESTROYED)
        job.refresh_from_db()
        return job
    index = None  # opened at the first chunk, for the threshold the project has then
    done, linked, links = job.progress_done, job.linked, list(job.links)
    statistics = StatisticsSchedule(NearDupBucket)
    try:
        for ids in _chunks(job.item_ranges, skip=done):
            with transaction.atomic():
                threshold = (
                    Project.objects.filter(pk=project.pk)
                    .values_list("neardup_threshold", flat=True)
                    .first()
                )
                if not threshold:
                    break  # turned off meanwhile: the buckets are dropped by the refile it queued
                if index is None or threshold != index.config.threshold:
                    project.neardup_threshold = threshold
                    index = neardup_index_open(project, hash_key=hash_key)
                neardup_buckets_current(
                    project, index, leave_out=_ranges_from(job.item_ranges, ids[0])
                )
                pairs = _texts(project, ids)
                matches = index.add_many(pairs)
                found = [(m.key, m.keeper, m.similarity) for m in matches if not m.is_keeper]
                _links_write([(item, keeper) for item, keeper, _ in found])
                linked += len(found)
                room = REPORT_LIMIT - len(links)
                links += [
                    {"item": item, "keeper": keeper, "similarity": round(similarity, 3)}
                    for item, keeper, similarity in found[: max(room, 0)]
                ]
                done += len(ids)
                statistics.rows_added(done)
                if not job_progress(job, done=done, linked=linked, links=links):
                    raise _NoLongerOurs
    except _NoLongerOurs:
        job.refresh_from_db()
        return job
    except Exception as error:  # recorded on the job; the worker stays up for the next one
        logger.exception("Near-duplicate job %s failed", job_id)
        job_fail(job, error=f"{type(error).__name__}: {error}", rows=running_rows(job))
        job.refresh_from_db()
        return job
    with transaction.atomic():
        if job_finish(job, rows=running_rows(job), progress_done=done, linked=linked, links=links):
            _import_job_report(job, linked=linked, links=links)
    job.refresh_from_db()
    return job


def _import_job_report(job: NearDupJob, *, linked: int, links: list[dict]) -> None:
    """The links on the import's own counters and report (the import may still be finishing:
    both lock its row, and the import keeps what the pass wrote; see import_jobs._finish)."""
    if job.import_job_id is None:
        return
    import_job = ImportJob.objects.select_for_update().filter(pk=job.import_job_id).first()
    if import_job is None:
        return
    report = dict(import_job.report or {})
    report["near_duplicates"] = [{"row": None, "member": None, **link} for link in links]
    ImportJob.objects.filter(pk=import_job.pk).update(near_duplicates=linked, report=report)


def neardup_job_reaped(job: NearDupJob) -> None:
    """A dead worker's pass holds nothing: its committed chunks stay linked and filed."""


def _neardup_send(job_id: int) -> None:
    from annotation.celery_tasks import neardup_job_run_task

    neardup_job_run_task.delay(job_id)


NEARDUP_JOB_KIND = JobKind(
    name="neardup",
    label=gettext_lazy("Near-duplicate linking"),
    model=NearDupJob,
    stale_seconds=lambda: NEARDUP_JOB_STALE_SECONDS,
    on_reap=neardup_job_reaped,
    send=_neardup_send,
)
