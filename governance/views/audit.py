"""The audit trail for auditors: filtered keyset pages, CSV export and chain verification."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from common.http import BAD_REQUEST
from common.streaming import attachment_response
from governance.access import access_audit_trail
from governance.forms import AuditEventFilterForm
from governance.selectors.audit import (
    PAGE_SIZE,
    audit_event_page,
    audit_verification_get,
    audit_verification_latest,
    project_names,
)
from governance.services.audit_trail import audit_events_export, audit_verification_request


def _filter_query(form: AuditEventFilterForm) -> str:
    """The active filters as a query string, without ``before``, for the next-page and export links."""
    query = form.data.copy()
    query.pop("before", None)
    return query.urlencode()


@never_cache
@require_GET
@login_required
def audit_event_list_view(request):
    access_audit_trail(user=request.user)
    form = AuditEventFilterForm(request.GET)
    context = {"form": form, "verification": audit_verification_latest(), "page_size": PAGE_SIZE}
    if not form.is_valid():
        return render(request, "governance/audit_events.html", context, status=BAD_REQUEST)
    page = audit_event_page(filters=form.filters(), before=form.cleaned_data["before"])
    names = project_names(project_ids=(event.project_id for event in page.events))
    context.update(
        page=page,
        rows=[(event, names.get(event.project_id)) for event in page.events],
        query=_filter_query(form),
        is_first_page=form.cleaned_data["before"] is None,
    )
    return render(request, "governance/audit_events.html", context)


@require_GET
@login_required
def audit_event_export_view(request):
    access_audit_trail(user=request.user)
    form = AuditEventFilterForm(request.GET)
    if not form.is_valid():
        context = {
            "form": form,
            "verification": audit_verification_latest(),
            "page_size": PAGE_SIZE,
        }
        return render(request, "governance/audit_events.html", context, status=BAD_REQUEST)
    return attachment_response(
        audit_events_export(actor=request.user, filters=form.filters()),
        content_type="text/csv",
        filename="audit-events.csv",
    )


@require_POST
@login_required
def audit_verify_view(request):
    access_audit_trail(user=request.user)
    verification = audit_verification_request(actor=request.user)
    if not request.htmx:
        return redirect("governance:audit-events")
    return render(request, "governance/partials/_verification.html", {"verification": verification})


@never_cache
@require_GET
@login_required
def audit_verification_view(request, verification_id: int):
    access_audit_trail(user=request.user)
    verification = audit_verification_get(verification_id=verification_id)
    return render(request, "governance/partials/_verification.html", {"verification": verification})
