"""Review pages for what an import found: personal data in its sentence, near-duplicate groups side by side."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from annotation.forms import PiiFindingReviewForm
from annotation.models import Item, PiiFinding, PiiFindingStatus
from annotation.selectors.findings import (
    duplicate_group_page,
    neardup_jobs_active,
    pii_finding_page,
)
from annotation.services.import_policies import (
    item_pii_reveal,
    pii_finding_review,
    pii_findings_review,
)
from annotation.services.reads import items_read_record
from common.http import UNPROCESSABLE
from governance.access import access_project
from governance.pii import ENTITIES
from governance.roles import Perm

# The filters a review form carries back, so a decision returns to the page it was made on.
_KEPT_FILTERS = ("status", "entity", "after", "before")


class PiiFindingFilterForm(forms.Form):
    """The findings page's filters and keyset position, all from the query string."""

    status = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("All")), *PiiFindingStatus.choices],
        label=gettext_lazy("Status"),
    )
    entity = forms.CharField(required=False, max_length=40, label=gettext_lazy("Kind"))
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, data: QueryDict):
        # No status in the URL: the findings still to review.
        if "status" not in data:
            data = data.copy()
            data["status"] = PiiFindingStatus.PENDING
        super().__init__(data)


class _IdsField(forms.Field):
    """Ids posted under one name, as many times as there are (checkboxes)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        try:
            return [int(one) for one in value or []]
        except (TypeError, ValueError):
            raise ValidationError(
                _("Finding ids are whole numbers; this request sent %(value)s.")
                % {"value": ", ".join(map(str, value))}
            ) from None


class PiiFindingsReviewForm(PiiFindingReviewForm):
    """Several findings and one decision for all of them; the service says which ids are unknown."""

    finding = _IdsField(required=False)


def _filters_query(data: QueryDict) -> str:
    """The page's filters and position as a query string; an empty status (all) is kept as such."""
    kept = QueryDict(mutable=True)
    for name in _KEPT_FILTERS:
        if data.get(name) or (name == "status" and name in data):
            kept[name] = data[name]
    return kept.urlencode()


def _posted_filters(data: QueryDict) -> str:
    """The filters a review form carried (see _KEPT_FILTERS), nothing else from them."""
    return _filters_query(QueryDict(data.get("filters", "")))


def _back_to_page(project, data: QueryDict):
    url = reverse("annotation:pii-findings", args=[project.pk])
    query = _posted_filters(data)
    return redirect(f"{url}?{query}" if query else url)


@require_GET
@login_required
def pii_findings_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    filters = PiiFindingFilterForm(request.GET)
    context = {
        "project": project,
        "filters": filters,
        "entities": ENTITIES,
        "filters_query": _filters_query(request.GET),
    }
    if not filters.is_valid():
        return render(request, "annotation/pii_review.html", context, status=400)
    data = filters.cleaned_data
    if data["entity"] and data["entity"] not in ENTITIES:  # a kind an earlier release named
        context["entities"] = (*ENTITIES, data["entity"])
    page = pii_finding_page(
        project=project,
        status=data["status"],
        entity=data["entity"],
        after=data["after"],
        before=data["before"],
    )
    # The sentences shown are item text: one read event names every item on the page.
    items_read_record(actor=request.user, project=project, items=page.items, via="pii.page")
    base = {"status": data["status"], **({"entity": data["entity"]} if data["entity"] else {})}
    context.update(page=page, base_query=urlencode(base))
    return render(request, "annotation/pii_review.html", context)


@require_POST
@login_required
def pii_finding_review_view(request, project_id: int, finding_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    finding = get_object_or_404(PiiFinding, project=project, pk=finding_id)
    form = PiiFindingReviewForm(request.POST)
    if not form.is_valid():
        return HttpResponse(" ".join(form.errors.get("status", [])), status=UNPROCESSABLE)
    finding = pii_finding_review(
        actor=request.user, finding=finding, status=form.cleaned_data["status"]
    )
    if request.htmx:
        return render(
            request,
            "annotation/partials/_pii_finding_state.html",
            {
                "project": project,
                "finding": finding,
                "filters_query": _posted_filters(request.POST),
            },
        )
    return _back_to_page(project, request.POST)


@require_POST
@login_required
def pii_findings_review_view(request, project_id: int):
    """Confirm or dismiss the selected findings in one request (one audit event)."""
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    form = PiiFindingsReviewForm(request.POST)
    error = None
    if form.is_valid():
        ids, status = form.cleaned_data["finding"], form.cleaned_data["status"]
        try:
            count = pii_findings_review(
                actor=request.user, project=project, finding_ids=ids, status=status
            )
        except ValidationError as failure:
            error = " ".join(
                message for messages in failure.message_dict.values() for message in messages
            )
    else:
        error = " ".join(message for messages in form.errors.values() for message in messages)
    if error:
        if request.htmx:
            return render(
                request,
                "annotation/partials/_pii_bulk_result.html",
                {"error": error},
                status=UNPROCESSABLE,
            )
        return HttpResponse(error, status=UNPROCESSABLE, content_type="text/plain; charset=utf-8")
    if not request.htmx:
        return _back_to_page(project, request.POST)
    findings = PiiFinding.objects.filter(project=project, pk__in=ids).select_related("reviewed_by")
    if status == PiiFindingStatus.CONFIRMED:
        message = ngettext("%(count)d finding confirmed.", "%(count)d findings confirmed.", count)
    else:
        message = ngettext("%(count)d finding dismissed.", "%(count)d findings dismissed.", count)
    return render(
        request,
        "annotation/partials/_pii_bulk_result.html",
        {
            "project": project,
            "findings": findings,
            "message": message % {"count": count},
            "filters_query": _posted_filters(request.POST),
        },
    )


@require_POST
@login_required
def item_pii_reveal_view(request, project_id: int, item_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.MANAGE_MEMBERS)
    item = get_object_or_404(Item.objects.select_related("project"), project=project, pk=item_id)
    try:
        text = item_pii_reveal(actor=request.user, item=item)
    except PermissionError as error:
        raise PermissionDenied(str(error)) from None
    return render(request, "annotation/partials/_import_reveal.html", {"item": item, "text": text})


class DuplicatePageForm(forms.Form):
    after = forms.IntegerField(required=False, min_value=0)
    before = forms.IntegerField(required=False, min_value=1)


@require_GET
@login_required
def duplicates_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
    position = DuplicatePageForm(request.GET)
    # Imports whose near-duplicate pass has not ended yet: their groups may still grow.
    context = {"project": project, "position": position,
               "passes": list(neardup_jobs_active(project=project).select_related("import_job"))}
    if not position.is_valid():
        return render(request, "annotation/duplicates.html", context, status=400)
    page = duplicate_group_page(project=project, **position.cleaned_data)
    items_read_record(actor=request.user, project=project, items=page.items, via="duplicates.page")
    return render(request, "annotation/duplicates.html", {**context, "page": page})
