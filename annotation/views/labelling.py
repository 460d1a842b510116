"""The labelling loop: the page, the item partial, and submit and skip that return the next item."""

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from annotation.forms import AnnotationSubmitForm, ItemSkipForm
from annotation.models import AnnotationStatus, Item
from annotation.selectors import (
    annotation_own,
    annotation_previous,
    item_suggestion,
    project_progress,
)
from annotation.services.annotations import annotation_reopen, annotation_submit, item_skip
from annotation.services.queue import queue_next_item
from annotation.services.reads import items_read_record
from common.forms import form_add_service_errors, form_error_messages
from common.http import UNPROCESSABLE
from governance.access import (
    access_item,
    access_project,
    access_project_with_perms,
    has_project_perm,
)
from governance.roles import Perm
from projects.models import Project, TaskType

# From this many labels on, the labelling page shows the label filter ("/" then type): past 1-9 a
# person no longer finds a label at a glance.
LABEL_FILTER_FROM = 10


def _item_context(request, project: Project, item: Item | None, form=None) -> dict:
    suggestion = None
    if item is not None:
        suggestion = item_suggestion(
            item=item,
            may_see_predictions=has_project_perm(user=request.user, project=project, perm=Perm.VIEW_PREDICTIONS),
        )
    own = annotation_own(item=item, user=request.user) if item is not None else None
    # What to show as already chosen: the form being re-shown, else the annotator's earlier answer.
    if form is not None:
        chosen = set(form.data.getlist("label"))
        spans = form.data.get("spans") or "[]"
        comment = form.data.get("comment", "")
    else:
        value = own.value if own is not None and own.status != AnnotationStatus.SKIPPED else {}
        chosen = set(value.get("labels", []))
        spans = json.dumps(value.get("spans", []))
        comment = own.comment if own is not None else ""
    feedback = ""
    if own is not None and own.status == AnnotationStatus.REJECTED and hasattr(own, "review"):
        feedback = own.review.comment
    previous = annotation_previous(project=project, user=request.user, exclude_item=item)
    labels = [(label, label.name in chosen) for label in project.labels.all()]
    return {
        "project": project,
        "item": item,
        "labels": labels,
        "label_filter": len(labels) >= LABEL_FILTER_FROM,
        "is_multi": project.task_type == TaskType.MULTI_LABEL,
        "is_spans": project.task_type == TaskType.SPANS,
        "suggestion": suggestion,
        "suggestion_json": json.dumps(suggestion.value) if suggestion else "",
        "suggestion_rejected": form is not None and form.data.get("suggestion_rejected") in ("1", "true", "on"),
        "initial_spans_json": spans,
        "comment": comment,
        "feedback": feedback,
        "previous_url": reverse("annotation:label-item", args=[project.pk, previous.item_id]) if previous else "",
        "progress": project_progress(project=project, user=request.user),
        "errors": form_error_messages(form) if form is not None else [],
    }


def _item_response(request, project, item, form=None):
    """The item partial for htmx, the whole labelling page otherwise.

    A form shown again with its errors shows the item's text again: that read is recorded too.
    """
    if form is not None and item is not None:
        items_read_record(actor=request.user, project=project, items=[item], via="label.form")
    context = _item_context(request, project, item, form)
    status = UNPROCESSABLE if form is not None and form.errors else 200
    template = "annotation/partials/_item.html" if request.htmx else "annotation/label.html"
    return render(request, template, context, status=status)


@never_cache
@require_GET
@login_required
def label_page_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.ANNOTATE)
    item = queue_next_item(actor=request.user, project=project)
    return render(request, "annotation/label.html", _item_context(request, project, item))


@never_cache
@require_GET
@login_required
def label_next_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.ANNOTATE)
    return _item_response(request, project, queue_next_item(actor=request.user, project=project))


def _next_or_page(request, project):
    if not request.htmx:
        return redirect("annotation:label", project_id=project.pk)
    return _item_response(request, project, queue_next_item(actor=request.user, project=project))


def _item_to_label(request, project_id: int, item_id: int) -> tuple[Item, Project]:
    """The item named in the URL, through the gate, before the request's input is looked at: an
    id the annotator was not handed answers 404 on every path, errors included."""
    project, perms = access_project_with_perms(user=request.user, project_id=project_id, perm=Perm.ANNOTATE)
    return access_item(user=request.user, project=project, item_id=item_id, perms=perms), project


@never_cache
@require_GET
@login_required
def label_item_view(request, project_id: int, item_id: int):
    """Re-open an item the annotator already answered, to change the answer (undo after submit)."""
    item, project = _item_to_label(request, project_id, item_id)
    item = annotation_reopen(actor=request.user, item=item)
    return _item_response(request, project, item)


@never_cache
@require_POST
@login_required
def annotation_submit_view(request, project_id: int, item_id: int):
    item, project = _item_to_label(request, project_id, item_id)
    form = AnnotationSubmitForm(
        request.POST,
        label_names=list(project.labels.values_list("name", flat=True)),
        task_type=project.task_type,
    )
    if form.is_valid():
        try:
            annotation_submit(
                actor=request.user,
                item=item,
                value=form.cleaned_data["value"],
                lead_time_ms=form.cleaned_data["lead_time_ms"],
                prediction_id=form.cleaned_data["prediction_id"],
                suggestion_rejected=form.cleaned_data["suggestion_rejected"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return _next_or_page(request, project)
    return _item_response(request, project, item, form)


@never_cache
@require_POST
@login_required
def item_skip_view(request, project_id: int, item_id: int):
    item, project = _item_to_label(request, project_id, item_id)
    form = ItemSkipForm(request.POST)
    if form.is_valid():
        try:
            item_skip(actor=request.user, item=item, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return _next_or_page(request, project)
    return _item_response(request, project, item, form)
