"""The SIEM sinks page for auditors: how far each sink has the audit trail, and its last error."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from governance.access import access_audit_trail
from governance.selectors.siem import audit_head_seq, siem_sink_states


@never_cache
@require_GET
@login_required
def audit_sink_list_view(request):
    access_audit_trail(user=request.user)
    context = {
        "sinks": siem_sink_states(),
        "head_seq": audit_head_seq(),
        "interval": settings.AUDIT_SIEM_INTERVAL_SECONDS,
    }
    return render(request, "governance/audit_sinks.html", context)
