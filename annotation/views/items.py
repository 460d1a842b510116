"""The item page: one item's text, answers, history, suggestions and near duplicates, and its actions."""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from annotation.models import Annotation, FinalAnnotation, Item, PiiFinding, Prediction, Review
from annotation.selectors.findings import findings_in_stored_text
from annotation.selectors.history import item_history
from annotation.services.items import (
    item_delete,
    item_gold_clear,
    item_gold_set,
    item_reopen,
    item_review_request,
    item_text_update,
)
from annotation.services.reads import items_read_record
from annotation.views.gold import GoldItemForm
from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from common.text_marks import text_diff, text_marked
from governance.access import access_item, access_project_with_perms
from governance.audit import AuditAction
from governance.roles import Perm
from projects.models import TaskType

NEAR_DUPLICATES_SHOWN = 10
# What the scan leaves in a masked or pseudonymised text: "[EMAIL]", "<EMAIL_0123456789abcdef>".


class ItemTextForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Text"), strip=False, widget=forms.Textarea(attrs={"rows": 6})
    )


class ItemGoldForm(GoldItemForm):
    """The gold page's answer fields, for the item this page shows (no item field)."""

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, project=project, **kwargs)
        del self.fields["item"]


class ItemDeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand the item and its answers are deleted for good."),
        error_messages={"required": gettext_lazy("Tick the box to confirm the deletion.")},
    )


def _spans(value: dict | None) -> list[tuple[int, int, str]]:
    return [(span["start"], span["end"], span["label"]) for span in (value or {}).get("spans", [])]


def _answer(item: Item, value: dict | None) -> dict:
    """An answer as labels, or as the text with its spans marked (clipped where they no longer fit)."""
    value = value or {}
    if "spans" in value:
        return {"segments": text_marked(item.text, _spans(value)), "spans": value["spans"]}
    return {"labels": value.get("labels", [])}


def _finding_marks(item: Item, findings: list[PiiFinding]) -> list[tuple[int, int, str]]:
    """Where the findings are in the stored text (the tag or token that replaced a masked or
    pseudonymised value, never the value); a finding that no longer fits is not marked."""
    placed = findings_in_stored_text(item.text, findings)
    return [(*placed[finding.pk], finding.entity) for finding in findings if finding.pk in placed]


def _action_label(action: str) -> str:
    try:
        return str(AuditAction(action).label)
    except ValueError:  # stored under a name since renamed
        return action


def _context(request, project, perms, item: Item, forms_bound: dict | None = None) -> dict:
    may_browse = Perm.BROWSE_ITEMS in perms
    may_see_answers = Perm.VIEW_ANNOTATIONS in perms
    may_change = Perm.CHANGE_PROJECT in perms
    answers = (
        Annotation.objects.filter(item=item)
        .select_related("annotator", "prediction")
        .order_by("id")
    )
    if not may_see_answers:
        answers = answers.filter(annotator=request.user)
    answers = list(answers)
    reviews = {
        review.annotation_id: review
        for review in Review.objects.filter(annotation__in=answers).select_related("reviewer")
    }
    shown_items = [item]
    duplicates = []
    if may_browse:
        others = []
        if item.duplicate_of_id is not None:
            keeper = Item.objects.filter(pk=item.duplicate_of_id).select_related("project").first()
            if keeper is not None:
                others.append((keeper, _("Kept item of its near-duplicate group")))
        linked = item.near_duplicates.select_related("project").order_by("id")[
            :NEAR_DUPLICATES_SHOWN
        ]
        others += [(other, _("Near duplicate")) for other in linked]
        for other, role in others:
            mine, theirs = text_diff(item.text, other.text)
            duplicates.append({"item": other, "role": role, "mine": mine, "theirs": theirs})
            shown_items.append(other)
    # Everything on the page that quotes a text (this item's and its near duplicates') in one read.
    items_read_record(actor=request.user, project=project, items=shown_items, via="item.page")
    findings = (
        list(PiiFinding.objects.filter(item=item).order_by("start"))
        if Perm.IMPORT_ITEMS in perms
        else []
    )
    final = (
        FinalAnnotation.objects.filter(item=item).select_related("decided_by").first()
        if may_see_answers
        else None
    )
    predictions = []
    if may_browse:
        predictions = [
            {"prediction": prediction, "answer": _answer(item, prediction.value)}
            for prediction in Prediction.objects.filter(item=item).order_by("-created_at", "-id")
        ]
    history = (
        item_history(item=item, annotation_ids=[answer.pk for answer in answers])
        if may_browse
        else []
    )
    bound = forms_bound or {}
    gold_initial = {}
    source_value = item.gold_value if item.is_gold else (final.value if final else None)
    if source_value and "labels" in source_value:
        labels = source_value["labels"]
        gold_initial = {
            "labels": labels if project.task_type == TaskType.MULTI_LABEL else (labels or [""])[0]
        }
    elif source_value and "spans" in source_value:
        gold_initial = {"spans": json.dumps(source_value["spans"])}
    return {
        "project": project,
        "item": item,
        "perms": perms,
        "may_browse": may_browse,
        "may_change": may_change,
        "may_request_review": Perm.REVIEW in perms,
        "may_see_answers": may_see_answers,
        "text_segments": text_marked(item.text, _finding_marks(item, findings)),
        "findings": findings,
        "answers": [
            {
                "annotation": answer,
                "answer": _answer(item, answer.value),
                "older_text": answer.text_revision < item.text_revision,
                "review": reviews.get(answer.pk),
            }
            for answer in answers
        ],
        "history": [{"event": event, "label": _action_label(event.action)} for event in history],
        "predictions": predictions,
        "final": final,
        "final_answer": _answer(item, final.value) if final else None,
        "gold_answer": _answer(item, item.gold_value) if may_change and item.is_gold else None,
        "duplicates": duplicates,
        "text_form": bound.get("text") or ItemTextForm(initial={"text": item.text}),
        "gold_form": bound.get("gold") or ItemGoldForm(project=project, initial=gold_initial),
        "delete_form": bound.get("delete") or ItemDeleteForm(),
    }


