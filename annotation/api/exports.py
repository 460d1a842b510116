"""Exporting a project's annotations: a streamed download, or a sealed background file behind a signed link."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from annotation.models import ExportStatus
from annotation.services.exports import (
    EXPORT_FORMATS,
    EXPORT_LINK_SECONDS,
    JOB_FORMAT_CHOICES,
    JOB_FORMATS,
    annotations_export,
    export_content_type,
    export_download,
    export_download_check,
    export_download_signature,
    export_filename,
    export_get,
    export_request,
)
from common.api import BaseApi, FormatParamIsDataNegotiation
from common.streaming import attachment_response
from governance.access import access_project
from governance.roles import Perm


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
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="CoNLL (IOB2), one document per span annotation (span projects)."
            ),
        },
    )
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.EXPORT_DATA)
        serializer = AnnotationsExportApi.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        fmt = serializer.validated_data["format"]
        return attachment_response(
            annotations_export(actor=request.user, project=project, fmt=fmt),
            content_type=export_content_type(fmt),
            filename=f"project-{project.pk}-annotations.{fmt}",
        )


class ExportDetailApi(BaseApi):
    """Status and progress of a background export; once ready, a download link valid for a few minutes."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        format = serializers.CharField()
        redacted = serializers.BooleanField()
        status = serializers.ChoiceField(choices=ExportStatus.choices)
        items_total = serializers.IntegerField(source="progress_total")
        items_done = serializers.IntegerField(source="progress_done")
        file_bytes = serializers.IntegerField()
        error = serializers.CharField()
        created_at = serializers.DateTimeField()
        finished_at = serializers.DateTimeField(allow_null=True)
        expires_at = serializers.DateTimeField(allow_null=True)
        download_url = serializers.CharField(
            allow_null=True, help_text=f"Signed for the caller; valid {EXPORT_LINK_SECONDS} seconds."
        )

    @staticmethod
    def output(export, user) -> dict:
        url = None
        if export.status == ExportStatus.READY:
            url = reverse(
                "api:export-download",
                kwargs={
                    "project_id": export.project_id,
                    "export_id": export.pk,
                    "export_signature": export_download_signature(user=user, export=export),
                },
            )
        return ExportDetailApi.OutputSerializer({**vars(export), "download_url": url}).data

    @extend_schema(summary="Status, progress and download link of a background export", responses=OutputSerializer)
    def get(self, request, project_id: int, export_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.EXPORT_DATA)
        export = export_get(project=project, export_id=export_id)
        return Response(ExportDetailApi.output(export, request.user))


class ExportCreateApi(BaseApi):
    """Queue an export file (JSONL, CSV, CoNLL or Parquet), written encrypted by a worker."""

    class InputSerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=JOB_FORMAT_CHOICES)
        redact = serializers.BooleanField(default=False, help_text="Overwrite personal data in texts with asterisks.")

    @extend_schema(
        summary="Start a background export",
        description="Follow the export at the Location header's URL; its download link appears when it is ready.",
        request=InputSerializer,
        responses={202: ExportDetailApi.OutputSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.EXPORT_DATA)
        serializer = ExportCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        export = export_request(
            actor=request.user,
            project=project,
            fmt=serializer.validated_data["format"],
            redact=serializer.validated_data["redact"],
        )
        location = reverse("api:export-job", kwargs={"project_id": project.pk, "export_id": export.pk})
        return Response(
            ExportDetailApi.output(export, request.user), status=status.HTTP_202_ACCEPTED, headers={"Location": location}
        )


class ExportDownloadApi(BaseApi):
    """The decrypted export file, streamed; the link names its user and expires after a few minutes."""

    content_negotiation_class = FormatParamIsDataNegotiation

    @extend_schema(
        summary="Download a background export through its signed link",
        # The file's own media type: the export's format decides it.
        responses={
            (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description=f"A {fmt} export.")
            for fmt, (content_type, _) in sorted(JOB_FORMATS.items())
        },
    )
    def get(self, request, project_id: int, export_id: int, export_signature: str):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.EXPORT_DATA)
        export = export_get(project=project, export_id=export_id)
        export_download_check(user=request.user, export=export, signature=export_signature)
        return attachment_response(
            export_download(actor=request.user, export=export),
            content_type=JOB_FORMATS[export.format][0],
            filename=export_filename(export),
        )
