"""From the Jobs pages: cancel a job of any kind through its kind's audited service, or reap stalled jobs now."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from common.jobs.registry import JobKind
from governance.access import access_all_jobs
from governance.audit import AuditAction, audit_record


def job_cancel_request(*, actor, kind: JobKind, job_id: int, project=None):
    """Cancel one job (of ``project`` when given); the kind's service checks its state and audits."""
    if kind.cancel is None:
        raise ValidationError({"job": gettext("Jobs of this kind cannot be cancelled.")})
    jobs = (
        kind.model.objects.all() if project is None else kind.model.objects.filter(project=project)
    )
    return kind.cancel(actor=actor, job=get_object_or_404(jobs, pk=job_id))


@transaction.atomic
def jobs_reap_request(*, actor) -> None:
    """Queue now the reaping beat runs every few minutes (admins); the request is audited."""
    from governance.celery_tasks import jobs_reap_task

    access_all_jobs(user=actor)
    audit_record(actor=actor, action=AuditAction.JOB_REAP_REQUEST)
    transaction.on_commit(jobs_reap_task.delay)
