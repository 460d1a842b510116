"""Retention and erasure pages: a project's retention period (managers) and erasure requests (admins, auditors)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from annotation.forms import ErasureRequestForm, RetentionForm
from annotation.services.erasure import erasure_request_create
from annotation.services.retention import project_retention_set, retention_run_request
from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from governance.access import access_project, can_audit, is_admin
from governance.models import ErasureRequest, ProjectRetention
from governance.roles import Perm
from governance.selectors.schedules import schedule_state

# The entry of CELERY_BEAT_SCHEDULE that runs retention, shown with its last and next run.
RETENTION_SCHEDULE_ENTRY = "retention-daily"


@require_http_methods(["GET", "POST"])
@login_required
def project_retention_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
    current = ProjectRetention.objects.filter(project=project).first()
    status = 200
    if request.method == "POST":
        form = RetentionForm(request.POST)
        if form.is_valid():
            try:
                project_retention_set(actor=request.user, project=project, days=form.cleaned_data["days"])
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, _("Retention period saved."))
                return redirect("annotation:project-retention", project_id=project.pk)
        status = UNPROCESSABLE
    else:
        form = RetentionForm(initial={"days": current.days if current else None})
    context = {
        "project": project,
        "retention": current,
        "form": form,
        "schedule": schedule_state(entry=RETENTION_SCHEDULE_ENTRY),
    }
    return render(request, "annotation/retention.html", context, status=status)


@require_POST
@login_required
def project_retention_run_view(request, project_id: int):
    """Run now: the job the schedule runs, queued for this project; those who may set the period may."""
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
    try:
        retention_run_request(actor=request.user, project=project)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("Retention run queued: expired items go as soon as a worker takes it.")
        )
    return redirect("annotation:project-retention", project_id=project.pk)


@require_http_methods(["GET", "POST"])
@login_required
def erasure_request_list_view(request):
    """Auditors and admins see every request and its record; only admins start one."""
    if not can_audit(request.user):
        raise PermissionDenied(_("Only auditors and administrators may see erasure requests."))
    status = 200
    form = ErasureRequestForm() if is_admin(request.user) else None
    if request.method == "POST":
        if not is_admin(request.user):
            raise PermissionDenied(_("Only administrators may request an erasure."))
        form = ErasureRequestForm(request.POST)
        if form.is_valid():
            try:
                erasure = erasure_request_create(
                    actor=request.user,
                    identifier=form.cleaned_data["identifier"],
                    project=form.cleaned_data["project"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, _("Erasure request %(id)s queued.") % {"id": erasure.pk})
                return redirect("annotation:erasure-requests")
        status = UNPROCESSABLE
    requests = ErasureRequest.objects.select_related("requested_by", "project")[:100]
    return render(request, "annotation/erasure.html", {"requests": requests, "form": form}, status=status)
