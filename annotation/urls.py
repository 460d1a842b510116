"""Routes of the HTML app: pages and the htmx partials they swap in."""

from django.urls import path, re_path

from annotation.views import browser as item_browser
from annotation.views import (
    data,
    exports,
    findings,
    gold,
    labelling,
    lifecycle,
    projects,
    quality,
    retention,
    reviews,
)
from annotation.views import items as item_page

app_name = "annotation"

urlpatterns = [
    path("", projects.project_list_view, name="project-list"),
    path("projects/new/", projects.project_create_view, name="project-create"),
    path("projects/<int:project_id>/", projects.project_detail_view, name="project-detail"),
    path("projects/<int:project_id>/settings/", projects.project_settings_view, name="project-settings"),
    path("projects/<int:project_id>/archive/", lifecycle.project_archive_view, name="project-archive"),
    path("projects/<int:project_id>/unarchive/", lifecycle.project_unarchive_view, name="project-unarchive"),
    path("projects/<int:project_id>/delete/", lifecycle.project_delete_view, name="project-delete"),
    path("projects/<int:project_id>/labels/", projects.label_create_view, name="label-create"),
    path(
        "projects/<int:project_id>/labels/<int:label_id>/",
        projects.label_update_view,
        name="label-update",
    ),
    path("projects/<int:project_id>/import/", data.items_import_view, name="items-import"),
    path("projects/<int:project_id>/imports/", data.imports_page_view, name="imports"),
    path("projects/<int:project_id>/imports/new/", data.import_job_create_view, name="import-job-create"),
    path("projects/<int:project_id>/imports/policy/", data.import_policy_view, name="import-policy"),
    path("projects/<int:project_id>/imports/<int:import_job_id>/", data.import_job_view, name="import-job"),
    path(
        "projects/<int:project_id>/imports/<int:import_job_id>/report.csv",
        data.import_job_report_view,
        name="import-job-report",
    ),
    path("projects/<int:project_id>/items/", item_browser.items_view, name="items"),
    path("projects/<int:project_id>/items/count/", item_browser.items_count_view, name="items-count"),
    path("projects/<int:project_id>/items/bulk/", item_browser.items_bulk_view, name="items-bulk"),
    path(
        "projects/<int:project_id>/items/bulk/<int:bulk_job_id>/",
        item_browser.item_bulk_job_view,
        name="item-bulk-job",
    ),
    path("projects/<int:project_id>/items/<int:item_id>/", item_page.item_detail_view, name="item-detail"),
    path(
        "projects/<int:project_id>/items/<int:item_id>/text/",
        item_page.item_text_update_view,
        name="item-text-update",
    ),
    path("projects/<int:project_id>/items/<int:item_id>/delete/", item_page.item_delete_view, name="item-delete"),
    path("projects/<int:project_id>/items/<int:item_id>/gold/", item_page.item_gold_view, name="item-gold"),
    path(
        "projects/<int:project_id>/items/<int:item_id>/review-request/",
        item_page.item_review_request_view,
        name="item-review-request",
    ),
    path("projects/<int:project_id>/items/<int:item_id>/reopen/", item_page.item_reopen_view, name="item-reopen"),
    path("projects/<int:project_id>/sources/", data.data_source_create_view, name="data-source-create"),
    path("projects/<int:project_id>/pii/", findings.pii_findings_view, name="pii-findings"),
    path("projects/<int:project_id>/pii/review/", findings.pii_findings_review_view, name="pii-findings-review"),
    path(
        "projects/<int:project_id>/pii/<int:finding_id>/",
        findings.pii_finding_review_view,
        name="pii-finding-review",
    ),
    path("projects/<int:project_id>/duplicates/", findings.duplicates_view, name="duplicates"),
    path("projects/<int:project_id>/items/<int:item_id>/reveal/", findings.item_pii_reveal_view, name="item-pii-reveal"),
    path("projects/<int:project_id>/exports/new/", exports.export_job_create_view, name="export-job-create"),
    path("projects/<int:project_id>/exports/<int:export_id>/", exports.export_job_view, name="export-job"),
    re_path(
        r"^projects/(?P<project_id>[0-9]+)/export\.(?P<fmt>jsonl|csv)$",
        data.annotations_export_view,
        name="annotations-export",
    ),
    path("projects/<int:project_id>/label/", labelling.label_page_view, name="label"),
    path("projects/<int:project_id>/label/next/", labelling.label_next_view, name="label-next"),
    path(
        "projects/<int:project_id>/label/items/<int:item_id>/",
        labelling.label_item_view,
        name="label-item",
    ),
    path(
        "projects/<int:project_id>/label/items/<int:item_id>/submit/",
        labelling.annotation_submit_view,
        name="annotation-submit",
    ),
    path(
        "projects/<int:project_id>/label/items/<int:item_id>/skip/",
        labelling.item_skip_view,
        name="item-skip",
    ),
    path("projects/<int:project_id>/quality/", quality.quality_view, name="quality"),
    path("projects/<int:project_id>/gold/", gold.gold_page_view, name="gold"),
    path("projects/<int:project_id>/gold/set/", gold.gold_set_view, name="gold-set"),
    path(
        "projects/<int:project_id>/gold/<int:item_id>/promote/",
        gold.gold_promote_view,
        name="gold-promote",
    ),
    path(
        "projects/<int:project_id>/gold/<int:item_id>/clear/",
        gold.gold_clear_view,
        name="gold-clear",
    ),
    path("projects/<int:project_id>/review/", reviews.review_page_view, name="review"),
    path("projects/<int:project_id>/review/next/", reviews.review_next_view, name="review-next"),
    path(
        "projects/<int:project_id>/review/items/<int:item_id>/",
        reviews.review_item_view,
        name="review-item",
    ),
    # Under /governance/, as before these pages moved here from the governance app.
    path("governance/erasure/", retention.erasure_request_list_view, name="erasure-requests"),
    path(
        "governance/projects/<int:project_id>/retention/",
        retention.project_retention_view,
        name="project-retention",
    ),
    path(
        "governance/projects/<int:project_id>/retention/run/",
        retention.project_retention_run_view,
        name="project-retention-run",
    ),
]
