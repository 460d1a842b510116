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


@shared_task(ignore_result=True)
def import_jobs_stale_task() -> None:
    """Periodic (celery beat): stop the imports whose worker died, so none stays 'running' for ever."""
    from annotation.services.import_jobs import import_jobs_stale_fail

    import_jobs_stale_fail()
