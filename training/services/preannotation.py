"""Requesting model pre-annotation for a project; the work itself runs in a Celery worker."""

from django.db import transaction

from annotation.models import Project
from governance.audit import audit_record
from training.models import JobStatus, PreannotationJob


@transaction.atomic
def preannotation_request(*, actor, project: Project) -> PreannotationJob:
    """Queue a pre-annotation job, or return the one already queued or running for this project."""
    active = (
        PreannotationJob.objects.select_for_update()
        .filter(project=project, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
        .first()
    )
    if active is not None:
        return active
    job = PreannotationJob.objects.create(project=project, requested_by=actor)
    audit_record(actor=actor, action="preannotation.request", project=project, target=job)

    from training.celery_tasks import preannotate_project_task

    transaction.on_commit(lambda: preannotate_project_task.delay(job.pk))
    return job
