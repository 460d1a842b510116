"""Background ML tasks; each takes ids and hands over to a training service."""

from celery import shared_task


@shared_task(ignore_result=True)
def preannotate_project_task(job_id: int) -> None:
    from training.services.preannotation import preannotation_run

    preannotation_run(job_id=job_id)


@shared_task(ignore_result=True, acks_late=True)
def dataset_version_build_task(version_id: int) -> None:
    from training.services.datasets import dataset_version_build

    dataset_version_build(version_id=version_id)


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def train_model_task(self, job_id: int) -> None:
    """Fine-tune one job; idempotent, so a redelivered message after a lost worker is safe."""
    from training.services.training import training_run

    training_run(job_id=job_id, worker=self.request.hostname or "")
