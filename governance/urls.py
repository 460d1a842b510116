"""Routes of the governance pages (mounted at /governance/): the audit trail and the roles overview."""

from django.urls import path

from governance.views import audit, roles

app_name = "governance"

urlpatterns = [
    path("audit/", audit.audit_event_list_view, name="audit-events"),
    path("audit/export.csv", audit.audit_event_export_view, name="audit-export"),
    path("audit/verify/", audit.audit_verify_view, name="audit-verify"),
    path(
        "audit/verify/<int:verification_id>/",
        audit.audit_verification_view,
        name="audit-verification",
    ),
    path("roles/", roles.role_overview_view, name="roles"),
    path("roles/global/", roles.global_role_set_view, name="global-role-set"),
]
