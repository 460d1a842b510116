"""Active learning over the API: settings, status, learning curve and stopping hint; label issues; similar items."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from annotation.selectors import item_list
from annotation.services.reads import items_read_record
from common.api import BaseApi, ListApi
from governance.access import access_project
from governance.roles import Perm
from training.models.active import LabelIssueStatus, Strategy
from training.selectors.active import active_learning_overview, label_issue_get, label_issue_list
from training.services.active_learning import (
    active_learning_refresh_request,
    active_learning_update,
)
from training.services.label_issues import (
    label_check_latest,
    label_check_status,
    label_issue_resolve,
    label_issues_request,
)
from training.services.seed_keywords import keywords_of, label_keywords_set
from training.services.similar import MAX_NEIGHBOURS, ItemNotEmbedded, similar_items


def _overview(project) -> dict:
    overview = active_learning_overview(project=project)
    state = overview["state"]
    check = label_check_latest(project=project)
    return {
        "strategy": state.strategy,
        "control_fraction": state.control_fraction,
        "refresh_every": state.refresh_every,
        "keywords": {label.name: keywords_of(label) for label in project.labels.all()},
        "status": {
            "refresh_status": overview["refresh"]["status"],
            "pending_labels": state.pending_labels,
            "scored_by": state.scored_by,
            "refreshed_at": state.refreshed_at,
            "refresh_seconds": state.refresh_seconds,
            "error": overview["refresh"]["error"],
        },
        "stopping_hint": overview["hint"],
        "learning_curve": overview["curve"],
        "label_check": {
            "status": label_check_status(check),
            "error": check.error if check is not None else "",
            "checked_at": state.label_check_at,
            "items": state.label_check_items,
            "issue_rate": state.label_issue_rate,
            "open_issues": overview["open_issues"],
        },
    }


class ActiveLearningDetailApi(BaseApi):
    """Accuracy in the learning curve is measured on the labelled items of the random control slice,
    by a head model trained without them; the stopping hint compares successive predictions on a
    fixed sample of unlabelled items (Cohen's kappa)."""

    class OutputSerializer(serializers.Serializer):
        class StatusSerializer(serializers.Serializer):
            refresh_status = serializers.CharField()
            pending_labels = serializers.IntegerField(help_text="Labels submitted since the last refresh started.")
            scored_by = serializers.CharField(help_text="What ranked the queue last.")
            refreshed_at = serializers.DateTimeField(allow_null=True)
            refresh_seconds = serializers.FloatField()
            error = serializers.CharField()

        class HintSerializer(serializers.Serializer):
            stopped = serializers.BooleanField(help_text="True when the model has stopped changing.")
            agreement = serializers.FloatField(allow_null=True, help_text="Last Cohen's kappa between refreshes.")
            refreshes = serializers.IntegerField()

        class PointSerializer(serializers.Serializer):
            labels = serializers.IntegerField()
            control_labels = serializers.IntegerField()
            accuracy = serializers.FloatField(allow_null=True)
            scored_by = serializers.CharField()
            model_version = serializers.CharField(allow_null=True)
            activated = serializers.BooleanField(help_text="The first point ranked by this model version.")
            created_at = serializers.DateTimeField()

        class LabelCheckSerializer(serializers.Serializer):
            status = serializers.CharField(help_text="idle, queued or running: a requested check is done once idle.")
            error = serializers.CharField(help_text="Why the last check failed; empty when it did not.")
            checked_at = serializers.DateTimeField(allow_null=True)
            items = serializers.IntegerField()
            issue_rate = serializers.FloatField(allow_null=True)
            open_issues = serializers.IntegerField()

        strategy = serializers.ChoiceField(choices=Strategy.choices)
        control_fraction = serializers.FloatField()
        refresh_every = serializers.IntegerField()
        keywords = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
        status = StatusSerializer()
        stopping_hint = HintSerializer()
        learning_curve = PointSerializer(many=True)
        label_check = LabelCheckSerializer()

    @extend_schema(summary="Active-learning settings, status, learning curve and stopping hint", responses=OutputSerializer)
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.VIEW_QUALITY)
        return Response(ActiveLearningDetailApi.OutputSerializer(_overview(project)).data)


