"""The gold items page: list gold items, mark one by id or external id, promote a final answer, remove gold."""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from annotation.models import FinalAnnotation, Item
from annotation.quality.gold import gold_candidates, gold_item_list, item_by_reference
from annotation.services.gold import item_gold_clear, item_gold_set
from annotation.services.reads import items_read_record
from annotation.views.quality import percent_text
from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from governance.access import access_project
from governance.roles import Perm
from projects.models import TaskType

GOLD_PAGE_SIZE = 50
EXCERPT_CHARS = 120


class GoldItemForm(forms.Form):
    """Which item (id or external id) and its known answer, in the shape the project's task needs."""

    item = forms.CharField(label=gettext_lazy("Item id or external id"), max_length=255)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        names = [(name, name) for name in project.labels.values_list("name", flat=True)]
        if project.task_type == TaskType.SPANS:
            self.fields["spans"] = forms.CharField(
                label=gettext_lazy("Spans (JSON)"),
                help_text=gettext_lazy(
                    'Character offsets, e.g. [{"start": 0, "end": 5, "label": "PER"}].'
                ),
                widget=forms.Textarea(attrs={"rows": 3}),
            )
        elif project.task_type == TaskType.MULTI_LABEL:
            self.fields["labels"] = forms.MultipleChoiceField(
                label=gettext_lazy("Answer"),
                choices=names,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
        else:
            self.fields["labels"] = forms.ChoiceField(
                label=gettext_lazy("Answer"), choices=names, widget=forms.RadioSelect
            )

    def clean_item(self) -> Item:
        reference = self.cleaned_data["item"]
        item = item_by_reference(project=self.project, reference=reference)
        if item is None:
            raise ValidationError(
                _("This project has no item with the id or external id “%(reference)s”.")
                % {"reference": reference}
            )
        return item

    def clean_spans(self) -> list:
        try:
            spans = json.loads(self.cleaned_data["spans"])
        except json.JSONDecodeError as error:
            raise ValidationError(
                _("The spans are not valid JSON (line %(line)d, column %(column)d): %(problem)s")
                % {"line": error.lineno, "column": error.colno, "problem": error.msg}
            ) from None
        if isinstance(spans, dict):
            spans = spans.get("spans")
        if not isinstance(spans, list):
            raise ValidationError(
                _('Write the spans as a JSON list, e.g. [{"start": 0, "end": 5, "label": "PER"}].')
            )
        return spans

    def value(self) -> dict:
        if "spans" in self.cleaned_data:
            return {"spans": self.cleaned_data["spans"]}
        labels = self.cleaned_data["labels"]
        return {"labels": labels if isinstance(labels, list) else [labels]}


def _answer(item: Item, value: dict) -> list[str]:
    """An answer as short readable parts: label names, or each span's text with its label."""
    if "spans" in value:
        return [
            f"“{item.text[s['start'] : s['end']]}” {s['label']} ({s['start']}–{s['end']})"
            for s in value["spans"]
        ]
    return list(value.get("labels", ()))


def _excerpt(item: Item) -> str:
    text = item.text
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _gold_page(request, project, form=None, status=200):
    page = Paginator(gold_item_list(project=project), GOLD_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    candidates = gold_candidates(project=project)
    # The page shows excerpts of item text: one audited read naming every item on it.
    items_read_record(
        actor=request.user,
        project=project,
        items=[row.item for row in page] + [final.item for final in candidates],
        via="gold.page",
    )
    context = {
        "project": project,
        "form": form or GoldItemForm(project=project),
        "page": page,
        "gold": [
            {
                "row": row,
                "excerpt": _excerpt(row.item),
                "answer": _answer(row.item, row.value),
                "accuracy": percent_text(row.accuracy),
            }
            for row in page
        ],
        "candidates": [
            {
                "final": final,
                "excerpt": _excerpt(final.item),
                "answer": _answer(final.item, final.value),
            }
            for final in candidates
        ],
        "gold_rate": percent_text(project.gold_rate),
    }
    return render(request, "annotation/gold.html", context, status=status)


@require_GET
@login_required
def gold_page_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
    return _gold_page(request, project)


@require_POST
@login_required
def gold_set_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
    form = GoldItemForm(request.POST, project=project)
    if form.is_valid():
        item = form.cleaned_data["item"]
        try:
            item_gold_set(actor=request.user, item=item, value=form.value())
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Item %(item)s is now a gold item.") % {"item": item.external_id or item.pk},
            )
            return redirect("annotation:gold", project_id=project.pk)
    return _gold_page(request, project, form=form, status=UNPROCESSABLE)


@require_POST
@login_required
def gold_promote_view(request, project_id: int, item_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
    item = get_object_or_404(Item, pk=item_id, project=project)
    final = FinalAnnotation.objects.filter(item=item).first()
    name = item.external_id or item.pk
    if final is None:
        messages.error(request, _("Item %(item)s has no final answer to promote.") % {"item": name})
        return redirect("annotation:gold", project_id=project.pk)
    try:
        item_gold_set(actor=request.user, item=item, value=final.value)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Item %(item)s is now a gold item.") % {"item": name})
    return redirect("annotation:gold", project_id=project.pk)


@require_POST
@login_required
def gold_clear_view(request, project_id: int, item_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
    item = get_object_or_404(Item, pk=item_id, project=project)
    try:
        item_gold_clear(actor=request.user, item=item)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Item %(item)s is back in the ordinary queue.")
            % {"item": item.external_id or item.pk},
        )
    return redirect("annotation:gold", project_id=project.pk)
