"""Routes of the governance pages (mounted at /governance/): the audit trail, the roles overview and the Jobs pages."""

from django.urls import path

from governance.views import audit, jobs, members, roles

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
    path("jobs/", jobs.jobs_view, name="jobs"),
    path("jobs/<str:job_kind>/<int:kind_job_id>/cancel/", jobs.job_cancel_view, name="job-cancel"),
    path("projects/<int:project_id>/jobs/", jobs.project_jobs_view, name="project-jobs"),
    path(
        "projects/<int:project_id>/jobs/<str:job_kind>/<int:kind_job_id>/cancel/",
        jobs.project_job_cancel_view,
        name="project-job-cancel",
    ),
    path("roles/", roles.role_overview_view, name="roles"),
    path("roles/global/", roles.global_role_set_view, name="global-role-set"),
]

# Included by config.urls at the root in the ``members`` namespace: a project's members page.
member_urlpatterns = [
    path("projects/<int:project_id>/members/", members.member_list_view, name="list"),
    path("projects/<int:project_id>/members/set/", members.member_set_view, name="set"),
    path(
        "projects/<int:project_id>/members/<int:user_id>/remove/",
        members.member_remove_view,
        name="remove",
    ),
]