class ActiveLearningUpdateApi(BaseApi):
    """A new strategy or control fraction re-ranks the queue in the background; "off" puts it back
    in import order at once. Keywords replace the named labels' seed words."""

    class InputSerializer(serializers.Serializer):
        strategy = serializers.ChoiceField(choices=Strategy.choices, required=False)
        control_fraction = serializers.FloatField(min_value=0, max_value=0.5, required=False)
        refresh_every = serializers.IntegerField(min_value=1, max_value=1000, required=False)
        keywords = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField(), allow_empty=True),
            required=False,
            help_text="Label name -> seed keywords.",
        )

    @extend_schema(
        summary="Change the active-learning settings",
        request=InputSerializer,
        responses=ActiveLearningDetailApi.OutputSerializer,
    )
    def patch(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
        serializer = ActiveLearningUpdateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        keywords = data.pop("keywords", None)
        with transaction.atomic():
            if data:
                active_learning_update(actor=request.user, project=project, **data)
            if keywords is not None:
                label_keywords_set(actor=request.user, project=project, keywords=keywords)
        return Response(ActiveLearningDetailApi.OutputSerializer(_overview(project)).data)


class ActiveLearningRefreshApi(BaseApi):
    """Queue a refresh of the head model now; one already running queues another when it ends."""

    class OutputSerializer(serializers.Serializer):
        queued = serializers.BooleanField()

    @extend_schema(summary="Refresh the queue order now", request=None, responses={202: OutputSerializer})
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
        if not active_learning_refresh_request(project=project, actor=request.user, force=True):
            return Response(
                {"strategy": ["Active learning is off for this project; choose a strategy first."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)


class LabelIssueListApi(ListApi):
    """Ranked most likely mislabelled first (lowest label quality). Each page's item texts are an audited read."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        item = serializers.IntegerField(source="item_id")
        text = serializers.CharField(source="item.text")
        given_label = serializers.CharField()
        suggested_label = serializers.CharField()
        quality = serializers.FloatField(help_text="cleanlab's label quality: lower is more likely wrong.")
        status = serializers.CharField()
        resolved_by = serializers.CharField(source="resolved_by.username", default=None, allow_null=True)
        resolved_at = serializers.DateTimeField(allow_null=True)
        created_at = serializers.DateTimeField()

    @extend_schema(
        summary="The project's label issues",
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=LabelIssueStatus.values, description="Defaults to open."
            )
        ],
        responses=OutputSerializer(many=True),
    )
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.REVIEW)
        wanted = request.query_params.get("status", LabelIssueStatus.OPEN)
        if wanted not in LabelIssueStatus.values:
            return Response(
                {"status": [f"must be one of {', '.join(LabelIssueStatus.values)}; got {wanted!r}."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(label_issue_list(project=project, status=wanted), request, view=self)
        items_read_record(actor=request.user, project=project, items=[issue.item for issue in page], via="api.label_issues")
        return paginator.get_paginated_response(LabelIssueListApi.OutputSerializer(page, many=True).data)


class LabelIssueCheckApi(BaseApi):
    """Single-label projects only. Open issues are replaced by the new findings; settled ones stay."""

    @extend_schema(summary="Check the labels with confident learning in the background", request=None, responses={202: None})
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.REVIEW)
        label_issues_request(actor=request.user, project=project)
        return Response(status=status.HTTP_202_ACCEPTED)


class LabelIssueResolveApi(BaseApi):
    """A "confirmed" verdict makes the label (by default the suggested one) the item's final answer,
    as a review would; "dismissed" keeps the label."""

    class InputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(choices=[LabelIssueStatus.CONFIRMED, LabelIssueStatus.DISMISSED])
        label = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(
        summary="Correct or keep a likely mislabelled item's label",
        request=InputSerializer,
        responses=LabelIssueListApi.OutputSerializer,
    )
    def post(self, request, project_id: int, issue_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.REVIEW)
        issue = label_issue_get(project=project, issue_id=issue_id)
        serializer = LabelIssueResolveApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        issue = label_issue_resolve(
            actor=request.user, issue=issue, decision=data["decision"], value=data.get("label") or None
        )
        items_read_record(actor=request.user, project=project, items=[issue.item], via="api.label_issue")
        return Response(LabelIssueListApi.OutputSerializer(issue).data)


class SimilarItemsApi(BaseApi):
    """Cosine similarity of cached embeddings; the neighbours' texts are an audited read. An item
    whose embedding is not computed yet answers with embedded false and no neighbours."""

    class OutputSerializer(serializers.Serializer):
        class NeighbourSerializer(serializers.Serializer):
            id = serializers.IntegerField(source="item.pk")
            text = serializers.CharField(source="item.text")
            score = serializers.FloatField(help_text="Cosine similarity, -1 to 1.")

        item = serializers.IntegerField()
        embedded = serializers.BooleanField()
        neighbours = NeighbourSerializer(many=True)

    @extend_schema(
        summary="Items closest in meaning to an item",
        parameters=[OpenApiParameter("k", OpenApiTypes.INT, description=f"How many, 1 to {MAX_NEIGHBOURS}; 10 by default.")],
        responses=OutputSerializer,
    )
    def get(self, request, project_id: int, item_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.BROWSE_ITEMS)
        item = get_object_or_404(item_list(project=project), pk=item_id)
        k = request.query_params.get("k", "10")
        if not k.isdigit():
            return Response({"k": [f"must be a whole number; got {k!r}."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            neighbours = similar_items(actor=request.user, project=project, item=item, k=int(k), via="api.similar")
            embedded = True
        except ItemNotEmbedded:
            neighbours, embedded = [], False
        data = {"item": item.pk, "embedded": embedded, "neighbours": neighbours}
        return Response(SimilarItemsApi.OutputSerializer(data).data)
