"""The Models page and its htmx partials, a version's evaluation page, and the comparison of two versions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from common.jobs.lifecycle import jobs_reap
from governance.access import access_project
from governance.roles import Perm
from training.forms import TrainingForm
from training.models import TrainingJob
from training.selectors.champion import champion_verdict
from training.selectors.preannotation import preannotation_job_latest
from training.selectors.training import (
    base_model_by_name,
    baseline_rows,
    evaluation_section,
    evaluation_sections,
    evaluation_split,
    model_version_by_number,
    model_version_compare,
    model_version_get,
    model_version_list,
    report_headline,
    selection_summary,
    trainable_version_by_number,
    training_job_get,
    training_job_list,
    version_headline,
    version_report,
)
from training.services.registry import (
    ActivationNeedsConfirmation,
    model_version_activate,
    model_version_deactivate,
)
from training.services.training import (
    training_cancel,
    training_job_refresh,
    training_request,
)
from training.views.charts import (
    confused_labels,
    confusion_heatmap,
    per_label_matrices,
    score_bars,
)

JOBS_SHOWN = 20


def _project(request, project_id):
    return access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)


def _models_page(request, project, form=None, status=200):
    jobs_reap(model=TrainingJob, project=project)  # a job whose worker died shows as failed, not running
    versions = list(model_version_list(project=project))
    context = {
        "project": project,
        "jobs": list(training_job_list(project=project)[:JOBS_SHOWN]),
        "versions": versions,
        "active_version": next((version for version in versions if version.is_active), None),
        "form": form or TrainingForm(project=project),
        "job": preannotation_job_latest(project=project),
    }
    return render(request, "training/models.html", context, status=status)


@require_GET
@login_required
def models_page_view(request, project_id: int):
    return _models_page(request, _project(request, project_id))


@require_POST
@login_required
def training_start_view(request, project_id: int):
    project = _project(request, project_id)
    form = TrainingForm(request.POST, project=project)
    if form.is_valid():
        try:
            job = training_request(
                actor=request.user,
                project=project,
                dataset_version=trainable_version_by_number(
                    project=project, number=form.cleaned_data["dataset_version"]
                ),
                base_model=base_model_by_name(name=form.cleaned_data["base_model"]),
                hyperparameters=form.hyperparameters,
                time_limit_seconds=form.time_limit_seconds,
                then_suggest=form.cleaned_data["then_suggest"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            if request.htmx:
                context = {"project": project, "job": job, "form": TrainingForm(project=project), "started": job}
                return render(request, "training/partials/_train_started.html", context)
            return redirect("training:models", project_id=project.pk)
    if request.htmx:
        return render(
            request, "training/partials/_train_form.html", {"project": project, "form": form}, status=UNPROCESSABLE
        )
    return _models_page(request, project, form=form, status=UNPROCESSABLE)


@require_GET
@login_required
def training_job_view(request, project_id: int, training_job_id: int):
    """One job's card; while the job is active the card asks for itself again every two seconds."""
    project = _project(request, project_id)
    job = training_job_refresh(job=training_job_get(project=project, job_id=training_job_id))
    return render(request, "training/partials/_job.html", {"project": project, "job": job})


@require_POST
@login_required
def training_job_cancel_view(request, project_id: int, training_job_id: int):
    project = _project(request, project_id)
    job = training_job_get(project=project, job_id=training_job_id)
    error = None
    try:
        job = training_cancel(actor=request.user, job=job)
    except ValidationError as failure:
        error = " ".join(failure.messages)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("training:models", project_id=project.pk)
    job = training_job_get(project=project, job_id=job.pk)
    context = {"project": project, "job": job, "cancel_error": error}
    return render(request, "training/partials/_job.html", context, status=UNPROCESSABLE if error else 200)


def _confusion_charts(matrix, *, whole: bool) -> dict:
    """The matrix whole when it is small or asked for (?matrix=all); else its most confused labels.

    Drawn only on request: 200 labels make 40,000 cells, megabytes the page would carry unseen."""
    shown = confused_labels(matrix)
    if shown is None:
        return {"heatmap": confusion_heatmap(matrix)}
    return {
        "heatmap": confusion_heatmap(matrix, only=shown),
        "heatmap_all": confusion_heatmap(matrix) if whole else None,
        "heatmap_shown": len(shown),
        "heatmap_total": len(matrix["labels"]),
    }


def _evaluation(version, *, whole_matrix: bool = False) -> dict:
    split = evaluation_split(version)
    main = evaluation_section(version, split) or {
        "split": split, "title": "", "headline": None, "scores": [], "rows": [], "interval_method": ""
    }
    matrix = (version_report(version, split) or {}).get("confusion_matrix")
    return {
        "main": main,
        "others": [section for section in evaluation_sections(version) if section["split"] != split],
        "bars": score_bars(main["rows"]),
        **_confusion_charts(matrix, whole=whole_matrix),
        "per_label": per_label_matrices(matrix),
    }


def _version_page(request, project, version, *, confirm_needed=False, status=200):
    others = [other for other in model_version_list(project=project) if other.pk != version.pk]
    verdict = champion_verdict(candidate=version)
    metrics = version.metrics or {}
    context = {
        "project": project,
        "version": version,
        "headline": version_headline(version),
        "evaluation": _evaluation(version, whole_matrix=request.GET.get("matrix") == "all"),
        "verdict": verdict,
        "candidate": report_headline(verdict.candidate_report),
        "champion": report_headline(verdict.champion_report),
        "confirm_needed": confirm_needed,
        "selection": selection_summary(version),
        "baselines": baseline_rows(version),
        "choice": metrics.get("choice"),
        "others": others,
        "hyperparameters": sorted(version.hyperparameters.items()),
        "history": metrics.get("history", []),
    }
    return render(request, "training/version.html", context, status=status)


@require_GET
@login_required
def model_version_view(request, project_id: int, model_version_id: int):
    project = _project(request, project_id)
    return _version_page(request, project, model_version_get(project=project, model_version_id=model_version_id))


@require_POST
@login_required
def model_version_activate_view(request, project_id: int, model_version_id: int):
    """Activate; a degenerate version, or one worse than what suggests now, comes back with the verdict to confirm."""
    project = _project(request, project_id)
    version = model_version_get(project=project, model_version_id=model_version_id)
    try:
        model_version_activate(actor=request.user, model_version=version, confirm=request.POST.get("confirm") == "1")
    except ActivationNeedsConfirmation:
        return _version_page(request, project, version, confirm_needed=True, status=UNPROCESSABLE)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(name)s is now the active model; it is pre-annotating the unlabelled items.") % {"name": version.name},
        )
    return redirect("training:models", project_id=project.pk)


@require_POST
@login_required
def model_deactivate_view(request, project_id: int):
    """Switch the active model off: the embedding head (or zero-shot) suggests again."""
    project = _project(request, project_id)
    try:
        model_version_deactivate(actor=request.user, project=project, reason=request.POST.get("reason", "")[:500])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("No model is active now; the embedding head suggests labels again."))
    return redirect("training:models", project_id=project.pk)


@require_GET
@login_required
def model_version_compare_view(request, project_id: int, model_version_id: int):
    project = _project(request, project_id)
    first = model_version_get(project=project, model_version_id=model_version_id)
    others = [other for other in model_version_list(project=project) if other.pk != first.pk]
    other = request.GET.get("with", "")
    comparison = None
    if other.isdigit():
        comparison = model_version_compare(
            first=first, second=model_version_by_number(project=project, number=int(other))
        )
    context = {"project": project, "version": first, "others": others, "comparison": comparison}
    return render(request, "training/compare.html", context)
