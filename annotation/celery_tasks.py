"""Background annotation tasks; each takes ids and hands over to a service."""

from celery import shared_task


@shared_task(ignore_result=True, acks_late=True)
def import_run_task(job_id: int) -> None:
    from annotation.services.import_jobs import import_job_run

    import_job_run(job_id=job_id)
