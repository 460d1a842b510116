"""Routes of the annotation API, included by config.api_urls into the ``api`` namespace under /api/."""

from django.urls import path

from annotation.api.annotations import (
    AnnotationListApi,
    AnnotationSubmitApi,
    ItemSkipApi,
    QueueNextApi,
)
from annotation.api.exports import (
    AnnotationsExportApi,
    ExportCreateApi,
    ExportDetailApi,
    ExportDownloadApi,
)
from annotation.api.items import (
    ImportJobCreateApi,
    ImportJobDetailApi,
    ItemDeleteApi,
    ItemDetailApi,
    ItemListApi,
    ItemReopenApi,
    ItemReviewRequestApi,
    ItemsImportApi,
    ItemTextUpdateApi,
)
from annotation.api.labels import LabelCreateApi, LabelDeleteApi, LabelListApi, LabelUpdateApi
from annotation.api.predictions import PredictionListApi
from annotation.api.projects import (
    ProjectCreateApi,
    ProjectDetailApi,
    ProjectListApi,
    ProjectUpdateApi,
)
from annotation.api.quality import (
    GoldItemClearApi,
    GoldItemListApi,
    GoldItemSetApi,
    QualityReportApi,
)
from annotation.api.reviews import FinalListApi, ReviewNextApi, ReviewRejectApi, ReviewResolveApi
from common.api import one_url

project = "projects/<int:project_id>/"

urlpatterns = [
    path("projects/", one_url(ProjectListApi, ProjectCreateApi), name="projects"),
    path(project, one_url(ProjectDetailApi, ProjectUpdateApi), name="project"),
    path(project + "labels/", one_url(LabelListApi, LabelCreateApi), name="labels"),
    path(project + "labels/<int:label_id>/", one_url(LabelUpdateApi, LabelDeleteApi), name="label"),
    path(project + "import/", ItemsImportApi.as_view(), name="items-import"),
    path(project + "import-jobs/", ImportJobCreateApi.as_view(), name="import-jobs"),
    path(project + "import-jobs/<int:import_job_id>/", ImportJobDetailApi.as_view(), name="import-job"),
    path(project + "items/", ItemListApi.as_view(), name="items"),
    path(
        project + "items/<int:item_id>/",
        one_url(ItemDetailApi, ItemTextUpdateApi, ItemDeleteApi),
        name="item",
    ),
    path(
        project + "items/<int:item_id>/review-request/",
        ItemReviewRequestApi.as_view(),
        name="item-review-request",
    ),
    path(project + "items/<int:item_id>/reopen/", ItemReopenApi.as_view(), name="item-reopen"),
    path(
        project + "items/<int:item_id>/annotations/",
        AnnotationSubmitApi.as_view(),
        name="annotation-submit",
    ),
    path(project + "items/<int:item_id>/skip/", ItemSkipApi.as_view(), name="item-skip"),
    path(project + "next/", QueueNextApi.as_view(), name="queue-next"),
    path(project + "review/next/", ReviewNextApi.as_view(), name="review-next"),
    path(project + "items/<int:item_id>/review/resolve/", ReviewResolveApi.as_view(), name="review-resolve"),
    path(project + "items/<int:item_id>/review/reject/", ReviewRejectApi.as_view(), name="review-reject"),
    path(project + "finals/", FinalListApi.as_view(), name="finals"),
    path(project + "annotations/", AnnotationListApi.as_view(), name="annotations"),
    path(project + "predictions/", PredictionListApi.as_view(), name="predictions"),
    path(project + "export/", AnnotationsExportApi.as_view(), name="export"),
    path(project + "exports/", ExportCreateApi.as_view(), name="exports"),
    path(project + "exports/<int:export_id>/", ExportDetailApi.as_view(), name="export-job"),
    path(
        project + "exports/<int:export_id>/download/<str:export_signature>/",
        ExportDownloadApi.as_view(),
        name="export-download",
    ),
    path(project + "quality/", QualityReportApi.as_view(), name="quality"),
    path(project + "gold/", GoldItemListApi.as_view(), name="gold-items"),
    path(
        project + "items/<int:item_id>/gold/",
        one_url(GoldItemSetApi, GoldItemClearApi),
        name="item-gold",
    ),
]
