"""Reads for the active-learning pages; callers have already passed the permission gate for the project."""

from django.http import Http404

from common.jobs.models import JobStatus
from projects.models import Project
from training.models.active import (
    ActiveLearning,
    ActiveLearningRefresh,
    LabelIssue,
    LabelIssueStatus,
    LearningCurvePoint,
    new_project_strategy,
)


def active_learning_state(*, project: Project) -> ActiveLearning:
    """The project's loop state, or the defaults (unsaved) when nobody has set it up: a page view writes nothing."""
    return ActiveLearning.objects.filter(project=project).first() or ActiveLearning(
        project=project, strategy=new_project_strategy(project.task_type)
    )


def active_learning_overview(*, project: Project) -> dict:
    """Settings, refresh status, learning curve, stopping hint and label-check figures, for a page or the API."""
    state = active_learning_state(project=project)
    status = refresh_status(refresh_latest(project=project))
    return {
        "state": state,
        # The refresh to come (queued, running) or idle, and why the last one that ran failed.
        "refresh": {"status": status, "error": refresh_error(project=project)},
        "curve": learning_curve(project=project),
        "hint": stopping_hint(state=state),
        "open_issues": LabelIssue.objects.filter(project=project, status=LabelIssueStatus.OPEN).count(),
    }


def label_issue_list(*, project: Project, status: str = LabelIssueStatus.OPEN):
    """The project's issues with a status, most likely mislabelled first, with their items' text columns."""
    return (
        LabelIssue.objects.filter(project=project, status=status)
        .select_related("item", "item__project", "resolved_by")
        .order_by("quality", "id")
    )


def label_issue_get(*, project: Project, issue_id) -> LabelIssue:
    issue = LabelIssue.objects.filter(project=project, pk=issue_id).select_related("project", "item").first()
    if issue is None:
        raise Http404("No such label issue in this project.")
    return issue


def label_check_summary(*, project: Project) -> dict | None:
    """The last label check's figures for the quality page; None before the first check."""
    state = ActiveLearning.objects.filter(project=project, label_check_at__isnull=False).first()
    if state is None:
        return None
    return {
        "rate": state.label_issue_rate or 0.0,
        "percent": round(100 * (state.label_issue_rate or 0.0), 1),
        "items": state.label_check_items,
        "at": state.label_check_at,
        "open": LabelIssue.objects.filter(project=project, status=LabelIssueStatus.OPEN).count(),
    }


def refresh_latest(*, project: Project) -> ActiveLearningRefresh | None:
    """The project's newest refresh: the one the pages and the API follow."""
    return ActiveLearningRefresh.objects.filter(project=project).order_by("-id").first()


def refresh_status(job: ActiveLearningRefresh | None) -> str:
    """The API's word for it: "queued" or "running" while a refresh is to come, else "idle"."""
    return job.status if job is not None and job.is_active else "idle"


def refresh_error(*, project: Project) -> str:
    """Why the last refresh that ran failed; empty when it succeeded (or none ran)."""
    ended = ActiveLearningRefresh.objects.filter(
        project=project, status__in=(JobStatus.SUCCEEDED, JobStatus.FAILED)
    ).order_by("-id")
    return ended.values_list("error", flat=True).first() or ""


def learning_curve(*, project: Project) -> list[dict]:
    """Accuracy on the control slice against labels, oldest first; a model version's first point marked."""
    points = LearningCurvePoint.objects.filter(project=project).select_related("model_version").order_by("labels", "id")
    seen: set[int] = set()
    curve = []
    for point in points:
        version = point.model_version
        first_of_version = version is not None and version.pk not in seen
        if version is not None:
            seen.add(version.pk)
        curve.append(
            {
                "labels": point.labels,
                "accuracy": point.accuracy,
                "control_labels": point.control_labels,
                "scored_by": point.scored_by,
                "model_version": version.name if version else None,
                "activated": first_of_version,
                "created_at": point.created_at,
            }
        )
    return curve


def stopping_hint(*, state: ActiveLearning) -> dict:
    """Whether the head has stopped changing its predictions on the stop set, for the manager."""
    history = list(state.stop_history)
    return {"stopped": state.stopped, "agreement": history[-1] if history else None, "refreshes": len(history)}
