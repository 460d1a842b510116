"""Cancelling a job of any kind from the Jobs pages, through that kind's own audited cancel service."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from common.jobs.registry import JobKind


def job_cancel_request(*, actor, kind: JobKind, job_id: int, project=None):
    """Cancel one job (of ``project`` when given); the kind's service checks its state and audits."""
    if kind.cancel is None:
        raise ValidationError({"job": gettext("Jobs of this kind cannot be cancelled.")})
    jobs = (
        kind.model.objects.all() if project is None else kind.model.objects.filter(project=project)
    )
    return kind.cancel(actor=actor, job=get_object_or_404(jobs, pk=job_id))
