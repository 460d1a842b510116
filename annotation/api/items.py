"""Items: import a file (now, or as a background job), browse the items, read one."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from annotation.api.base import BaseApi, ListApi
from annotation.models import DataSource, ImportJob, ImportOnError
from annotation.pipeline.readers import FORMATS
from annotation.selectors import item_list
from annotation.services.import_jobs import import_job_create
from annotation.services.imports import items_import
from annotation.services.reads import items_read_record
from governance.access import access_project
from governance.roles import Perm


class ItemsImportApi(BaseApi):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            help_text="UTF-8 CSV with a 'text' column, or JSONL with a 'text' key per line."
        )
        format = serializers.ChoiceField(
            choices=FORMATS, required=False, help_text="Defaults to the file name's extension."
        )

    class OutputSerializer(serializers.Serializer):
        rows = serializers.IntegerField()
        created = serializers.IntegerField()
        skipped_existing = serializers.IntegerField(
            help_text="Rows whose external id the project already has."
        )
        duplicates = serializers.IntegerField(
            help_text="Rows without an external id skipped because the project "
            "(or an earlier row) already has the same text."
        )

    class ErrorSerializer(serializers.Serializer):
        class RowSerializer(serializers.Serializer):
            file = serializers.CharField()
            row = serializers.IntegerField(allow_null=True)
            field = serializers.CharField(allow_null=True)
            message = serializers.CharField()

        detail = serializers.CharField()
        error = RowSerializer()

    @extend_schema(
        summary="Import items from a file; all rows or none",
        request={"multipart/form-data": InputSerializer},
        responses={201: OutputSerializer, 400: ErrorSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
        serializer = ItemsImportApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        # The UploadedFile itself is the stream: the service reads it line by line, never whole.
        result = items_import(
            actor=request.user,
            project=project,
            stream=upload,
            filename=upload.name,
            fmt=serializer.validated_data.get("format"),
        )
        return Response(
            ItemsImportApi.OutputSerializer(result).data, status=status.HTTP_201_CREATED
        )


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

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.CharField()
        filename = serializers.CharField()
        on_error = serializers.CharField()
        source = serializers.IntegerField(source="source_id", allow_null=True)
        rows_read = serializers.IntegerField()
        created = serializers.IntegerField()
        skipped = serializers.IntegerField()
        near_duplicates = serializers.IntegerField()
        errors_count = serializers.IntegerField()
        error = serializers.CharField()
        report = serializers.JSONField(help_text="errors (file, member, row, field, message), near_duplicates.")

    @extend_schema(
        summary="Import items from a file in the background; poll the job for progress and report",
        request={"multipart/form-data": InputSerializer},
        responses={202: OutputSerializer},
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
        )
        return Response(ImportJobCreateApi.OutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ImportJobDetailApi(BaseApi):
    @extend_schema(summary="One import job: progress, counts and report", responses=ImportJobCreateApi.OutputSerializer)
    def get(self, request, project_id: int, import_job_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
        job = get_object_or_404(ImportJob, project=project, pk=import_job_id)
        return Response(ImportJobCreateApi.OutputSerializer(job).data)


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
