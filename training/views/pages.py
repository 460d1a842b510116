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
from training.selectors.preannotation import preannotation_job_latest
from training.selectors.training import (
    base_model_by_name,
    evaluation_rows,
    evaluation_split,
    model_version_by_number,
    model_version_compare,
    model_version_get,
    model_version_list,
    trainable_version_by_number,
    training_job_get,
    training_job_list,
)
from training.services.registry import model_version_activate
from training.services.training import (
    training_cancel,
    training_job_refresh,
    training_request,
)
from training.views.charts import confusion_heatmap, per_label_matrices, score_bars

JOBS_SHOWN = 20


def _project(request, project_id):
    return access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)


def _models_page(request, project, form=None, status=200):
    jobs_reap(model=TrainingJob, project=project)  # a job whose worker died shows as failed, not running
    context = {
        "project": project,
        "jobs": list(training_job_list(project=project)[:JOBS_SHOWN]),
        "versions": list(model_version_list(project=project)),
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


def _evaluation(version) -> dict:
    split = evaluation_split(version)
    rows = evaluation_rows(version, split)
    scores = version.metrics.get(split) or {}
    return {
        "split": split,
        "rows": rows,
        "headline": scores.get("value"),
        "metric": scores.get("metric", version.metrics.get("metric", "")),
        "bars": score_bars(rows),
        "heatmap": confusion_heatmap(scores.get("confusion_matrix")),
        "per_label": per_label_matrices(scores.get("confusion_matrix")),
    }


@require_GET
@login_required
def model_version_view(request, project_id: int, model_version_id: int):
    project = _project(request, project_id)
    version = model_version_get(project=project, model_version_id=model_version_id)
    others = [other for other in model_version_list(project=project) if other.pk != version.pk]
    context = {
        "project": project,
        "version": version,
        "evaluation": _evaluation(version),
        "others": others,
        "hyperparameters": sorted(version.hyperparameters.items()),
        "history": version.metrics.get("history", []),
    }
    return render(request, "training/version.html", context)


@require_POST
@login_required
def model_version_activate_view(request, project_id: int, model_version_id: int):
    project = _project(request, project_id)
    version = model_version_get(project=project, model_version_id=model_version_id)
    try:
        model_version_activate(actor=request.user, model_version=version)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(name)s is now the active model; it is pre-annotating the unlabelled items.") % {"name": version.name},
        )
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
