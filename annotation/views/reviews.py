"""The review stream: a reviewer sees every annotation of an item and decides its final answer."""

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from annotation.forms import ReviewForm
from annotation.models import Item
from annotation.selectors import item_review_context, review_progress
from annotation.services.reads import items_read_record
from annotation.services.reviews import (
    majority_value,
    review_next_item,
    review_reject,
    review_resolve,
)
from annotation.views.labelling import LABEL_FILTER_FROM
from common.forms import form_add_service_errors, form_error_messages
from common.http import UNPROCESSABLE
from governance.access import access_item, access_project, access_project_with_perms
from governance.roles import Perm
from projects.models import Project, TaskType


def _review_context(project: Project, item: Item | None, form=None) -> dict:
    context = {
        "project": project,
        "item": item,
        "is_multi": project.task_type == TaskType.MULTI_LABEL,
        "is_spans": project.task_type == TaskType.SPANS,
        "progress": review_progress(project=project),
        "errors": form_error_messages(form) if form is not None else [],
    }
    if item is None:
        return context
    details = item_review_context(item=item)
    proposal = details.final.value if details.final else majority_value(details.annotations) or {}
    if form is not None and form.data.get("decision") == "resolve":
        chosen = set(form.data.getlist("label"))
    else:
        chosen = set(proposal.get("labels", []))
    labels = [(label, label.name in chosen) for label in project.labels.all()]
    context.update(
        annotations=details.annotations,
        final=details.final,
        labels=labels,
        label_filter=not context["is_spans"] and len(labels) >= LABEL_FILTER_FROM,
        span_choices=details.span_choices(proposal),
        proposal_json=json.dumps(proposal),
        comment=form.data.get("comment", "") if form is not None else "",
    )
    return context


def _review_response(request, project, item, form=None):
    status = UNPROCESSABLE if form is not None and form.errors else 200
    template = "annotation/partials/_review_item.html" if request.htmx else "annotation/review.html"
    return render(request, template, _review_context(project, item, form), status=status)


@never_cache
@require_GET
@login_required
def review_page_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.REVIEW)
    item = review_next_item(actor=request.user, project=project)
    return render(request, "annotation/review.html", _review_context(project, item))


@never_cache
@require_GET
@login_required
def review_next_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.REVIEW)
    return _review_response(request, project, review_next_item(actor=request.user, project=project))


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def review_item_view(request, project_id: int, item_id: int):
    """GET: review this item (also one already decided, to change the decision); POST: decide it."""
    project, perms = access_project_with_perms(user=request.user, project_id=project_id, perm=Perm.REVIEW)
    # Through the gate before the form is read: the errors shown below come with the item's text.
    item = access_item(user=request.user, project=project, item_id=item_id, perms=perms)
    if request.method == "GET":
        items_read_record(actor=request.user, project=project, items=[item], via="review")
        return _review_response(request, project, item)
    form = ReviewForm(
        request.POST,
        label_names=list(project.labels.values_list("name", flat=True)),
        task_type=project.task_type,
    )
    if form.is_valid():
        try:
            if form.cleaned_data["decision"] == "resolve":
                review_resolve(
                    actor=request.user, item=item, value=form.cleaned_data["value"], comment=form.cleaned_data["comment"]
                )
            else:
                review_reject(actor=request.user, item=item, comment=form.cleaned_data["comment"])
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            if not request.htmx:
                return redirect("annotation:review", project_id=project.pk)
            return _review_response(request, project, review_next_item(actor=request.user, project=project))
    # The decision form shown again with its errors shows the item's text again: recorded as a read.
    items_read_record(actor=request.user, project=project, items=[item], via="review.form")
    return _review_response(request, project, item, form)
