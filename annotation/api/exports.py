"""Exporting a project's annotations as a streamed JSONL or CSV download."""

from types import SimpleNamespace

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation

from annotation.api.base import BaseApi
from annotation.services.exports import EXPORT_FORMATS, annotations_export, export_content_type
from governance.access import access_project
from governance.roles import Perm


class FormatParamIsDataNegotiation(DefaultContentNegotiation):
    """Leaves ``?format=`` to the view: here it names the file format, not a DRF renderer."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


class AnnotationsExportApi(BaseApi):
    content_negotiation_class = FormatParamIsDataNegotiation

    class InputSerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=sorted(EXPORT_FORMATS), default="jsonl")

    @extend_schema(
        summary="Download every submitted annotation",
        parameters=[InputSerializer],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR,
                description="One JSON object per annotated item, with its annotations.",
            ),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="One row per annotation."
            ),
        },
    )
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.EXPORT_DATA)
        serializer = AnnotationsExportApi.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        fmt = serializer.validated_data["format"]
        response = StreamingHttpResponse(
            annotations_export(actor=request.user, project=project, fmt=fmt),
            content_type=export_content_type(fmt),
        )
        response["Content-Disposition"] = (
            f'attachment; filename="project-{project.pk}-annotations.{fmt}"'
        )
        return response
