"""Background ML tasks; each takes ids and hands over to a training service."""

from celery import shared_task


@shared_task(ignore_result=True)
def preannotate_project_task(job_id: int) -> None:
    from training.services.preannotation import preannotation_run

    preannotation_run(job_id=job_id)
