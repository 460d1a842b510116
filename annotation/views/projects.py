"""Project list, creation, the project page and label management."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from annotation.forms import LabelForm, ProjectCreateForm, ProjectSettingsForm
from annotation.hooks import Panel, panels_render
from annotation.selectors import project_list, project_progress
from annotation.services.projects import label_create, label_update, project_create, project_update
from annotation.views.exports import ExportJobForm
from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from governance.access import (
    access_project,
    access_project_with_perms,
    can_create_project,
    may_change_lifecycle,
    project_perms,
)
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


def _abilities(perms: frozenset[str], *, live: bool = True) -> dict[str, bool]:
    """What the page offers; the views behind each button check again through access_project.

    ``live`` is False for a shredded project: what needs its texts is not offered any more.
    """
    can = {
        "annotate": Perm.ANNOTATE in perms,
        "import": Perm.IMPORT_ITEMS in perms,
        "export": Perm.EXPORT_DATA in perms,
        "change": Perm.CHANGE_PROJECT in perms,
        "manage_members": Perm.MANAGE_MEMBERS in perms,
        "view_quality": Perm.VIEW_QUALITY in perms,
        "manage_gold": Perm.CHANGE_PROJECT in perms,
        "review": Perm.REVIEW in perms,
        "curate_datasets": Perm.CURATE_DATASETS in perms,
        "train": Perm.TRAIN_MODELS in perms,
        "preannotate": Perm.RUN_PREANNOTATION in perms,
        "browse_items": Perm.BROWSE_ITEMS in perms,
        "jobs": JOBS_PERM in perms,
    }
    if not live:
        can.update(dict.fromkeys(_NEEDS_TEXTS, False))
    return can


# Abilities that read or write item texts, which a shredded project no longer has.
_NEEDS_TEXTS = (
    "annotate",
    "export",
    "view_quality",
    "manage_gold",
    "review",
    "train",
    "browse_items",
)

# The project page's sections, in the order of its tab bar; each is a partial of its own,
# templates/annotation/partials/_project_<key>.html, chosen by ?section=<key>.
SECTIONS = (
    ("overview", gettext_lazy("Overview")),
    ("labelling", gettext_lazy("Labelling")),
    ("review", gettext_lazy("Review")),
    ("data", gettext_lazy("Data")),
    ("quality", gettext_lazy("Quality")),
    ("models", gettext_lazy("Models")),
    ("settings", gettext_lazy("Settings")),
)


def _sections_shown(can: dict[str, bool]) -> list[str]:
    """The sections that hold something the role may do; the others get no tab."""
    holds = {
        "overview": True,
        # Everyone sees the labels and their keys; managers edit them there.
        "labelling": True,
        "review": can["review"] or can["manage_gold"],
        "data": can["browse_items"] or can["import"] or can["export"] or can["change"],
        "quality": can["view_quality"],
        "models": any(
            can[name] for name in ("train", "curate_datasets", "preannotate", "view_quality")
        ),
        "settings": any(can[name] for name in ("change", "lifecycle", "manage_members", "jobs")),
    }
    return [key for key, _name in SECTIONS if holds[key]]


def section_url(project, section: str) -> str:
    """The project page opened at ``section``."""
    url = reverse("annotation:project-detail", args=[project.pk])
    return url if section == "overview" else f"{url}?section={section}"


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
    """The project page: a tab bar of the sections the role has, and the one ?section= names.

    A section the role does not have, or an unknown name, opens the overview: a link shared by
    someone with another role still leads somewhere useful.
    """
    project, perms = access_project_with_perms(user=request.user, project_id=project_id)
    shredded = project_shredded(project=project)
    can = _abilities(perms, live=not shredded)
    # Archiving leaves managers only reads, yet they must still find Unarchive and Delete.
    can["lifecycle"] = can["change"] or (
        project.archived_at is not None and may_change_lifecycle(user=request.user, project=project)
    )
    shown = _sections_shown(can)
    section = request.GET.get("section", "overview")
    if section not in shown:
        section = "overview"
    context = {
        **_labels_context(project, can),
        "shredded": shredded,
        "sections": [
            (key, name, section_url(project, key)) for key, name in SECTIONS if key in shown
        ],
        "section": section,
        "section_template": f"annotation/partials/_project_{section}.html",
        **_SECTION_CONTEXT.get(section, _no_context)(request, project, perms, can),
    }
    return render(request, "annotation/project_detail.html", context)


# What each section needs beyond the labels; only the open section's is computed.


def _no_context(request, project, perms, can) -> dict:
    return {}


def _overview_context(request, project, perms, can) -> dict:
    return {"progress": project_progress(project=project, user=request.user)}


def _data_context(request, project, perms, can) -> dict:
    return {"export_form": ExportJobForm(project=project) if can["export"] else None}


def _models_context(request, project, perms, can) -> dict:
    panels = {"request": request, "project": project, "perms": perms}
    return {
        "main_panels": panels_render(Panel.PROJECT_MAIN, **panels),
        "side_panels": panels_render(Panel.PROJECT_SIDE, **panels),
    }


def _settings_context(request, project, perms, can) -> dict:
    return {"settings_form": _settings_form(project) if can["change"] else None}


_SECTION_CONTEXT = {
    "overview": _overview_context,
    "data": _data_context,
    "models": _models_context,
    "settings": _settings_context,
}


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
        return redirect(section_url(project, "settings"))
    status = 200 if saved or not form.errors else UNPROCESSABLE
    context = {"project": project, "settings_form": form, "saved": saved}
    return render(request, "annotation/partials/_settings.html", context, status=status)


def _labels_response(request, project, form=None, failed_label_id=None):
    if not request.htmx and form is None:
        return redirect(section_url(project, "labelling"))
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
