"""Routes of the dataset-version pages, under a project."""

from django.urls import path

from training.views import datasets as views

app_name = "datasets"

version = "projects/<int:project_id>/datasets/<int:version_id>/"

urlpatterns = [
    path("projects/<int:project_id>/datasets/", views.dataset_list_view, name="list"),
    path("projects/<int:project_id>/datasets/new/", views.dataset_create_view, name="create"),
    path(version, views.dataset_detail_view, name="detail"),
    path(version + "row/", views.dataset_row_view, name="row"),
    path(version + "diff/", views.dataset_diff_view, name="diff"),
    path(version + "export/", views.dataset_export_link_view, name="export"),
    path(version + "download/<str:signature>/", views.dataset_download_view, name="download"),
]
