"""The item browser: a project's items, filtered from the URL, a page at a time; bulk actions on the selection."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from annotation.forms.item_filters import ItemFilterForm
from annotation.models import ItemBulkJob
from annotation.selectors.browser import (
    COUNT_CAP,
    item_browse,
    item_browse_count,
)
from annotation.selectors.browser_page import item_browse_page
from annotation.services.item_bulk import BULK_ACTIONS, BulkAction, item_bulk_request
from annotation.services.reads import item_ids_read_record
from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from governance.access import access_project_items, access_project_with_perms
from governance.roles import Perm


def _filtered(request, project, perms):
    """The bound filter form and the matching items, or None where the filters are not valid."""
    form = ItemFilterForm(request.GET, project=project)
    if not form.is_valid():
        return form, None
    try:
        items = item_browse(project=project, user=request.user, perms=perms, filters=form.filters())
    except ValidationError as error:
        form_add_service_errors(form, error)
        return form, None
    return form, items


def _item_link(project_id: int):
    # One reverse() per page, not per row.
    base = reverse("annotation:item-detail", args=[project_id, 1])
    prefix = base[: base.rindex("/1/")]
    return lambda item_id: f"{prefix}/{item_id}/"


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@require_GET
@login_required
def items_view(request, project_id: int):
    """The table, or (for htmx) only its body, status and pager; each page is one audited read.

    The count comes after the rows, from items_count_view (htmx loads it): it may cost more than
    the page (bench/RESULTS.md), so the rows do not wait for it."""
    project, perms = access_project_items(user=request.user, project_id=project_id)
    form, items = _filtered(request, project, perms)
    context = {
        "project": project,
        "form": form,
        "perms": perms,
        "every_item": Perm.BROWSE_ITEMS in perms,
        "may_bulk": bool(_bulk_actions_for(perms)),
        "filters_query": _query_without(request, "after", "page_size", "count"),
        "query_without_after": _query_without(request, "after", "count"),
        "after": request.GET.get("after", ""),
    }
    status = 200
    if items is None:
        status = UNPROCESSABLE
        context.update(rows=[], count_url=None, next_after=None)
    else:
        page = item_browse_page(
            project=project, user=request.user, perms=perms, items=items,
            after=form.cursor(), page_size=form.rows_per_page(),
        )  # fmt: skip
        link = _item_link(project.pk)
        for row in page.rows:
            row.url = link(row.id)
        shown = [row.id for row in page.rows]
        item_ids_read_record(
            actor=request.user, project=project, item_ids=shown, via="browser.items"
        )
        count_url = reverse("annotation:items-count", args=[project.pk])
        context.update(
            rows=page.rows,
            count_url=f"{count_url}?{context['filters_query']}",
            next_after=page.next_after,
        )
        if request.GET.get("count") == "1":
            # Without JavaScript the count is asked for with the page (the "Count the matches" link).
            context.update(count=item_browse_count(items=items), count_cap_text=f"{COUNT_CAP:,}")
    # htmx swaps the table's body, count and pager; the filters in the table's head stay as typed.
    template = "annotation/partials/_item_results.html" if request.htmx else "annotation/items.html"
    return render(request, template, context, status=status)


@require_GET
@login_required
def items_count_view(request, project_id: int):
    """How many items the filters select, up to COUNT_CAP: the sentence the item browser loads
    after its rows. Reads no text, so no audited read; same scope as the page."""
    project, perms = access_project_items(user=request.user, project_id=project_id)
    form, items = _filtered(request, project, perms)
    if items is None:
        return render(
            request, "annotation/partials/_item_count.html", {"form": form}, status=UNPROCESSABLE
        )
    context = {
        "project": project,
        "count": item_browse_count(items=items),
        "count_cap_text": f"{COUNT_CAP:,}",
        "may_bulk": bool(_bulk_actions_for(perms)),
        "filters_query": _query_without(request, "after", "page_size"),
    }
    return render(request, "annotation/partials/_item_count.html", context)


def _bulk_actions_for(perms: frozenset[str]) -> list[BulkAction]:
    return [action for action in BULK_ACTIONS.values() if action.perm in perms]


@require_http_methods(["GET", "POST"])
@login_required
def items_bulk_view(request, project_id: int):
    """GET: how many items the filters select and what the user may do with them; POST: do it (a job)."""
    project, perms = access_project_with_perms(user=request.user, project_id=project_id)
    actions = _bulk_actions_for(perms)
    if not actions:
        raise PermissionDenied(gettext("Your role in this project allows no action on many items."))
    form, items = _filtered(request, project, perms)
    context = {
        "project": project,
        "form": form,
        "actions": actions,
        "filters_query": _query_without(request, "after", "page_size"),
        "count": item_browse_count(items=items) if items is not None else None,
        "error": "",
    }
    if request.method == "POST" and items is not None:
        action = BULK_ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            context["error"] = gettext("Choose one of the actions offered.")
        elif action.perm not in perms:
            raise PermissionDenied(gettext("Your role in this project does not allow this action."))
        elif request.POST.get("confirm") != "yes":
            context["error"] = gettext("Tick the confirmation box to go ahead.")
        else:
            try:
                job = item_bulk_request(
                    actor=request.user, project=project, action=action.name, items=items,
                    filters=form.filters(), name=request.POST.get("name", ""),
                )  # fmt: skip
            except ValidationError as error:
                context["error"] = " ".join(error.messages)
            else:
                url = reverse("annotation:item-bulk-job", args=[project.pk, job.pk])
                if request.htmx:
                    return HttpResponse(headers={"HX-Redirect": url})
                return redirect(url)
    status = UNPROCESSABLE if request.method == "POST" or items is None else 200
    return render(request, "annotation/items_bulk.html", context, status=status)


@require_GET
@login_required
def item_bulk_job_view(request, project_id: int, bulk_job_id: int):
    """A bulk job's progress (htmx polls the partial while it runs) and its outcome."""
    project, perms = access_project_with_perms(user=request.user, project_id=project_id)
    if not _bulk_actions_for(perms):
        raise PermissionDenied(gettext("Your role in this project allows no action on many items."))
    job = get_object_or_404(
        ItemBulkJob.objects.select_related("requested_by"), project=project, pk=bulk_job_id
    )
    context = {"project": project, "job": job, "action": BULK_ACTIONS[job.action]}
    template = (
        "annotation/partials/_item_bulk_job.html"
        if request.htmx
        else "annotation/items_bulk_job.html"
    )
    return render(request, template, context)
