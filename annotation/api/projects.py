"""Projects: list the ones you can see, create one, read one with its progress, change it."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from annotation.api.labels import LabelListApi
from annotation.selectors import project_list, project_progress
from annotation.services.projects import project_create, project_update
from common.api import BaseApi, ListApi
from governance.access import access_project, can_create_project
from governance.roles import Perm
from projects.models import ReviewPolicy, TaskType


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    remaining = serializers.IntegerField()
    mine = serializers.IntegerField(help_text="Items the requesting user has submitted.")
    percent = serializers.IntegerField()


def _project_detail(project, user) -> dict:
    return ProjectDetailApi.OutputSerializer(
        {"project": project, "progress": project_progress(project=project, user=user)}
    ).data


class ProjectListApi(ListApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        description = serializers.CharField()
        task_type = serializers.ChoiceField(choices=TaskType.choices)
        overlap = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()
        # Set while the project is archived (read-only); archived projects come last.
        archived_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(summary="Projects you are a member of", responses=OutputSerializer(many=True))
    def get(self, request):
        return self.paginated_response(
            project_list(user=request.user), ProjectListApi.OutputSerializer
        )


class ProjectDetailApi(BaseApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(source="project.id")
        name = serializers.CharField(source="project.name")
        description = serializers.CharField(source="project.description")
        guidelines = serializers.CharField(source="project.guidelines")
        task_type = serializers.ChoiceField(source="project.task_type", choices=TaskType.choices)
        overlap = serializers.IntegerField(source="project.overlap")
        review_policy = serializers.ChoiceField(source="project.review_policy", choices=ReviewPolicy.choices)
        gold_rate = serializers.FloatField(source="project.gold_rate")
        allow_overlapping_spans = serializers.BooleanField(source="project.allow_overlapping_spans")
        created_at = serializers.DateTimeField(source="project.created_at")
        updated_at = serializers.DateTimeField(source="project.updated_at")
        archived_at = serializers.DateTimeField(source="project.archived_at", allow_null=True)
        labels = LabelListApi.OutputSerializer(source="project.labels.all", many=True)
        progress = ProgressSerializer()

    @extend_schema(summary="One project with its labels and progress", responses=OutputSerializer)
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.VIEW_PROJECT)
        return Response(_project_detail(project, request.user))


class ProjectCreateApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        class LabelSerializer(serializers.Serializer):
            name = serializers.CharField(max_length=100)
            color = serializers.CharField(max_length=7, required=False)
            hotkey = serializers.CharField(max_length=1, required=False, allow_blank=True)
            description = serializers.CharField(required=False, allow_blank=True)

        name = serializers.CharField(max_length=200)
        task_type = serializers.ChoiceField(choices=TaskType.choices, default=TaskType.SINGLE_LABEL)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        guidelines = serializers.CharField(required=False, allow_blank=True, default="")
        labels = LabelSerializer(many=True, required=False, default=list)
        overlap = serializers.IntegerField(min_value=1, max_value=50, default=1)

    @extend_schema(
        summary="Create a project; you become its manager",
        request=InputSerializer,
        responses={201: ProjectDetailApi.OutputSerializer},
    )
    def post(self, request):
        if not can_create_project(user=request.user):
            raise PermissionDenied(_("You are not allowed to create projects."))
        serializer = ProjectCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = project_create(actor=request.user, **serializer.validated_data)
        return Response(_project_detail(project, request.user), status=status.HTTP_201_CREATED)


class ProjectUpdateApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        task_type = serializers.ChoiceField(choices=TaskType.choices, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        guidelines = serializers.CharField(required=False, allow_blank=True)
        overlap = serializers.IntegerField(min_value=1, max_value=50, required=False)
        review_policy = serializers.ChoiceField(choices=ReviewPolicy.choices, required=False)
        gold_rate = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
        allow_overlapping_spans = serializers.BooleanField(required=False)

    @extend_schema(
        summary="Change a project's settings",
        request=InputSerializer,
        responses=ProjectDetailApi.OutputSerializer,
    )
    def patch(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
        serializer = ProjectUpdateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = project_update(actor=request.user, project=project, **serializer.validated_data)
        return Response(_project_detail(project, request.user))
