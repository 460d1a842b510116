"""Pre-annotation over the API: start a job on the project's items, follow its progress."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from common.api import BaseApi
from common.jobs.models import JobStatus, status_choices
from governance.access import access_project
from governance.roles import Perm
from training.selectors.preannotation import preannotation_job_get
from training.services.preannotation import preannotation_request


class PreannotationJobDetailApi(BaseApi):
    """Job status is for those who may start jobs (managers, ML engineers).

    Annotators see the resulting suggestions, not the job's internals (its errors in particular).
    """

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.ChoiceField(
            choices=status_choices(JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED)
        )
        method = serializers.CharField(
            help_text="zero_shot or logistic_regression, chosen by the worker."
        )
        model_version = serializers.CharField()
        items_total = serializers.IntegerField(source="progress_total")
        items_done = serializers.IntegerField(source="progress_done")
        error = serializers.CharField()
        created_at = serializers.DateTimeField()
        started_at = serializers.DateTimeField(allow_null=True)
        finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        summary="Status and progress of a pre-annotation job", responses=OutputSerializer
    )
    def get(self, request, project_id: int, job_id: int):
        project = access_project(
            user=request.user, project_id=project_id, perm=Perm.RUN_PREANNOTATION
        )
        job = preannotation_job_get(project=project, job_id=job_id)
        return Response(PreannotationJobDetailApi.OutputSerializer(job).data)


class PreannotationStartApi(BaseApi):
    class OutputSerializer(serializers.Serializer):
        job = PreannotationJobDetailApi.OutputSerializer()

    @extend_schema(
        summary="Queue model pre-annotation of the project's items",
        description="The model runs in a background worker; "
        "follow the job at the Location header's URL. "
        "If a job is already queued or running for the project, that job is returned.",
        request=None,
        responses={202: OutputSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(
            user=request.user, project_id=project_id, perm=Perm.RUN_PREANNOTATION
        )
        job = preannotation_request(actor=request.user, project=project)
        location = reverse(
            "api:preannotation-job", kwargs={"project_id": project.pk, "job_id": job.pk}
        )
        return Response(
            PreannotationStartApi.OutputSerializer({"job": job}).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )
