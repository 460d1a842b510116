"""Moving data in and out of a project: file import, streamed export and model pre-annotation."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from annotation.forms import ItemImportForm
from annotation.pipeline.readers import ImportRowError
from annotation.selectors import project_progress
from annotation.services.exports import annotations_export, export_content_type
from annotation.services.imports import items_import
from governance.access import access_project
from governance.roles import Perm
from training.selectors import preannotation_job_get
from training.services.preannotation import preannotation_request

UNPROCESSABLE = 422


@require_POST
@login_required
def items_import_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    form = ItemImportForm(request.POST, request.FILES)
    context = {"project": project, "import_form": form, "result": None, "row_error": None}
    status = UNPROCESSABLE
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            context["result"] = items_import(
                actor=request.user,
                project=project,
                stream=upload.file,
                filename=upload.name,
                fmt=form.cleaned_data["format"] or None,
            )
            status = 200
        except ImportRowError as error:
            context["row_error"] = error
    context["progress"] = project_progress(project=project, user=request.user)
    if not request.htmx and status == 200:
        return redirect("annotation:project-detail", project_id=project.pk)
    return render(request, "annotation/partials/_import_result.html", context, status=status)


@require_GET
@login_required
def annotations_export_view(request, project_id: int, fmt: str):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.EXPORT_DATA)
    response = StreamingHttpResponse(
        annotations_export(actor=request.user, project=project, fmt=fmt),
        content_type=export_content_type(fmt),
    )
    filename = f"{slugify(project.name) or 'project'}-{project.pk}-annotations.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def preannotation_start_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.RUN_PREANNOTATION)
    try:
        job = preannotation_request(actor=request.user, project=project)
    except ValidationError as error:
        context = {"project": project, "job": None, "request_error": " ".join(error.messages)}
        return render(request, "annotation/partials/_preannotation.html", context, status=UNPROCESSABLE)
    if not request.htmx:
        return redirect("annotation:project-detail", project_id=project.pk)
    return render(
        request, "annotation/partials/_preannotation.html", {"project": project, "job": job}
    )


@require_GET
@login_required
def preannotation_status_view(request, project_id: int, job_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.RUN_PREANNOTATION)
    job = preannotation_job_get(project=project, job_id=job_id)
    return render(
        request, "annotation/partials/_preannotation.html", {"project": project, "job": job}
    )
