"""A project's labels: list them, add one, change one, delete one."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from annotation.models import Label
from annotation.services.projects import label_create, label_delete, label_update
from common.api import BaseApi
from governance.access import access_project
from governance.roles import Perm


def _label_of(project, label_id) -> Label:
    # Scoped to the project, so a label id from another project is a 404 here.
    return get_object_or_404(Label.objects.select_related("project"), pk=label_id, project=project)


class LabelListApi(BaseApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        color = serializers.CharField()
        hotkey = serializers.CharField()
        description = serializers.CharField()
        order = serializers.IntegerField()

    @extend_schema(summary="A project's labels", responses=OutputSerializer(many=True))
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.VIEW_PROJECT)
        return Response(LabelListApi.OutputSerializer(project.labels.all(), many=True).data)


class LabelCreateApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        color = serializers.CharField(max_length=7, required=False)
        hotkey = serializers.CharField(max_length=1, required=False, allow_blank=True)
        description = serializers.CharField(required=False, allow_blank=True)
        order = serializers.IntegerField(min_value=0, required=False)

    @extend_schema(
        summary="Add a label",
        request=InputSerializer,
        responses={201: LabelListApi.OutputSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
        serializer = LabelCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        label = label_create(actor=request.user, project=project, **serializer.validated_data)
        return Response(LabelListApi.OutputSerializer(label).data, status=status.HTTP_201_CREATED)


class LabelUpdateApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        color = serializers.CharField(max_length=7, required=False)
        hotkey = serializers.CharField(max_length=1, required=False, allow_blank=True)
        description = serializers.CharField(required=False, allow_blank=True)
        order = serializers.IntegerField(min_value=0, required=False)

    @extend_schema(
        summary="Change a label", request=InputSerializer, responses=LabelListApi.OutputSerializer
    )
    def patch(self, request, project_id: int, label_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
        serializer = LabelUpdateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        label = label_update(
            actor=request.user, label=_label_of(project, label_id), **serializer.validated_data
        )
        return Response(LabelListApi.OutputSerializer(label).data)


class LabelDeleteApi(BaseApi):
    @extend_schema(
        summary="Delete a label (only before the project has annotations)", responses={204: None}
    )
    def delete(self, request, project_id: int, label_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
        label_delete(actor=request.user, label=_label_of(project, label_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
