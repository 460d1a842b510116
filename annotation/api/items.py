"""Items: import a CSV or JSONL file, browse the items, read one."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from annotation.api.base import BaseApi, ListApi
from annotation.pipeline.readers import FORMATS
from annotation.selectors import item_list
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
