"""Background annotation tasks; each takes ids and hands over to a service."""

from celery import shared_task


@shared_task(ignore_result=True, acks_late=True)
def import_run_task(job_id: int) -> None:
    from annotation.services.import_jobs import import_job_run

    import_job_run(job_id=job_id)


@shared_task(ignore_result=True, acks_late=True)
def neardup_job_run_task(job_id: int) -> None:
    from annotation.services.neardup_jobs import neardup_job_run

    neardup_job_run(job_id=job_id)


@shared_task(ignore_result=True, acks_late=True)
def neardup_refile_task(project_id: int) -> None:
    from annotation.services.neardup_store import neardup_refile

    neardup_refile(project_id=project_id)


# Named as before the task moved from governance: beat schedules and queued tasks of an older release.
@shared_task(name="governance.celery_tasks.retention_run_task", ignore_result=True)
def retention_run_task(
    batch_size: int = 500, project_id: int | None = None, schedule_entry: str | None = None
) -> None:
    """One batch per period (of one project's periods for "Run now"); queues itself again while a period had a full batch.

    Beat names its schedule entry, so the run is recorded for the pages; the follow-up batches do not.
    """
    from annotation.services.exports import exports_expire
    from annotation.services.retention import retention_batch_run
    from governance.services.schedules import schedule_run_record

    if schedule_entry:
        schedule_run_record(entry=schedule_entry)
    if project_id is None:
        exports_expire()
    if retention_batch_run(batch_size=batch_size, project_id=project_id).more:
        retention_run_task.delay(batch_size, project_id)


@shared_task(name="governance.celery_tasks.erasure_run_task", ignore_result=True)
def erasure_run_task(request_id: int) -> None:
    from annotation.services.erasure import erasure_run

    erasure_run(request_id=request_id)


# Named as before the task moved from governance, so an export queued by an older release still runs.
@shared_task(name="governance.celery_tasks.export_build_task", ignore_result=True)
def export_build_task(export_id: int) -> None:
    from annotation.services.exports import export_build

    export_build(export_id=export_id)


@shared_task(ignore_result=True, acks_late=True)
def item_text_scan_task(item_id: int, text_revision: int) -> None:
    from annotation.services.items import item_text_scan

    item_text_scan(item_id=item_id, text_revision=text_revision)


@shared_task(ignore_result=True, acks_late=True)
def item_bulk_run_task(job_id: int) -> None:
    from annotation.services.item_bulk import item_bulk_run

    item_bulk_run(job_id=job_id)
