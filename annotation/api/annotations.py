"""Labelling through the API: take the next item, submit or skip it, list annotations."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from annotation.api.projects import ProgressSerializer
from annotation.models import AnnotationStatus, Item, SuggestionOutcome
from annotation.selectors import (
    PROGRESS_MAX_AGE_S,
    annotation_list,
    item_suggestion,
    project_progress,
)
from annotation.services.annotations import annotation_submit, item_skip
from annotation.services.queue import queue_next_item
from common.api import BaseApi, ListApi, represented
from governance.access import access_item, access_project, access_project_with_perms
from governance.roles import Perm


def _item_of(project, item_id) -> Item:
    # Not read here: the services read the row again under its lock, in this project, and answer
    # 404 when it is not there or not handed to the actor, so a read here would only repeat theirs.
    return Item(pk=item_id, project=project)


def _input_valid(serializer, *, request, project, perms, item_id) -> dict:
    """The serializer's data; bad input is reported only for an item the caller may see.

    Valid input goes on to the service, whose locked read answers 404 for the others; the gate
    is asked only here, on the way to a 400, so the fast path reads the item once.
    """
    if not serializer.is_valid():
        access_item(user=request.user, project=project, item_id=item_id, perms=perms)
        raise ValidationError(serializer.errors)
    return serializer.validated_data


class AnnotationListApi(ListApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        item = serializers.IntegerField(source="item_id")
        annotator = serializers.CharField(source="annotator.username")
        status = serializers.ChoiceField(choices=AnnotationStatus.choices)
        value = serializers.JSONField()
        lead_time_ms = serializers.IntegerField()
        prediction = serializers.IntegerField(source="prediction_id", allow_null=True)
        suggestion_outcome = serializers.ChoiceField(
            choices=SuggestionOutcome.choices,
            allow_blank=True,
            help_text="What became of the suggestion shown: accepted unchanged, modified or rejected; blank if none.",
        )
        comment = serializers.CharField()
        skip_reason = serializers.CharField()
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

    @extend_schema(
        summary="Annotations of the project (only your own unless your role may see everyone's)",
        responses=OutputSerializer(many=True),
    )
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.VIEW_PROJECT)
        return self.paginated_response(
            annotation_list(project=project, user=request.user), AnnotationListApi.OutputSerializer
        )


class QueueNextApi(BaseApi):
    class OutputSerializer(serializers.Serializer):
        class ItemSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            external_id = serializers.CharField()
            text = serializers.CharField()
            meta = serializers.JSONField()

        class SuggestionSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            value = serializers.JSONField()
            score = serializers.FloatField()
            model_version = serializers.CharField()

        item = ItemSerializer()
        suggestion = SuggestionSerializer(
            allow_null=True, help_text="The latest model prediction, if your role may see it."
        )
        progress = ProgressSerializer()

    @extend_schema(
        summary="Reserve the next item for you to label",
        request=None,
        responses={200: OutputSerializer, 204: None},
        description="Returns 204 when nothing is left for you. The item stays reserved for you "
        "until you "
        "submit or skip it, or the reservation expires.",
    )
    def post(self, request, project_id: int):
        project, perms = access_project_with_perms(
            user=request.user, project_id=project_id, perm=Perm.ANNOTATE
        )
        item = queue_next_item(actor=request.user, project=project)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = {
            "item": item,
            "suggestion": item_suggestion(item=item, may_see_predictions=Perm.VIEW_PREDICTIONS in perms),
            # Team totals may lag a few seconds here (the annotator's own count never does):
            # counting a 100,000-item project on every "next" would cost more than the rest.
            "progress": project_progress(
                project=project, user=request.user, max_age_s=PROGRESS_MAX_AGE_S
            ),
        }
        return Response(represented(QueueNextApi.OutputSerializer, data))


class AnnotationSubmitApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        value = serializers.JSONField(
            help_text='{"labels": ["positive"]} or {"spans": [{"start", "end", "label"}]}'
        )
        lead_time_ms = serializers.IntegerField(min_value=0, default=0)
        prediction_id = serializers.IntegerField(
            required=False, allow_null=True, default=None, help_text="The suggestion that was shown, if any."
        )
        suggestion_rejected = serializers.BooleanField(
            default=False, help_text="The annotator explicitly rejected the suggestion shown."
        )
        comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(
        summary="Submit your answer for an item (again to replace it)",
        request=InputSerializer,
        responses={201: AnnotationListApi.OutputSerializer},
    )
    def post(self, request, project_id: int, item_id: int):
        project, perms = access_project_with_perms(
            user=request.user, project_id=project_id, perm=Perm.ANNOTATE
        )
        data = _input_valid(
            AnnotationSubmitApi.InputSerializer(data=request.data),
            request=request, project=project, perms=perms, item_id=item_id,
        )  # fmt: skip
        annotation = annotation_submit(actor=request.user, item=_item_of(project, item_id), **data)
        return Response(
            represented(AnnotationListApi.OutputSerializer, annotation),
            status=status.HTTP_201_CREATED,
        )


class ItemSkipApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        # Checked by the service, as for the page: a reason must be given.
        reason = serializers.CharField(
            max_length=500, required=False, allow_blank=True, default="",
            help_text="Why you pass on the item (required).",
        )  # fmt: skip

    @extend_schema(
        summary="Pass on an item; it stays open for other annotators",
        request=InputSerializer,
        responses={201: AnnotationListApi.OutputSerializer},
    )
    def post(self, request, project_id: int, item_id: int):
        project, perms = access_project_with_perms(
            user=request.user, project_id=project_id, perm=Perm.ANNOTATE
        )
        data = _input_valid(
            ItemSkipApi.InputSerializer(data=request.data),
            request=request, project=project, perms=perms, item_id=item_id,
        )  # fmt: skip
        annotation = item_skip(actor=request.user, item=_item_of(project, item_id), **data)
        return Response(
            AnnotationListApi.OutputSerializer(annotation).data, status=status.HTTP_201_CREATED
        )
