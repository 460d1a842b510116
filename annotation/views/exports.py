"""Background exports from the project page: choose a format and redaction, follow the job, download."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from annotation.models import ExportStatus
from annotation.services.exports import (
    DEFAULT_JOB_FORMAT,
    EXPORT_LINK_SECONDS,
    JOB_FORMAT_CHOICES,
    export_download_signature,
    export_get,
    export_request,
    job_formats_for,
)
from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from governance.access import access_project
from governance.roles import Perm

_FORMAT_NAMES = {"jsonl": "JSONL", "csv": "CSV", "conll": gettext_lazy("CoNLL / BIO"), "parquet": "Parquet"}


class ExportJobForm(forms.Form):
    """Offers only the formats that fit the project's task type, JSONL chosen; a format posted for
    another task type reaches the service, whose refusal gives the reason."""

    format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        initial=DEFAULT_JOB_FORMAT,
        choices=[(fmt, _FORMAT_NAMES.get(fmt, fmt)) for fmt in JOB_FORMAT_CHOICES],
    )
    redact = forms.BooleanField(
        label=gettext_lazy("Mask personal data in the texts (e-mails, phone numbers, ids)"), required=False
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["format"].widget.choices = [(fmt, _FORMAT_NAMES.get(fmt, fmt)) for fmt in job_formats_for(project)]


def _job_context(request, project, export) -> dict:
    """The job card's context; a ready export gets a download link signed for this user now."""
    url = None
    if export.status == ExportStatus.READY:
        url = reverse("api:export-download", kwargs={
            "project_id": project.pk, "export_id": export.pk,
            "export_signature": export_download_signature(user=request.user, export=export),
        })
    return {"project": project, "export": export, "download_url": url, "link_minutes": EXPORT_LINK_SECONDS // 60}


@require_POST
@login_required
def export_job_create_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.EXPORT_DATA)
    form = ExportJobForm(request.POST, project=project)
    if form.is_valid():
        try:
            export = export_request(actor=request.user, project=project, fmt=form.cleaned_data["format"],
                                    redact=form.cleaned_data["redact"])
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            if not request.htmx:
                return redirect("annotation:export-job", project_id=project.pk, export_id=export.pk)
            context = {**_job_context(request, project, export), "export_form": ExportJobForm(project=project)}
            return render(request, "annotation/partials/_export_panel.html", context)
    return render(request, "annotation/partials/_export_panel.html",
                  {"project": project, "export_form": form}, status=UNPROCESSABLE)


@require_GET
@login_required
def export_job_view(request, project_id: int, export_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.EXPORT_DATA)
    export = export_get(project=project, export_id=export_id)
    template = "annotation/partials/_export_job.html" if request.htmx else "annotation/exports_job.html"
    return render(request, template, _job_context(request, project, export))
