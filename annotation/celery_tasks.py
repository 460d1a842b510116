"""Background annotation tasks; each takes ids and hands over to a service."""

from celery import shared_task


@shared_task(ignore_result=True, acks_late=True)
def import_run_task(job_id: int) -> None:
    from annotation.services.import_jobs import import_job_run

    import_job_run(job_id=job_id)


@shared_task(ignore_result=True, acks_late=True)
def neardup_refile_task(project_id: int) -> None:
    from annotation.services.neardup_store import neardup_refile

    neardup_refile(project_id=project_id)


# Named as before the task moved from governance: beat schedules and queued tasks of an older release.
@shared_task(name="governance.celery_tasks.retention_run_task", ignore_result=True)
def retention_run_task(batch_size: int = 500) -> None:
    """One batch per project; queues itself again while a project still had a full batch."""
    from annotation.services.exports import exports_expire
    from annotation.services.retention import retention_batch_run

    exports_expire()
    if retention_batch_run(batch_size=batch_size).more:
        retention_run_task.delay(batch_size)


@shared_task(name="governance.celery_tasks.erasure_run_task", ignore_result=True)
def erasure_run_task(request_id: int) -> None:
    from annotation.services.erasure import erasure_run

    erasure_run(request_id=request_id)


# Named as before the task moved from governance, so an export queued by an older release still runs.
@shared_task(name="governance.celery_tasks.export_build_task", ignore_result=True)
def export_build_task(export_id: int) -> None:
    from annotation.services.exports import export_build

    export_build(export_id=export_id)
