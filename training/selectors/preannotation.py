"""Reads of pre-annotation jobs; callers have already passed the permission gate for the project."""

from django.http import Http404

from projects.models import Project
from training.models import PreannotationJob


def preannotation_job_latest(*, project: Project) -> PreannotationJob | None:
    return PreannotationJob.objects.filter(project=project).order_by("-id").first()


def preannotation_job_get(*, project: Project, job_id) -> PreannotationJob:
    job = PreannotationJob.objects.filter(project=project, pk=job_id).first()
    if job is None:
        raise Http404("No such pre-annotation job in this project.")
    return job
