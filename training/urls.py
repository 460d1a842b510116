"""Routes of the training pages (Models, job cards, evaluation, comparison), under a project."""

from django.urls import path

from training.views import pages

app_name = "training"

models = "projects/<int:project_id>/models/"
job = models + "jobs/<int:training_job_id>/"
version = models + "<int:model_version_id>/"

urlpatterns = [
    path(models, pages.models_page_view, name="models"),
    path(models + "train/", pages.training_start_view, name="train"),
    path(job, pages.training_job_view, name="job"),
    path(job + "cancel/", pages.training_job_cancel_view, name="job-cancel"),
    path(version, pages.model_version_view, name="version"),
    path(version + "activate/", pages.model_version_activate_view, name="version-activate"),
    path(version + "compare/", pages.model_version_compare_view, name="version-compare"),
]
