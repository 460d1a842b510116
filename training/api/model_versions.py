"""Model versions over the API: the registry's list, one version's evaluation, activation, comparison."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from common.api import BaseApi, ListApi
from governance.access import access_project
from governance.roles import Perm
from training.api.preannotation import PreannotationJobDetailApi
from training.selectors.training import (
    evaluation_rows,
    evaluation_split,
    model_version_by_number,
    model_version_compare,
    model_version_get,
    model_version_list,
)
from training.services.registry import model_version_activate


class ModelVersionListApi(ListApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        number = serializers.IntegerField()
        name = serializers.CharField(help_text="What predictions made by this version carry as model_version.")
        is_active = serializers.BooleanField()
        activated_at = serializers.DateTimeField(allow_null=True)
        training_job = serializers.IntegerField(source="training_job_id")
        dataset_version = serializers.IntegerField(source="dataset_version.number")
        dataset_hash = serializers.CharField()
        base_model_name = serializers.CharField()
        base_model_fingerprint = serializers.CharField()
        code_version = serializers.CharField()
        training_seconds = serializers.FloatField()
        device = serializers.CharField()
        metric = serializers.CharField(source="metrics.metric", default="")
        created_at = serializers.DateTimeField()

    @extend_schema(summary="Model versions of the project, newest first", responses=OutputSerializer(many=True))
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)
        return self.paginated_response(model_version_list(project=project), ModelVersionListApi.OutputSerializer)


class EvaluationRowSerializer(serializers.Serializer):
    label = serializers.CharField()
    summary = serializers.BooleanField(help_text="True for the micro/macro/weighted averages.")
    precision = serializers.FloatField()
    recall = serializers.FloatField()
    f1 = serializers.FloatField()
    support = serializers.IntegerField()


class ModelVersionDetailApi(BaseApi):
    """Metrics hold dev and test scores (scikit-learn reports, or seqeval entity scores for spans) and confusion matrices."""

    class OutputSerializer(ModelVersionListApi.OutputSerializer):
        hyperparameters = serializers.DictField()
        metrics = serializers.DictField()
        evaluated_on = serializers.CharField(help_text="test, or dev when the version had no test examples.")
        evaluation = EvaluationRowSerializer(many=True)

    @extend_schema(summary="One model version with its lineage and evaluation", responses=OutputSerializer)
    def get(self, request, project_id: int, model_version_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)
        version = model_version_get(project=project, model_version_id=model_version_id)
        version.evaluated_on = evaluation_split(version)
        version.evaluation = evaluation_rows(version)
        return Response(ModelVersionDetailApi.OutputSerializer(version).data)


class ModelVersionActivateApi(BaseApi):
    """The version becomes the project's model (the previous one is switched off) and a background
    pre-annotation of the unlabelled items starts; follow it at the Location header's URL."""

    class OutputSerializer(serializers.Serializer):
        model_version = ModelVersionListApi.OutputSerializer()
        preannotation_job = PreannotationJobDetailApi.OutputSerializer()

    @extend_schema(summary="Activate a model version", request=None, responses={202: OutputSerializer})
    def post(self, request, project_id: int, model_version_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)
        version = model_version_get(project=project, model_version_id=model_version_id)
        job = model_version_activate(actor=request.user, model_version=version)
        version.refresh_from_db()
        location = reverse("api:preannotation-job", kwargs={"project_id": project.pk, "job_id": job.pk})
        return Response(
            ModelVersionActivateApi.OutputSerializer({"model_version": version, "preannotation_job": job}).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )


class ModelVersionCompareApi(BaseApi):
    """Per-label scores on a split both versions have (test when both do), lineage and hyperparameters."""

    class OutputSerializer(serializers.Serializer):
        class LabelRowSerializer(serializers.Serializer):
            label = serializers.CharField()
            summary = serializers.BooleanField()
            first = EvaluationRowSerializer(required=False)
            second = EvaluationRowSerializer(required=False)
            f1_change = serializers.FloatField(allow_null=True, help_text="second F1 minus first F1.")

        class DifferenceSerializer(serializers.Serializer):
            name = serializers.CharField()
            first = serializers.JSONField()
            second = serializers.JSONField()
            differs = serializers.BooleanField()

        first = ModelVersionListApi.OutputSerializer()
        second = ModelVersionListApi.OutputSerializer()
        split = serializers.CharField()
        metric = serializers.CharField()
        headline = serializers.ListField(child=serializers.FloatField(allow_null=True))
        labels = LabelRowSerializer(many=True)
        lineage = DifferenceSerializer(many=True)
        hyperparameters = DifferenceSerializer(many=True)

    @extend_schema(
        summary="Compare two model versions side by side",
        parameters=[
            OpenApiParameter("with", OpenApiTypes.INT, required=True, description="Number of the other version.")
        ],
        responses=OutputSerializer,
    )
    def get(self, request, project_id: int, model_version_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)
        first = model_version_get(project=project, model_version_id=model_version_id)
        other = request.query_params.get("with", "")
        if not other.isdigit():
            return Response(
                {"with": ["Give the other version's number, e.g. ?with=2."]}, status=status.HTTP_400_BAD_REQUEST
            )
        second = model_version_by_number(project=project, number=int(other))
        comparison = model_version_compare(first=first, second=second)
        return Response(ModelVersionCompareApi.OutputSerializer(comparison).data)
