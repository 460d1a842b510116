"""Pre-annotation from the project and Models pages: start a job and follow it (htmx partial)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from common.http import UNPROCESSABLE
from governance.access import access_project
from governance.roles import Perm
from training.selectors.preannotation import preannotation_job_get
from training.services.preannotation import preannotation_request

PARTIAL = "training/partials/_preannotation.html"


@require_POST
@login_required
def preannotation_start_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.RUN_PREANNOTATION)
    try:
        job = preannotation_request(actor=request.user, project=project)
    except ValidationError as error:
        context = {"project": project, "job": None, "request_error": " ".join(error.messages)}
        return render(request, PARTIAL, context, status=UNPROCESSABLE)
    if not request.htmx:
        return redirect("annotation:project-detail", project_id=project.pk)
    return render(request, PARTIAL, {"project": project, "job": job})


@require_GET
@login_required
def preannotation_status_view(request, project_id: int, job_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.RUN_PREANNOTATION)
    job = preannotation_job_get(project=project, job_id=job_id)
    return render(request, PARTIAL, {"project": project, "job": job})
