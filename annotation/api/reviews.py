"""Reviewing through the API: take the next item to review, resolve it into a final answer, or reject."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from annotation.api.annotations import AnnotationListApi
from annotation.models import FinalSource, Item
from annotation.selectors import final_list, item_review_context
from annotation.services.reviews import (
    majority_value,
    review_next_item,
    review_reject,
    review_resolve,
)
from common.api import BaseApi, ListApi
from governance.access import access_item, access_project, access_project_with_perms
from governance.roles import Perm


class FinalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.IntegerField(source="item_id")
    value = serializers.JSONField()
    source = serializers.ChoiceField(choices=FinalSource.choices)
    unanimous = serializers.BooleanField(help_text="Whether every annotator had given this answer.")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    updated_at = serializers.DateTimeField()


def _item_to_review(request, project_id: int, item_id: int) -> Item:
    """The item named in the URL, through the gate, before the input is looked at: an item of
    another project answers 404 whatever the body holds."""
    project, perms = access_project_with_perms(user=request.user, project_id=project_id, perm=Perm.REVIEW)
    return access_item(user=request.user, project=project, item_id=item_id, perms=perms)


class ReviewNextApi(BaseApi):
    class OutputSerializer(serializers.Serializer):
        class ItemSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            external_id = serializers.CharField()
            text = serializers.CharField()

        item = ItemSerializer()
        annotations = AnnotationListApi.OutputSerializer(many=True)
        proposal = serializers.JSONField(help_text="The most common answer, as a starting point.")

    @extend_schema(
        summary="Hold the next item waiting for review",
        request=None,
        responses={200: OutputSerializer, 204: None},
        description="Returns 204 when nothing waits for review. One reviewer holds an item at a time.",
    )
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.REVIEW)
        item = review_next_item(actor=request.user, project=project)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        details = item_review_context(item=item)
        data = {"item": item, "annotations": details.annotations, "proposal": majority_value(details.annotations)}
        return Response(ReviewNextApi.OutputSerializer(data).data)


class ReviewResolveApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        value = serializers.JSONField(help_text='The final answer: {"labels": [...]} or {"spans": [...]}')
        comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(
        summary="Decide the item's final answer (accepts matching annotations, corrects the others)",
        request=InputSerializer,
        responses={200: FinalSerializer},
    )
    def post(self, request, project_id: int, item_id: int):
        item = _item_to_review(request, project_id, item_id)
        serializer = ReviewResolveApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        final = review_resolve(actor=request.user, item=item, **serializer.validated_data)
        return Response(FinalSerializer(final).data)


class ReviewRejectApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        comment = serializers.CharField(max_length=2000, help_text="Why; the annotators read it.")
        annotation_ids = serializers.ListField(
            child=serializers.IntegerField(), required=False, allow_null=True, default=None,
            help_text="Which annotations to reject; all submitted ones of the item if left out.",
        )

    @extend_schema(
        summary="Send annotations back to their annotators with a comment",
        request=InputSerializer,
        responses={200: AnnotationListApi.OutputSerializer(many=True)},
    )
    def post(self, request, project_id: int, item_id: int):
        item = _item_to_review(request, project_id, item_id)
        serializer = ReviewRejectApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rejected = review_reject(actor=request.user, item=item, **serializer.validated_data)
        return Response(AnnotationListApi.OutputSerializer(rejected, many=True).data)


class FinalListApi(ListApi):
    @extend_schema(
        summary="Final answers of the project's items (by agreement or by a reviewer)",
        responses=FinalSerializer(many=True),
    )
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.VIEW_ANNOTATIONS)
        return self.paginated_response(final_list(project=project), FinalSerializer)
