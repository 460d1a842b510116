"""Moving data in and out of a project: imports (quick and background), sources, policies, export.

What an import found (personal data, near duplicates) is reviewed in annotation/views/findings.py.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from annotation.forms import (
    DataSourceForm,
    ImportJobForm,
    ImportPolicyForm,
    ItemImportForm,
)
from annotation.models import ImportJob
from annotation.services.exports import annotations_export, export_content_type
from annotation.services.import_jobs import import_job_create
from annotation.services.import_policies import (
    data_source_create,
    import_policy_update,
)
from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from common.streaming import attachment_response, csv_stream
from governance.access import access_project
from governance.roles import Perm


@require_POST
@login_required
def items_import_view(request, project_id: int):
    """The project page's quick import: the same background job as the Imports page ("reject" mode).

    The request only seals the upload and queues the job, so a large file cannot time it out;
    the browser goes on to the job's page, whose progress bar follows the worker.
    """
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    form = ItemImportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(
                actor=request.user, project=project, stream=upload.file, filename=upload.name,
                fmt=form.cleaned_data["format"] or None, quoting=form.cleaned_data["quoting"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            job_url = reverse("annotation:import-job", args=[project.pk, job.pk])
            if request.htmx:
                return HttpResponse(headers={"HX-Redirect": job_url})
            return redirect(job_url)
    return render(request, "annotation/partials/_import_result.html",
                  {"project": project, "import_form": form}, status=UNPROCESSABLE)


@require_GET
@login_required
def annotations_export_view(request, project_id: int, fmt: str):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.EXPORT_DATA)
    return attachment_response(
        annotations_export(actor=request.user, project=project, fmt=fmt),
        content_type=export_content_type(fmt),
        filename=f"{slugify(project.name) or 'project'}-{project.pk}-annotations.{fmt}",
    )


# --- background imports, sources, policies ------------------------------------------------


def _imports_context(project, **extra) -> dict:
    policy = dict(project.cleaning_policy or {})
    policy["languages"] = ", ".join(policy.get("languages", []))
    context = {
        "project": project,
        "jobs": ImportJob.objects.filter(project=project).select_related("source", "requested_by")[:20],
        "sources": project.sources.all(),
        "job_form": ImportJobForm(project=project),
        "source_form": DataSourceForm(),
        "policy_form": ImportPolicyForm(initial={
            "normalization": "NFC", "whitespace": "keep", "min_length": 1, "over_max": "reject",
            **policy, "pii_policy": project.pii_policy, "neardup_threshold": project.neardup_threshold}),
    }
    context.update(extra)
    return context


@require_GET
@login_required
def imports_page_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    return render(request, "annotation/imports.html", _imports_context(project))


@require_POST
@login_required
def import_job_create_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    form = ImportJobForm(request.POST, request.FILES, project=project)
    if form.is_valid():
        upload, data = form.cleaned_data["file"], form.cleaned_data
        try:
            job = import_job_create(
                actor=request.user, project=project, stream=upload.file, filename=upload.name,
                fmt=data["format"] or None, on_error=data["on_error"], source=data["source"],
                create_missing_labels=data["create_missing_labels"], quoting=data["quoting"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            if not request.htmx:
                return redirect("annotation:import-job", project_id=project.pk, import_job_id=job.pk)
            return render(request, "annotation/partials/_import_job.html", {"project": project, "job": job})
    return render(request, "annotation/partials/_import_job_form.html",
                  {"project": project, "job_form": form}, status=UNPROCESSABLE)


@require_GET
@login_required
def import_job_view(request, project_id: int, import_job_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    job = get_object_or_404(ImportJob.objects.select_related("source"), project=project, pk=import_job_id)
    template = "annotation/partials/_import_job.html" if request.htmx else "annotation/imports_job.html"
    return render(request, template, {"project": project, "job": job})


@require_GET
@login_required
def import_job_report_view(request, project_id: int, import_job_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    job = get_object_or_404(ImportJob, project=project, pk=import_job_id)
    header = ["kind", "file", "member", "row", "field", "reason", "item", "linked_to", "similarity"]
    rows = [["error", e["file"], e["member"], e["row"], e["field"], e["message"], "", "", ""]
            for e in job.report.get("errors", [])]
    rows += [["near_duplicate", job.filename, link["member"], link["row"], "text", "near duplicate", link["item"],
              link["keeper"], link["similarity"]] for link in job.report.get("near_duplicates", [])]
    # csv_stream neutralises cells a spreadsheet would run as formulas (a field named "=cmd()").
    return attachment_response(
        csv_stream(header, rows), content_type="text/csv; charset=utf-8", filename=f"import-{job.pk}-report.csv"
    )


@require_POST
@login_required
def data_source_create_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    form = DataSourceForm(request.POST)
    if form.is_valid():
        try:
            data_source_create(actor=request.user, project=project, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return redirect("annotation:imports", project_id=project.pk)
    return render(request, "annotation/imports.html", _imports_context(project, source_form=form),
                  status=UNPROCESSABLE)


@require_POST
@login_required
def import_policy_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    form = ImportPolicyForm(request.POST)
    if form.is_valid():
        try:
            import_policy_update(
                actor=request.user, project=project, cleaning_policy=form.cleaning_policy(),
                pii_policy=form.cleaned_data["pii_policy"], neardup_threshold=form.cleaned_data["neardup_threshold"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return redirect("annotation:imports", project_id=project.pk)
    return render(request, "annotation/imports.html", _imports_context(project, policy_form=form),
                  status=UNPROCESSABLE)
