"""Training jobs over the API: start one, list them, follow one's progress, cancel it."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from common.api import BaseApi, ListApi
from common.jobs.models import JobStatus
from governance.access import access_project
from governance.roles import Perm
from training.selectors.training import (
    base_model_by_name,
    trainable_version_by_number,
    training_job_get,
    training_job_list,
)
from training.services.training import (
    CHOICE_HYPERPARAMETERS,
    HYPERPARAMETERS,
    training_cancel,
    training_job_refresh,
    training_request,
)


class TrainingProgressSerializer(serializers.Serializer):
    """Every field is absent until the worker's first report (a queued job has an empty object)."""

    step = serializers.IntegerField(required=False)
    total_steps = serializers.IntegerField(required=False)
    epoch = serializers.IntegerField(required=False)
    epochs = serializers.IntegerField(required=False)
    loss = serializers.FloatField(required=False)
    dev_metric = serializers.FloatField(
        required=False, allow_null=True, help_text="The last epoch's dev score; null before the first."
    )
    metric = serializers.CharField(
        required=False, help_text="What dev_metric measures: the primary metric, macro-F1 or entity F1 (older jobs: accuracy, micro F1)."
    )
    eta_seconds = serializers.FloatField(required=False)
    samples_per_second = serializers.FloatField(required=False)

    def to_representation(self, instance):
        return super().to_representation(instance) if instance else {}


class TrainingJobListApi(ListApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.ChoiceField(choices=JobStatus.choices)
        dataset_version = serializers.IntegerField(source="dataset_version.number")
        base_model = serializers.CharField(
            source="base_model.name", default=None, allow_null=True, help_text="Null: the bundled MiniLM-L6."
        )
        hyperparameters = serializers.DictField()
        time_limit_seconds = serializers.IntegerField()
        then_suggest = serializers.BooleanField(
            help_text="After training, pre-annotate with the better of the new model and the embedding head."
        )
        cancel_requested = serializers.BooleanField()
        progress = TrainingProgressSerializer()
        error = serializers.CharField()
        device = serializers.CharField()
        worker = serializers.CharField()
        attempts = serializers.IntegerField()
        model_version = serializers.IntegerField(source="model_version.id", default=None, allow_null=True)
        requested_by = serializers.CharField(source="requested_by.get_username", default="")
        created_at = serializers.DateTimeField()
        started_at = serializers.DateTimeField(allow_null=True)
        heartbeat_at = serializers.DateTimeField(allow_null=True)
        finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(summary="Training jobs of the project, newest first", responses=OutputSerializer(many=True))
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)
        return self.paginated_response(training_job_list(project=project), TrainingJobListApi.OutputSerializer)


class TrainingJobDetailApi(BaseApi):
    """A job that lost its worker (no heartbeat for TRAINING_STALE_SECONDS) is reported, and stored, as failed."""

    class OutputSerializer(TrainingJobListApi.OutputSerializer):
        log = serializers.CharField(help_text="Human-readable lines, oldest first; kept when the job fails.")

    @extend_schema(summary="Status, live progress and log of a training job", responses=OutputSerializer)
    def get(self, request, project_id: int, training_job_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)
        job = training_job_refresh(job=training_job_get(project=project, job_id=training_job_id))
        return Response(TrainingJobDetailApi.OutputSerializer(job).data)


class TrainingJobStartApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        dataset_version = serializers.IntegerField(
            min_value=1, help_text="Number of a ready dataset version (1, 2, ...)."
        )
        base_model = serializers.CharField(
            required=False, allow_blank=True, help_text="Name of a registered base model; empty: the bundled MiniLM-L6."
        )
        hyperparameters = serializers.DictField(
            required=False,
            help_text=(
                f"Any of: {', '.join(HYPERPARAMETERS)} (each range-checked); "
                + "; ".join(f"{name}: {' or '.join(values)}" for name, values in CHOICE_HYPERPARAMETERS.items())
                + ". Left out: the defaults, sized to the data."
            ),
        )
        time_limit_seconds = serializers.IntegerField(required=False, min_value=1)
        then_suggest = serializers.BooleanField(
            default=False,
            help_text=(
                "After training, pre-annotate the unlabelled items with whichever of the new model and the "
                "embedding head scores better on the same held-out items (the job's log says which)."
            ),
        )

    @extend_schema(
        summary="Queue a fine-tuning run of a dataset version",
        description="A worker on the training queue runs it; follow the job at the Location header's URL.",
        request=InputSerializer,
        responses={202: TrainingJobDetailApi.OutputSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)
        serializer = TrainingJobStartApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = training_request(
            actor=request.user,
            project=project,
            dataset_version=trainable_version_by_number(project=project, number=data["dataset_version"]),
            base_model=base_model_by_name(name=data.get("base_model")),
            hyperparameters=data.get("hyperparameters"),
            time_limit_seconds=data.get("time_limit_seconds"),
            then_suggest=data["then_suggest"],
        )
        location = reverse("api:training-job", kwargs={"project_id": project.pk, "training_job_id": job.pk})
        return Response(
            TrainingJobDetailApi.OutputSerializer(job).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )


class TrainingJobCancelApi(BaseApi):
    """A queued job is cancelled at once; a running one stops at its next training step."""

    @extend_schema(summary="Cancel a training job", request=None, responses=TrainingJobDetailApi.OutputSerializer)
    def post(self, request, project_id: int, training_job_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.TRAIN_MODELS)
        job = training_cancel(actor=request.user, job=training_job_get(project=project, job_id=training_job_id))
        return Response(TrainingJobDetailApi.OutputSerializer(training_job_get(project=project, job_id=job.pk)).data)
