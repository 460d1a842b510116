"""Archiving, unarchiving and deleting a project (managers and admins); a confirmation page for delete."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from annotation.forms import ProjectDeleteForm
from annotation.services.project_lifecycle import project_archive, project_delete, project_unarchive
from annotation.views.projects import section_url
from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from governance.access import access_project_lifecycle


def _lifecycle_change(request, project_id: int, service, done_message: str):
    project = access_project_lifecycle(user=request.user, project_id=project_id)
    try:
        project = service(actor=request.user, project=project)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done_message % {"project": project.name})
    # Back to the Settings section the buttons sit in, now showing the new state.
    return redirect(section_url(project, "settings"))


@require_POST
@login_required
def project_archive_view(request, project_id: int):
    return _lifecycle_change(
        request,
        project_id,
        project_archive,
        _("Project '%(project)s' is archived: it can be read but not changed."),
    )


@require_POST
@login_required
def project_unarchive_view(request, project_id: int):
    return _lifecycle_change(
        request,
        project_id,
        project_unarchive,
        _("Project '%(project)s' is open for changes again."),
    )


@require_http_methods(["GET", "POST"])
@login_required
def project_delete_view(request, project_id: int):
    """GET: the confirmation page; POST: delete once the project's name was typed exactly."""
    project = access_project_lifecycle(user=request.user, project_id=project_id)
    form = ProjectDeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        name = project.name
        try:
            project_delete(
                actor=request.user, project=project, confirm_name=form.cleaned_data["confirm_name"]
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Project '%(project)s' was deleted; its data can no longer be read.")
                % {"project": name},
            )
            return redirect("annotation:project-list")
    status = UNPROCESSABLE if form.errors else 200
    return render(
        request, "annotation/project_delete.html", {"project": project, "form": form}, status=status
    )
