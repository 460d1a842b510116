"""Project members: list them, add one or change their role, remove one; all for managers only."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from common.api import BaseApi
from governance.access import access_project
from governance.models import Membership
from governance.roles import Perm, ProjectRole
from governance.services.membership import membership_remove, membership_set


class MemberListApi(BaseApi):
    """Who is in a project is itself sensitive: listing needs manage_members, like changing it."""

    class OutputSerializer(serializers.Serializer):
        user_id = serializers.IntegerField()
        username = serializers.CharField(source="user.username")
        role = serializers.ChoiceField(choices=ProjectRole.choices)
        created_at = serializers.DateTimeField()

    @extend_schema(
        summary="Members of the project and their roles", responses=OutputSerializer(many=True)
    )
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.MANAGE_MEMBERS)
        members = Membership.objects.filter(project=project).select_related("user").order_by("id")
        return Response(MemberListApi.OutputSerializer(members, many=True).data)


class MemberSetApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        role = serializers.ChoiceField(choices=ProjectRole.choices)

        def validate_username(self, username):
            user = get_user_model().objects.filter(username=username, is_active=True).first()
            if user is None:
                raise serializers.ValidationError(
                    _("There is no active user called '%(name)s'.") % {"name": username}
                )
            return user

    @extend_schema(
        summary="Add a member, or change an existing member's role",
        request=InputSerializer,
        responses={201: MemberListApi.OutputSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.MANAGE_MEMBERS)
        serializer = MemberSetApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = membership_set(
            actor=request.user,
            project=project,
            user=serializer.validated_data["username"],
            role=serializer.validated_data["role"],
        )
        return Response(
            MemberListApi.OutputSerializer(membership).data, status=status.HTTP_201_CREATED
        )


class MemberRemoveApi(BaseApi):
    @extend_schema(summary="Remove a member from the project", responses={204: None})
    def delete(self, request, project_id: int, user_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.MANAGE_MEMBERS)
        membership = get_object_or_404(
            Membership.objects.select_related("user"), project=project, user_id=user_id
        )
        membership_remove(actor=request.user, project=project, user=membership.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
