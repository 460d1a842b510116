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


@shared_task(ignore_result=True, acks_late=True)
def embeddings_compute_task(project_id: int) -> None:
    """Embed a project's items lacking a cached embedding; CPU work, sent to the default queue."""
    from training.services.embeddings import ITEMS_PER_TASK, embeddings_compute_run

    embeddings_compute_run(project_id=project_id, limit=ITEMS_PER_TASK)


@shared_task(ignore_result=True, acks_late=True)
def active_learning_refresh_task(project_id: int) -> None:
    """Refit the head model and re-rank the project's queue; a duplicate message does nothing."""
    from training.services.active_learning import active_learning_refresh_run

    active_learning_refresh_run(project_id=project_id)


@shared_task(ignore_result=True, acks_late=True)
def label_issues_task(project_id: int) -> None:
    """Check a project's labels with confident learning; a rerun replaces the open findings."""
    from training.services.label_issues import label_issues_run

    label_issues_run(project_id=project_id)
