"""Routes of the HTML app: pages and the htmx partials they swap in."""

from django.urls import path, re_path

from annotation.views import data, labelling, members, projects, reviews

app_name = "annotation"

urlpatterns = [
    path("", projects.project_list_view, name="project-list"),
    path("projects/new/", projects.project_create_view, name="project-create"),
    path("projects/<int:project_id>/", projects.project_detail_view, name="project-detail"),
    path("projects/<int:project_id>/settings/", projects.project_settings_view, name="project-settings"),
    path("projects/<int:project_id>/labels/", projects.label_create_view, name="label-create"),
    path(
        "projects/<int:project_id>/labels/<int:label_id>/",
        projects.label_update_view,
        name="label-update",
    ),
    path("projects/<int:project_id>/members/", members.member_list_view, name="members"),
    path("projects/<int:project_id>/members/set/", members.member_set_view, name="member-set"),
    path(
        "projects/<int:project_id>/members/<int:user_id>/remove/",
        members.member_remove_view,
        name="member-remove",
    ),
    path("projects/<int:project_id>/import/", data.items_import_view, name="items-import"),
    re_path(
        r"^projects/(?P<project_id>[0-9]+)/export\.(?P<fmt>jsonl|csv)$",
        data.annotations_export_view,
        name="annotations-export",
    ),
    path(
        "projects/<int:project_id>/preannotate/",
        data.preannotation_start_view,
        name="preannotation-start",
    ),
    path(
        "projects/<int:project_id>/preannotate/<int:job_id>/",
        data.preannotation_status_view,
        name="preannotation-status",
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
    path("projects/<int:project_id>/review/", reviews.review_page_view, name="review"),
    path("projects/<int:project_id>/review/next/", reviews.review_next_view, name="review-next"),
    path(
        "projects/<int:project_id>/review/items/<int:item_id>/",
        reviews.review_item_view,
        name="review-item",
    ),
]
