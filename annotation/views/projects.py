"""Project list, creation, the project page and label management."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from annotation.forms import LabelForm, ProjectCreateForm, ProjectSettingsForm
from annotation.hooks import Panel, panels_render
from annotation.selectors import project_list, project_progress
from annotation.services.projects import label_create, label_update, project_create, project_update
from annotation.views.exports import ExportJobForm
from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from governance.access import access_project, can_create_project, project_perms
from governance.keyring import project_shredded
from governance.roles import JOBS_PERM, Perm


def _project_list_render(request, form: ProjectCreateForm | None, status: int = 200):
    projects = [
        (project, project_progress(project=project, user=request.user))
        for project in project_list(user=request.user)
    ]
    return render(
        request,
        "annotation/project_list.html",
        {"projects": projects, "create_form": form},
        status=status,
    )


@require_GET
@login_required
def project_list_view(request):
    form = ProjectCreateForm() if can_create_project(user=request.user) else None
    return _project_list_render(request, form)


@require_POST
@login_required
def project_create_view(request):
    if not can_create_project(user=request.user):
        raise PermissionDenied(_("You may not create projects."))
    form = ProjectCreateForm(request.POST)
    if form.is_valid():
        try:
            project = project_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return redirect("annotation:project-detail", project_id=project.pk)
    return _project_list_render(request, form, status=UNPROCESSABLE)


def _abilities(perms: frozenset[str]) -> dict[str, bool]:
    """What the page offers; the views behind each button check again through access_project."""
    return {
        "annotate": Perm.ANNOTATE in perms,
        "import": Perm.IMPORT_ITEMS in perms,
        "export": Perm.EXPORT_DATA in perms,
        "change": Perm.CHANGE_PROJECT in perms,
        "manage_members": Perm.MANAGE_MEMBERS in perms,
        "view_quality": Perm.VIEW_QUALITY in perms,
        "manage_gold": Perm.CHANGE_PROJECT in perms,
        "review": Perm.REVIEW in perms,
        "curate_datasets": Perm.CURATE_DATASETS in perms,
        "jobs": JOBS_PERM in perms,
    }


def _labels_context(project, abilities, label_form=None, failed_label_id=None) -> dict:
    return {
        "project": project,
        "labels": list(project.labels.all()),
        "can": abilities,
        "label_form": label_form or LabelForm(),
        "failed_label_id": failed_label_id,
    }


@require_GET
@login_required
def project_detail_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.VIEW_PROJECT)
    perms = project_perms(user=request.user, project=project)
    can = _abilities(perms)
    panels = {"request": request, "project": project, "perms": perms}
    context = {
        **_labels_context(project, can),
        "progress": project_progress(project=project, user=request.user),
        "shredded": project_shredded(project=project),
        "settings_form": _settings_form(project) if can["change"] else None,
        "export_form": ExportJobForm(project=project) if can["export"] else None,
        "main_panels": panels_render(Panel.PROJECT_MAIN, **panels),
        "side_panels": panels_render(Panel.PROJECT_SIDE, **panels),
    }
    return render(request, "annotation/project_detail.html", context)


def _settings_form(project, data=None) -> ProjectSettingsForm:
    initial = {name: getattr(project, name) for name in ProjectSettingsForm.base_fields}
    return ProjectSettingsForm(data, initial=initial, task_type=project.task_type)


@require_POST
@login_required
def project_settings_view(request, project_id: int):
    """Overlap, review policy, gold rate and overlapping spans; the htmx partial answers."""
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
    form = _settings_form(project, request.POST)
    saved = False
    if form.is_valid():
        try:
            project_update(actor=request.user, project=project, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            saved = True
            form = _settings_form(project)
    if not request.htmx and saved:
        return redirect("annotation:project-detail", project_id=project.pk)
    status = 200 if saved or not form.errors else UNPROCESSABLE
    context = {"project": project, "settings_form": form, "saved": saved}
    return render(request, "annotation/partials/_settings.html", context, status=status)


def _labels_response(request, project, form=None, failed_label_id=None):
    if not request.htmx and form is None:
        return redirect("annotation:project-detail", project_id=project.pk)
    can = _abilities(project_perms(user=request.user, project=project))
    context = _labels_context(project, can, form, failed_label_id)
    status = UNPROCESSABLE if form is not None else 200
    return render(request, "annotation/partials/_labels.html", context, status=status)


@require_POST
@login_required
def label_create_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
    form = LabelForm(request.POST)
    if form.is_valid():
        try:
            label_create(actor=request.user, project=project, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return _labels_response(request, project)
    return _labels_response(request, project, form=form, failed_label_id="new")


@require_POST
@login_required
def label_update_view(request, project_id: int, label_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
    label = get_object_or_404(project.labels, pk=label_id)
    form = LabelForm(request.POST)
    if form.is_valid():
        try:
            label_update(actor=request.user, label=label, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return _labels_response(request, project)
    return _labels_response(request, project, form=form, failed_label_id=label.pk)
