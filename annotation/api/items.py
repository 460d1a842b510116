"""Items: import a file (a background job, polled at its url), browse the items, read one."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from annotation.models import DataSource, ImportJob, ImportOnError, ImportQuoting
from annotation.pipeline.readers import FORMATS
from annotation.selectors import item_list
from annotation.services.import_jobs import import_job_create
from annotation.services.reads import items_read_record
from common.api import BaseApi, ListApi
from governance.access import access_project
from governance.roles import Perm

_QUOTING_HELP = (
    "CSV/TSV: 'standard' (a field may be wrapped in double quotes), 'none' (quote characters are "
    "text) or 'auto': standard for CSV; for TSV, standard only when the first lines quote fields "
    "the way a CSV writer does. The job's report says which was used."
)


class ImportJobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="Poll this for progress, counts and report.")
    status = serializers.CharField()
    filename = serializers.CharField()
    on_error = serializers.CharField()
    quoting = serializers.CharField()
    source = serializers.IntegerField(source="source_id", allow_null=True)
    rows_read = serializers.IntegerField(
        source="progress_done",
        help_text="Rows read, good and bad: rows_read = created + skipped + errors_count."
    )
    created = serializers.IntegerField(help_text="Items created (near duplicates included).")
    skipped = serializers.IntegerField(
        help_text="Rows not created because the project, or an earlier row, already has the item "
        "(same external id, or same text for a row without one)."
    )
    near_duplicates = serializers.IntegerField(
        help_text="Items created and linked to the first item of their near-duplicate group."
    )
    errors_count = serializers.IntegerField(help_text="Bad rows (listed in report.errors).")
    error = serializers.CharField()
    report = serializers.JSONField(
        help_text="errors (file, member, row, field, message), near_duplicates, labels_created, "
        "quoting (the quoting each CSV/TSV file was read with)."
    )

    def get_url(self, job) -> str:
        return reverse("api:import-job", args=[job.project_id, job.pk])


def _job_accepted(job: ImportJob) -> Response:
    data = ImportJobOutputSerializer(job).data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class ItemsImportApi(BaseApi):
    """The quick import: a "reject" background job (all rows or none), as on the project page.

    Why not imported within the request: cleaning and the personal-data scan need presidio, whose
    loading takes a web process 15-25 s; the worker has it loaded already.
    """

    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            help_text="CSV or TSV with a 'text' column, JSONL with a 'text' key per line, or any "
            "other supported format."
        )
        format = serializers.ChoiceField(
            choices=FORMATS, required=False, help_text="Defaults to the file name's extension."
        )
        quoting = serializers.ChoiceField(
            choices=ImportQuoting.values, default=ImportQuoting.AUTO, help_text=_QUOTING_HELP
        )

    @extend_schema(
        summary="Import items from a file, all rows or none, in the background; poll the job's url",
        request={"multipart/form-data": InputSerializer},
        responses={202: ImportJobOutputSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
        serializer = ItemsImportApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        job = import_job_create(
            actor=request.user, project=project, stream=upload, filename=upload.name,
            fmt=data.get("format"), quoting=data["quoting"],
        )  # fmt: skip
        return _job_accepted(job)


class ImportJobCreateApi(BaseApi):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text="Any supported format; read in a worker, never whole in memory.")
        format = serializers.ChoiceField(
            choices=FORMATS, required=False, help_text="Defaults to the file name's extension."
        )
        on_error = serializers.ChoiceField(choices=ImportOnError.values, default=ImportOnError.REJECT)
        source = serializers.IntegerField(required=False, help_text="Id of one of the project's data sources.")
        create_missing_labels = serializers.BooleanField(default=False)
        quoting = serializers.ChoiceField(
            choices=ImportQuoting.values, default=ImportQuoting.AUTO, help_text=_QUOTING_HELP
        )

    OutputSerializer = ImportJobOutputSerializer

    @extend_schema(
        summary="Import items from a file in the background; poll the job for progress and report",
        request={"multipart/form-data": InputSerializer},
        responses={202: ImportJobOutputSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
        serializer = ImportJobCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source = None
        if data.get("source") is not None:
            source = get_object_or_404(DataSource, project=project, pk=data["source"])
        upload = data["file"]
        job = import_job_create(
            actor=request.user, project=project, stream=upload, filename=upload.name, fmt=data.get("format"),
            on_error=data["on_error"], source=source, create_missing_labels=data["create_missing_labels"],
            quoting=data["quoting"],
        )
        return _job_accepted(job)


class ImportJobDetailApi(BaseApi):
    @extend_schema(summary="One import job: progress, counts and report", responses=ImportJobOutputSerializer)
    def get(self, request, project_id: int, import_job_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
        job = get_object_or_404(ImportJob, project=project, pk=import_job_id)
        return Response(ImportJobOutputSerializer(job).data)


class ItemListApi(ListApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        external_id = serializers.CharField()
        text = serializers.CharField()
        meta = serializers.JSONField()
        annotation_count = serializers.IntegerField()
        is_done = serializers.BooleanField()

    @extend_schema(summary="Every item of the project", responses=OutputSerializer(many=True))
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.BROWSE_ITEMS)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(item_list(project=project), request, view=self)
        items_read_record(actor=request.user, project=project, items=page, via="api.items")
        return paginator.get_paginated_response(ItemListApi.OutputSerializer(page, many=True).data)


class ItemDetailApi(BaseApi):
    @extend_schema(summary="One item", responses=ItemListApi.OutputSerializer)
    def get(self, request, project_id: int, item_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.BROWSE_ITEMS)
        item = get_object_or_404(item_list(project=project), pk=item_id)
        items_read_record(actor=request.user, project=project, items=[item], via="api.item")
        return Response(ItemListApi.OutputSerializer(item).data)
