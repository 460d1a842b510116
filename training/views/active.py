"""The Active learning page (settings, status, stopping hint, learning curve), the label-issue queue and similar items.

Viewing the loop needs view_quality; changing it (strategy, control share, refresh interval,
seed keywords) needs change_project, like the other settings that decide what annotators see
next; label issues need review_annotations; similar items need browse_items.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from annotation.selectors import item_list
from annotation.services.reads import items_read_record
from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from governance.access import access_project, access_project_with_perms
from governance.roles import Perm
from training.forms import ActiveLearningForm
from training.selectors.active import active_learning_state, label_issue_get, label_issue_list
from training.services.active_learning import (
    active_learning_refresh_request,
    active_learning_update,
)
from training.services.label_issues import (
    CLASSIFICATION_ONLY,
    label_check_latest,
    label_check_supported,
    label_check_waiting,
    label_issue_resolve,
    label_issues_request,
)
from training.services.seed_keywords import label_keywords_set
from training.services.similar import ItemNotEmbedded, similar_items
from training.views.learning_curve import active_learning_panel

ISSUES_SHOWN = 50
NEIGHBOURS_SHOWN = 10


def _page(request, project, perms, form=None, status=200):
    can_change = Perm.CHANGE_PROJECT in perms
    labels = list(project.labels.all())
    if can_change and form is None:
        form = ActiveLearningForm.for_state(active_learning_state(project=project), labels=labels)
    context = {
        "project": project,
        **active_learning_panel(project=project),
        "form": form if can_change else None,
        "can_change": can_change,
        "can_review": Perm.REVIEW in perms,
    }
    return render(request, "training/active_learning.html", context, status=status)


@require_GET
@login_required
def active_learning_view(request, project_id: int):
    project, perms = access_project_with_perms(user=request.user, project_id=project_id, perm=Perm.VIEW_QUALITY)
    return _page(request, project, perms)


@require_GET
@login_required
def active_learning_status_view(request, project_id: int):
    """The status card; while a refresh is queued or running it asks for itself again every two seconds."""
    project, perms = access_project_with_perms(user=request.user, project_id=project_id, perm=Perm.VIEW_QUALITY)
    context = {"project": project, **active_learning_panel(project=project), "can_change": Perm.CHANGE_PROJECT in perms}
    return render(request, "training/partials/_active_status.html", context)


@require_POST
@login_required
def active_learning_settings_view(request, project_id: int):
    project, perms = access_project_with_perms(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
    labels = list(project.labels.all())
    form = ActiveLearningForm(request.POST, labels=labels)
    if form.is_valid():
        try:
            # Settings and seed keywords are one form: both saved, or neither.
            with transaction.atomic():
                active_learning_update(actor=request.user, project=project, **form.settings)
                label_keywords_set(actor=request.user, project=project, keywords=form.keywords)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("Active-learning settings saved."))
            return redirect("active:page", project_id=project.pk)
    return _page(request, project, perms, form=form, status=UNPROCESSABLE)


@require_POST
@login_required
def active_learning_refresh_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
    error = None
    if not active_learning_refresh_request(project=project, actor=request.user, force=True):
        error = _("Active learning is off for this project; choose a strategy first.")
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("active:page", project_id=project.pk)
    context = {
        "project": project,
        **active_learning_panel(project=project),
        "can_change": True,
        "refresh_error": error,
    }
    return render(
        request, "training/partials/_active_status.html", context, status=UNPROCESSABLE if error else 200
    )


# --- label issues -------------------------------------------------------------------------------


def _label_issues_panel(request, project, perms, check_error: str | None = None) -> dict:
    """The check's state and, once no check is pending, the open issues; showing their text is an
    audited read, so a panel that is still waiting for the worker lists none."""
    state = active_learning_state(project=project)
    check = label_check_latest(project=project)
    waiting = label_check_waiting(check)
    context = {
        "project": project,
        "state": state,
        "check": check,
        "waiting": waiting,
        # Stored in English by the worker; the known reasons are message ids.
        "last_error": _(check.error) if check is not None and check.error else "",
        "stalled": check is not None and check.is_active and not waiting,
        "check_error": check_error,
        "supported": label_check_supported(project),
        "labels": list(project.labels.values_list("name", flat=True)),
        "can_browse": Perm.BROWSE_ITEMS in perms,
        "issues": [],
    }
    if not waiting:
        open_issues = label_issue_list(project=project)
        issues = list(open_issues[:ISSUES_SHOWN])
        items_read_record(actor=request.user, project=project, items=[issue.item for issue in issues], via="label_issues")
        context["issues"] = issues
        context["open_count"] = open_issues.count() if len(issues) == ISSUES_SHOWN else len(issues)
    return context


@require_GET
@login_required
def label_issues_view(request, project_id: int):
    """Open issues, most likely mislabelled first. While a check is queued or running, the panel
    (htmx asks for it alone) polls this URL every two seconds until the result is in."""
    project, perms = access_project_with_perms(user=request.user, project_id=project_id, perm=Perm.REVIEW)
    context = _label_issues_panel(request, project, perms)
    if request.htmx:
        return render(request, "training/partials/_label_issues_panel.html", context)
    context["unsupported_note"] = _(CLASSIFICATION_ONLY)
    return render(request, "training/label_issues.html", context)


@require_POST
@login_required
def label_issues_check_view(request, project_id: int):
    project, perms = access_project_with_perms(user=request.user, project_id=project_id, perm=Perm.REVIEW)
    error = None
    try:
        label_issues_request(actor=request.user, project=project)
    except ValidationError as failure:
        error = " ".join(failure.messages)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, _("The label check is running in the background; this page shows the result when it is done."))
        return redirect("active:label-issues", project_id=project.pk)
    context = _label_issues_panel(request, project, perms, check_error=error)
    return render(
        request, "training/partials/_label_issues_panel.html", context, status=UNPROCESSABLE if error else 200
    )


@require_POST
@login_required
def label_issue_resolve_view(request, project_id: int, issue_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.REVIEW)
    issue = label_issue_get(project=project, issue_id=issue_id)
    error = None
    try:
        issue = label_issue_resolve(
            actor=request.user,
            issue=issue,
            decision=request.POST.get("decision", ""),
            value=request.POST.get("label") or None,
        )
    except ValidationError as failure:
        error = " ".join(failure.messages)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("active:label-issues", project_id=project.pk)
    # The row comes back without the text: the page that listed it recorded that read already.
    context = {
        "project": project,
        "issue": issue,
        "resolve_error": error,
        "labels": list(project.labels.values_list("name", flat=True)),
    }
    return render(
        request, "training/partials/_label_issue.html", context, status=UNPROCESSABLE if error else 200
    )


# --- similar items ------------------------------------------------------------------------------


@require_GET
@login_required
def similar_items_view(request, project_id: int, item_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.BROWSE_ITEMS)
    item = get_object_or_404(item_list(project=project), pk=item_id)
    try:
        neighbours = similar_items(
            actor=request.user, project=project, item=item, k=NEIGHBOURS_SHOWN, via="similar", with_item=True
        )
        missing = None
    except ItemNotEmbedded as error:
        neighbours, missing = [], " ".join(error.messages)
    context = {"project": project, "item": item, "neighbours": neighbours, "missing": missing}
    return render(request, "training/similar_items.html", context)
