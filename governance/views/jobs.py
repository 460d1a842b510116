"""The Jobs pages: every background job of a project (managers, ML engineers), or of all projects (admins)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from governance.access import access_all_jobs, access_project
from governance.roles import JOBS_PERM
from governance.selectors.jobs import job_kind_get, job_rows
from governance.selectors.schedules import schedule_state
from governance.services.jobs import job_cancel_request, jobs_reap_request

# The entry of CELERY_BEAT_SCHEDULE that reaps jobs whose worker died, shown on the admins' page.
REAP_SCHEDULE_ENTRY = "jobs-reap"


@require_GET
@login_required
def project_jobs_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=JOBS_PERM)
    return render(
        request, "governance/jobs.html", {"project": project, "rows": job_rows(project=project)}
    )


@require_POST
@login_required
def project_job_cancel_view(request, project_id: int, job_kind: str, kind_job_id: int):
    kind = job_kind_get(name=job_kind)
    project = access_project(
        user=request.user, project_id=project_id, perm=kind.cancel_perm or JOBS_PERM
    )
    _cancel(request, kind, kind_job_id, project=project)
    return redirect("governance:project-jobs", project_id=project.pk)


@require_GET
@login_required
def jobs_view(request):
    access_all_jobs(user=request.user)
    context = {"project": None, "rows": job_rows(), "reap": schedule_state(entry=REAP_SCHEDULE_ENTRY)}
    return render(request, "governance/jobs.html", context)


@require_POST
@login_required
def jobs_reap_view(request):
    """Run now: the reaping beat runs every few minutes, queued at once (admins)."""
    access_all_jobs(user=request.user)
    jobs_reap_request(actor=request.user)
    messages.success(request, _("Reaping queued: jobs whose worker stopped are marked failed shortly."))
    return redirect("governance:jobs")


@require_POST
@login_required
def job_cancel_view(request, job_kind: str, kind_job_id: int):
    access_all_jobs(user=request.user)
    _cancel(request, job_kind_get(name=job_kind), kind_job_id)
    return redirect("governance:jobs")


def _cancel(request, kind, job_id: int, *, project=None) -> None:
    try:
        job_cancel_request(actor=request.user, kind=kind, job_id=job_id, project=project)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("Cancel sent to %(kind)s job %(id)s.") % {"kind": kind.label, "id": job_id}
        )
