"""Routes of training's pages, under a project, in three URL namespaces that config.urls includes:

- ``training``: the Models page, job cards, evaluation, comparison and pre-annotation (``urlpatterns``);
- ``active``: the active-learning page, the label-issue queue and similar items (``active_urlpatterns``);
- ``datasets``: the dataset-version pages (``dataset_urlpatterns``).
"""

from django.urls import path

from training.views import active, pages, preannotation
from training.views import datasets as dataset_views

app_name = "training"

project = "projects/<int:project_id>/"
models = project + "models/"
job = models + "jobs/<int:training_job_id>/"
version = models + "<int:model_version_id>/"

urlpatterns = [
    path(project + "preannotate/", preannotation.preannotation_start_view, name="preannotation-start"),
    path(
        project + "preannotate/<int:job_id>/",
        preannotation.preannotation_status_view,
        name="preannotation-status",
    ),
    path(models, pages.models_page_view, name="models"),
    path(models + "train/", pages.training_start_view, name="train"),
    path(models + "deactivate/", pages.model_deactivate_view, name="deactivate"),
    path(job, pages.training_job_view, name="job"),
    path(job + "cancel/", pages.training_job_cancel_view, name="job-cancel"),
    path(version, pages.model_version_view, name="version"),
    path(version + "activate/", pages.model_version_activate_view, name="version-activate"),
    path(version + "compare/", pages.model_version_compare_view, name="version-compare"),
]

loop = project + "active-learning/"
issues = project + "label-issues/"

active_urlpatterns = [
    path(loop, active.active_learning_view, name="page"),
    path(loop + "status/", active.active_learning_status_view, name="status"),
    path(loop + "settings/", active.active_learning_settings_view, name="settings"),
    path(loop + "refresh/", active.active_learning_refresh_view, name="refresh"),
    path(issues, active.label_issues_view, name="label-issues"),
    path(issues + "check/", active.label_issues_check_view, name="label-check"),
    path(issues + "<int:issue_id>/resolve/", active.label_issue_resolve_view, name="label-issue-resolve"),
    path(project + "items/<int:item_id>/similar/", active.similar_items_view, name="similar"),
]

dataset = project + "datasets/<int:version_id>/"

dataset_urlpatterns = [
    path(project + "datasets/", dataset_views.dataset_list_view, name="list"),
    path(project + "datasets/new/", dataset_views.dataset_create_view, name="create"),
    path(dataset, dataset_views.dataset_detail_view, name="detail"),
    path(dataset + "row/", dataset_views.dataset_row_view, name="row"),
    path(dataset + "diff/", dataset_views.dataset_diff_view, name="diff"),
    path(dataset + "export/", dataset_views.dataset_export_link_view, name="export"),
    path(dataset + "download/<str:signature>/", dataset_views.dataset_download_view, name="download"),
]