def _item_for(request, project_id: int, item_id: int, perm: str):
    project, perms = access_project_with_perms(user=request.user, project_id=project_id, perm=perm)
    item = access_item(user=request.user, project=project, item_id=item_id, perms=perms)
    return project, perms, item


def _page(request, project, perms, item, *, bound=None, status=200):
    return render(
        request,
        "annotation/item_detail.html",
        _context(request, project, perms, item, bound),
        status=status,
    )


@never_cache
@require_GET
@login_required
def item_detail_view(request, project_id: int, item_id: int):
    # Members who browse items see any item; annotators only those the queue handed them (access_item).
    project, perms, item = _item_for(request, project_id, item_id, Perm.VIEW_PROJECT)
    return _page(request, project, perms, item)


def _back(project, item):
    return redirect("annotation:item-detail", project_id=project.pk, item_id=item.pk)


@require_POST
@login_required
def item_text_update_view(request, project_id: int, item_id: int):
    project, perms, item = _item_for(request, project_id, item_id, Perm.CHANGE_PROJECT)
    form = ItemTextForm(request.POST)
    if form.is_valid():
        try:
            item_text_update(actor=request.user, item=item, text=form.cleaned_data["text"])
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "The text is saved; it is being scanned for personal data. Earlier answers are marked as made on an older text."
                ),
            )
            return _back(project, item)
    return _page(request, project, perms, item, bound={"text": form}, status=UNPROCESSABLE)


@require_POST
@login_required
def item_delete_view(request, project_id: int, item_id: int):
    project, perms, item = _item_for(request, project_id, item_id, Perm.CHANGE_PROJECT)
    form = ItemDeleteForm(request.POST)
    if form.is_valid():
        try:
            item_delete(actor=request.user, item=item)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request, _("Item %(item)s is deleted.") % {"item": item.external_id or item.pk}
            )
            return redirect("annotation:project-detail", project_id=project.pk)
    return _page(request, project, perms, item, bound={"delete": form}, status=UNPROCESSABLE)


@require_POST
@login_required
def item_gold_view(request, project_id: int, item_id: int):
    """Mark the item as gold with the answer given, or (``clear``) return it to the ordinary queue."""
    project, perms, item = _item_for(request, project_id, item_id, Perm.CHANGE_PROJECT)
    if request.POST.get("clear"):
        try:
            item_gold_clear(actor=request.user, item=item)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, _("The item is no longer gold; it is back in the ordinary queue.")
            )
        return _back(project, item)
    form = ItemGoldForm(request.POST, project=project)
    if form.is_valid():
        try:
            item_gold_set(actor=request.user, item=item, value=form.value())
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("The item is a gold item now."))
            return _back(project, item)
    return _page(request, project, perms, item, bound={"gold": form}, status=UNPROCESSABLE)


def _simple_action(request, project_id, item_id, perm, service, done: str):
    project, perms, item = _item_for(request, project_id, item_id, perm)
    try:
        service(actor=request.user, item=item)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return _back(project, item)


@require_POST
@login_required
def item_review_request_view(request, project_id: int, item_id: int):
    return _simple_action(
        request,
        project_id,
        item_id,
        Perm.REVIEW,
        item_review_request,
        _("The item waits for a reviewer now."),
    )


@require_POST
@login_required
def item_reopen_view(request, project_id: int, item_id: int):
    return _simple_action(
        request,
        project_id,
        item_id,
        Perm.CHANGE_PROJECT,
        item_reopen,
        _("The item is open again; its answers went back to their annotators."),
    )
