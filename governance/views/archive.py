"""The audit archive page for auditors: the archive files, and an audited search of them by range and filters."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from common.http import BAD_REQUEST
from governance.access import access_audit_trail
from governance.forms import AuditArchiveSearchForm
from governance.selectors.audit import project_names
from governance.selectors.audit_archive import ArchiveSearch, archive_config, archive_list
from governance.services.audit_archive import audit_archive_search


@never_cache
@require_GET
@login_required
def audit_archive_view(request):
    access_audit_trail(user=request.user)
    form = AuditArchiveSearchForm(request.GET)
    context = {"form": form, "archives": archive_list(), "config": archive_config()}
    if not form.is_valid():
        return render(request, "governance/audit_archive.html", context, status=BAD_REQUEST)
    if form.searched:
        search = ArchiveSearch(
            seq_from=form.cleaned_data["seq_from"], seq_to=form.cleaned_data["seq_to"], filters=form.filters()
        )
        try:
            events, more = audit_archive_search(actor=request.user, search=search)
        except ValidationError as error:
            context["search_error"] = " ".join(error.messages)
        else:
            names = project_names(project_ids=(event.project_id for event in events))
            context.update(rows=[(event, names.get(event.project_id)) for event in events], more=more, limit=search.limit)
    return render(request, "governance/audit_archive.html", context)
