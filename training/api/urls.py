"""Routes of the training API, included by config.api_urls into the ``api`` namespace under /api/."""

from django.urls import path

from common.api import one_url
from training.api.active import (
    ActiveLearningDetailApi,
    ActiveLearningRefreshApi,
    ActiveLearningUpdateApi,
    LabelIssueCheckApi,
    LabelIssueListApi,
    LabelIssueResolveApi,
    SimilarItemsApi,
)
from training.api.datasets import (
    DatasetVersionCreateApi,
    DatasetVersionDetailApi,
    DatasetVersionDiffApi,
    DatasetVersionExportApi,
    DatasetVersionListApi,
)
from training.api.model_versions import (
    ModelDeactivateApi,
    ModelVersionActivateApi,
    ModelVersionCompareApi,
    ModelVersionDetailApi,
    ModelVersionListApi,
)
from training.api.preannotation import PreannotationJobDetailApi, PreannotationStartApi
from training.api.training_jobs import (
    TrainingJobCancelApi,
    TrainingJobDetailApi,
    TrainingJobListApi,
    TrainingJobStartApi,
)

project = "projects/<int:project_id>/"
job = project + "training-jobs/<int:training_job_id>/"
model = project + "models/<int:model_version_id>/"
dataset = project + "datasets/<int:version_id>/"

urlpatterns = [
    path(project + "preannotate/", PreannotationStartApi.as_view(), name="preannotate"),
    path(project + "preannotate/<int:job_id>/", PreannotationJobDetailApi.as_view(), name="preannotation-job"),
    path(project + "datasets/", one_url(DatasetVersionListApi, DatasetVersionCreateApi), name="dataset-versions"),
    path(dataset, DatasetVersionDetailApi.as_view(), name="dataset-version"),
    path(dataset + "diff/", DatasetVersionDiffApi.as_view(), name="dataset-version-diff"),
    path(dataset + "export/", DatasetVersionExportApi.as_view(), name="dataset-version-export"),
    path(project + "training-jobs/", one_url(TrainingJobListApi, TrainingJobStartApi), name="training-jobs"),
    path(job, TrainingJobDetailApi.as_view(), name="training-job"),
    path(job + "cancel/", TrainingJobCancelApi.as_view(), name="training-job-cancel"),
    path(project + "models/", ModelVersionListApi.as_view(), name="model-versions"),
    path(project + "models/deactivate/", ModelDeactivateApi.as_view(), name="model-deactivate"),
    path(model, ModelVersionDetailApi.as_view(), name="model-version"),
    path(model + "activate/", ModelVersionActivateApi.as_view(), name="model-version-activate"),
    path(model + "compare/", ModelVersionCompareApi.as_view(), name="model-version-compare"),
    path(
        project + "active-learning/",
        one_url(ActiveLearningDetailApi, ActiveLearningUpdateApi),
        name="active-learning",
    ),
    path(project + "active-learning/refresh/", ActiveLearningRefreshApi.as_view(), name="active-learning-refresh"),
    path(project + "label-issues/", LabelIssueListApi.as_view(), name="label-issues"),
    path(project + "label-issues/check/", LabelIssueCheckApi.as_view(), name="label-issues-check"),
    path(
        project + "label-issues/<int:issue_id>/resolve/",
        LabelIssueResolveApi.as_view(),
        name="label-issue-resolve",
    ),
    path(project + "items/<int:item_id>/similar/", SimilarItemsApi.as_view(), name="similar-items"),
]
