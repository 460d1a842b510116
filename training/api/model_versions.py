"""Model versions over the API: the registry's list, one version's evaluation, activation, deactivation, comparison."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from common.api import BaseApi, ListApi
from governance.access import access_project
from governance.roles import Perm
from training.api.preannotation import PreannotationJobDetailApi
from training.selectors.champion import champion_verdict
from training.selectors.training import (
    evaluation_rows,
    evaluation_split,
    model_version_by_number,
    model_version_compare,
    model_version_get,
    model_version_list,
    version_headline,
)
from training.services.registry import (
    ActivationNeedsConfirmation,
    model_version_activate,
    model_version_deactivate,
)


class HeadlineSerializer(serializers.Serializer):
    """A version's score: the primary metric on its held-out items with a 95 % interval and the number of items."""

    metric = serializers.CharField(
        allow_null=True,
        help_text="macro_f1 or entity_f1 (older versions: accuracy or micro_f1); null for a version whose metrics name none.",
    )
    value = serializers.FloatField(allow_null=True)
    interval = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="[low, high] of the 95 % interval; null for versions trained before intervals were recorded.",
    )
    items = serializers.IntegerField(allow_null=True, help_text="How many items (texts for spans) the score rests on.")
    basis = serializers.CharField(help_text="Which held-out items: the test split, or cross-validation's out-of-fold ones.")
    degenerate = serializers.BooleanField(help_text="Predicts one class for everything, or misses a class entirely.")
    degenerate_reason = serializers.CharField(allow_blank=True)
    too_small = serializers.BooleanField(help_text="Too few items to tell models apart.")
    too_small_reason = serializers.CharField(allow_blank=True)

    def to_representation(self, instance):
        return super().to_representation(version_headline(instance))


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
        headline = HeadlineSerializer(source="*")
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
    precision_interval = serializers.ListField(
        child=serializers.FloatField(), required=False, allow_null=True, help_text="95 % interval; null when not recorded."
    )
    recall_interval = serializers.ListField(child=serializers.FloatField(), required=False, allow_null=True)
    f1_interval = serializers.ListField(child=serializers.FloatField(), required=False, allow_null=True)


VERDICT_HELP = (
    "How the version compares with what suggests labels now (champion: the active model, the embedding head or "
    "zero-shot) on the same held-out items: outcome degenerate, worse, better, no_clear_difference or not_compared; "
    "comparison (a = this version, b = the champion, difference with its 95 % interval); needs_confirmation and reasons."
)


class ModelVersionDetailApi(BaseApi):
    """Metrics hold every evaluation (dev, cross_validation, test, heldout: each with intervals and n), the baselines,
    the selection mode and the choice; older versions hold dev and test scores without intervals."""

    class OutputSerializer(ModelVersionListApi.OutputSerializer):
        hyperparameters = serializers.DictField()
        metrics = serializers.DictField()
        evaluated_on = serializers.CharField(
            help_text="heldout (cross-validation's out-of-fold items plus test), test, or dev when there were no test examples."
        )
        evaluation = EvaluationRowSerializer(many=True)
        verdict = serializers.DictField(help_text=VERDICT_HELP)

    @extend_schema(summary="One model version with its lineage, evaluation and verdict", responses=OutputSerializer)
    def get(self, request, project_id: int, model_version_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)
        version = model_version_get(project=project, model_version_id=model_version_id)
        version.evaluated_on = evaluation_split(version)
        version.evaluation = evaluation_rows(version)
        version.verdict = champion_verdict(candidate=version).as_dict()
        return Response(ModelVersionDetailApi.OutputSerializer(version).data)


class ModelVersionActivateApi(BaseApi):
    """The version becomes the project's model (the previous one is switched off) and a background
    pre-annotation of the unlabelled items starts; follow it at the Location header's URL.

    A degenerate version, or one worse with confidence than what suggests labels now, answers 409
    with the verdict until the request says ``{"confirm": true}``; the confirmation is audited."""

    class InputSerializer(serializers.Serializer):
        confirm = serializers.BooleanField(
            default=False, help_text="Activate even though the verdict asks for confirmation (recorded in the audit trail)."
        )

    class OutputSerializer(serializers.Serializer):
        model_version = ModelVersionListApi.OutputSerializer()
        preannotation_job = PreannotationJobDetailApi.OutputSerializer()

    class ConfirmationSerializer(serializers.Serializer):
        detail = serializers.CharField()
        verdict = serializers.DictField(help_text=VERDICT_HELP)

    @extend_schema(
        summary="Activate a model version",
        request=InputSerializer,
        responses={202: OutputSerializer, 409: ConfirmationSerializer},
    )
    def post(self, request, project_id: int, model_version_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)
        version = model_version_get(project=project, model_version_id=model_version_id)
        serializer = ModelVersionActivateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            job = model_version_activate(
                actor=request.user, model_version=version, confirm=serializer.validated_data["confirm"]
            )
        except ActivationNeedsConfirmation as refusal:
            body = {"detail": " ".join(refusal.messages), "verdict": refusal.verdict.as_dict()}
            return Response(ModelVersionActivateApi.ConfirmationSerializer(body).data, status=status.HTTP_409_CONFLICT)
        version.refresh_from_db()
        location = reverse("api:preannotation-job", kwargs={"project_id": project.pk, "job_id": job.pk})
        return Response(
            ModelVersionActivateApi.OutputSerializer({"model_version": version, "preannotation_job": job}).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )


class ModelDeactivateApi(BaseApi):
    """The active model is switched off and the embedding head (or zero-shot) suggests labels again: a
    background pre-annotation starts (202, follow it at the Location header's URL). Span projects have no
    head: their predictions stay and no job starts (200)."""

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500, help_text="Kept in the audit trail.")

    class OutputSerializer(serializers.Serializer):
        model_version = ModelVersionListApi.OutputSerializer(help_text="The version that was active.")
        preannotation_job = PreannotationJobDetailApi.OutputSerializer(allow_null=True)

    @extend_schema(
        summary="Stop suggesting with the active model; the embedding head suggests again",
        request=InputSerializer,
        responses={202: OutputSerializer, 200: OutputSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)
        serializer = ModelDeactivateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        active = model_version_list(project=project).filter(is_active=True).first()
        job = model_version_deactivate(
            actor=request.user, project=project, reason=serializer.validated_data.get("reason", "")
        )
        active.refresh_from_db()
        body = ModelDeactivateApi.OutputSerializer({"model_version": active, "preannotation_job": job}).data
        if job is None:
            return Response(body)
        location = reverse("api:preannotation-job", kwargs={"project_id": project.pk, "job_id": job.pk})
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


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

        first = ModelVersionListApi.OutputSerializer(help_text="With its headline: score, 95 % interval, n, basis.")
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
