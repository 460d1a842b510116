"""Dataset versions over the API: list and freeze them, read a manifest, diff two, export one (the only way out for text)."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from common.api import BaseApi, FormatParamIsDataNegotiation, ListApi
from common.streaming import attachment_response
from governance.access import access_project
from governance.roles import Perm
from training.models import ConflictPolicy, DatasetStatus, Split
from training.selectors.datasets import (
    dataset_version_by_number,
    dataset_version_diff,
    dataset_version_get,
    dataset_version_list,
)
from training.services.dataset_exports import (
    DATASET_EXPORT_FORMATS,
    dataset_export_content_type,
    dataset_export_filename,
    dataset_version_export,
)
from training.services.datasets import dataset_version_create

DIFF_MAX_IDS = 1000


class DatasetVersionListApi(ListApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        number = serializers.IntegerField(help_text="1, 2, ... within the project.")
        name = serializers.CharField()
        status = serializers.ChoiceField(choices=DatasetStatus.choices, source="public_status")
        item_count = serializers.IntegerField()
        content_hash = serializers.CharField(
            help_text="SHA-256 of the canonical records; empty until ready."
        )
        splits = serializers.DictField(
            child=serializers.IntegerField(),
            source="manifest.splits",
            default=dict,
            help_text="Items per split.",
        )
        conflict_policy = serializers.ChoiceField(choices=ConflictPolicy.choices)
        filters = serializers.DictField()
        created_by = serializers.CharField(source="requested_by.get_username", default="")
        created_at = serializers.DateTimeField()
        finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        summary="Dataset versions of the project, newest first",
        responses=OutputSerializer(many=True),
    )
    def get(self, request, project_id: int):
        project = access_project(
            user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS
        )
        return self.paginated_response(
            dataset_version_list(project=project), DatasetVersionListApi.OutputSerializer
        )


class DatasetVersionDetailApi(BaseApi):
    """The version's manifest: counts per label and split, annotators, answer sources, what was dropped and why."""

    class OutputSerializer(DatasetVersionListApi.OutputSerializer):
        manifest = serializers.DictField()
        file_bytes = serializers.IntegerField()
        error = serializers.CharField()

    @extend_schema(summary="One dataset version with its manifest", responses=OutputSerializer)
    def get(self, request, project_id: int, version_id: int):
        project = access_project(
            user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS
        )
        version = dataset_version_get(project=project, version_id=version_id)
        return Response(DatasetVersionDetailApi.OutputSerializer(version).data)


class DatasetVersionCreateApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        class FiltersSerializer(serializers.Serializer):
            reviewed_only = serializers.BooleanField(
                required=False, help_text="Only items a reviewer decided."
            )
            adjudicated_only = serializers.BooleanField(
                required=False, help_text="Only disagreements a reviewer settled."
            )
            min_agreement = serializers.FloatField(
                required=False,
                min_value=0,
                max_value=1,
                help_text="Share of annotators who gave the kept answer.",
            )
            date_from = serializers.DateField(
                required=False, help_text="Last answered on or after (inclusive)."
            )
            date_to = serializers.DateField(
                required=False, help_text="Last answered on or before (inclusive)."
            )
            labels = serializers.ListField(
                child=serializers.CharField(), required=False, help_text="Keep only these labels."
            )

        name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        conflict_policy = serializers.ChoiceField(
            choices=ConflictPolicy.choices, default=ConflictPolicy.MAJORITY
        )
        filters = FiltersSerializer(required=False, default=dict)

    @extend_schema(
        summary="Freeze a new dataset version",
        description="A background worker builds the version; follow it at the Location header's URL "
        "until its status is ready or failed.",
        request=InputSerializer,
        responses={202: DatasetVersionDetailApi.OutputSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(
            user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS
        )
        serializer = DatasetVersionCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = dataset_version_create(
            actor=request.user, project=project, **serializer.validated_data
        )
        location = reverse(
            "api:dataset-version", kwargs={"project_id": project.pk, "version_id": version.pk}
        )
        return Response(
            DatasetVersionDetailApi.OutputSerializer(version).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )


class DatasetVersionDiffApi(BaseApi):
    """Item ids only: a diff never carries item text."""

    class InputSerializer(serializers.Serializer):
        against = serializers.IntegerField(
            min_value=1, help_text="Number of the version to compare with (the older side)."
        )

    class OutputSerializer(serializers.Serializer):
        old = serializers.IntegerField(help_text="Number of the version compared with.")
        new = serializers.IntegerField(help_text="Number of this version.")
        added = serializers.IntegerField()
        removed = serializers.IntegerField()
        relabelled = serializers.IntegerField()
        unchanged = serializers.IntegerField()
        added_ids = serializers.ListField(
            child=serializers.IntegerField(), help_text=f"The first {DIFF_MAX_IDS}."
        )
        removed_ids = serializers.ListField(
            child=serializers.IntegerField(), help_text=f"The first {DIFF_MAX_IDS}."
        )
        relabelled_ids = serializers.ListField(
            child=serializers.IntegerField(), help_text=f"The first {DIFF_MAX_IDS}."
        )

    @extend_schema(
        summary="Items added, removed and relabelled since another version",
        parameters=[InputSerializer],
        responses=OutputSerializer,
    )
    def get(self, request, project_id: int, version_id: int):
        project = access_project(
            user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS
        )
        version = dataset_version_get(project=project, version_id=version_id)
        serializer = DatasetVersionDiffApi.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        other = dataset_version_by_number(
            project=project, number=serializer.validated_data["against"]
        )
        for side in (version, other):
            if side.status != DatasetStatus.READY:
                raise serializers.ValidationError(
                    {"against": f"Version {side.number} is {side.public_status}, not ready."}
                )
        diff = dataset_version_diff(old=other, new=version)
        data = {
            "old": other.number,
            "new": version.number,
            "added": len(diff.added),
            "removed": len(diff.removed),
            "relabelled": len(diff.relabelled),
            "unchanged": diff.unchanged,
            "added_ids": diff.added[:DIFF_MAX_IDS],
            "removed_ids": diff.removed[:DIFF_MAX_IDS],
            "relabelled_ids": diff.relabelled[:DIFF_MAX_IDS],
        }
        return Response(DatasetVersionDiffApi.OutputSerializer(data).data)


class DatasetVersionExportApi(BaseApi):
    """The only way item text leaves a version; recorded as an export and as a read of every item sent."""

    content_negotiation_class = FormatParamIsDataNegotiation

    class InputSerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=sorted(DATASET_EXPORT_FORMATS), default="jsonl")
        split = serializers.ChoiceField(
            choices=Split.choices, required=False, help_text="Only this split."
        )

    @extend_schema(
        summary="Download a dataset version's records",
        parameters=[InputSerializer],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR,
                description="One JSON object per item: id, external_id, text, value, split, agreement, source.",
            ),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per item."),
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR,
                description="CoNLL (span projects): 'token TAG' lines with IOB2 tags over whitespace words, "
                "a blank line between sentences, '-DOCSTART- O' before each item.",
            ),
        },
    )
    def get(self, request, project_id: int, version_id: int):
        project = access_project(
            user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS
        )
        version = dataset_version_get(project=project, version_id=version_id)
        serializer = DatasetVersionExportApi.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        fmt, split = serializer.validated_data["format"], serializer.validated_data.get("split", "")
        return attachment_response(
            dataset_version_export(actor=request.user, version=version, fmt=fmt, split=split),
            content_type=dataset_export_content_type(fmt),
            filename=dataset_export_filename(version=version, fmt=fmt, split=split),
        )
