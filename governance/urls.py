"""Routes of the governance pages (mounted at /governance/): the audit trail, roles, Jobs, People and password pages."""

from django.urls import path

from governance.views import (
    accounts,
    archive,
    audit,
    checkpoints,
    jobs,
    key_versions,
    keys,
    members,
    roles,
    siem,
)

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
    path("audit/sinks/", siem.audit_sink_list_view, name="audit-sinks"),
    path("audit/archive/", archive.audit_archive_view, name="audit-archive"),
    path("audit/checkpoints/", checkpoints.audit_checkpoint_list_view, name="audit-checkpoints"),
    path("audit/checkpoints/publish/", checkpoints.audit_checkpoint_publish_view, name="audit-checkpoint-publish"),
    path("jobs/", jobs.jobs_view, name="jobs"),
    path("jobs/reap/", jobs.jobs_reap_view, name="jobs-reap"),
    path("jobs/<str:job_kind>/<int:kind_job_id>/cancel/", jobs.job_cancel_view, name="job-cancel"),
    path("projects/<int:project_id>/jobs/", jobs.project_jobs_view, name="project-jobs"),
    path(
        "projects/<int:project_id>/jobs/<str:job_kind>/<int:kind_job_id>/cancel/",
        jobs.project_job_cancel_view,
        name="project-job-cancel",
    ),
    path("keys/", keys.keys_view, name="keys"),
    path("keys/master/", keys.master_key_change_view, name="master-key-change"),
    path("keys/project/", keys.project_key_change_view, name="project-key-change"),
    path("keys/rewrap/", keys.key_rewrap_view, name="key-rewrap"),
    path("keys/project/<int:project_id>/versions/", key_versions.key_versions_view, name="key-versions"),
    path(
        "keys/project/<int:project_id>/versions/change/",
        key_versions.key_version_change_view,
        name="key-version-change",
    ),
    path("roles/", roles.role_overview_view, name="roles"),
    path("roles/global/", roles.global_role_set_view, name="global-role-set"),
    # People (admins) and the password pages: one's own change, and where a set-password link leads.
    path("users/", accounts.user_list_view, name="users"),
    path("users/new/", accounts.user_create_view, name="user-create"),
    path("users/<int:user_id>/", accounts.user_detail_view, name="user-detail"),
    path("users/<int:user_id>/deactivate/", accounts.user_deactivate_view, name="user-deactivate"),
    path("users/<int:user_id>/reactivate/", accounts.user_reactivate_view, name="user-reactivate"),
    path("users/<int:user_id>/password-reset/", accounts.user_password_reset_view, name="user-password-reset"),
    path("password/change/", accounts.password_change_view, name="password-change"),
    path("password/set/", accounts.password_set_view, name="password-set"),
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
