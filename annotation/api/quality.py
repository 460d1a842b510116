"""Quality figures as JSON, and gold items: list them, mark an item as gold, return it to the queue."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from annotation.models import Item
from annotation.quality.gold import gold_item_list
from annotation.quality.report import quality_report
from annotation.services.gold import item_gold_clear, item_gold_set
from common.api import BaseApi, ListApi
from governance.access import access_project
from governance.roles import Perm


class QualityReportApi(BaseApi):
    class OutputSerializer(serializers.Serializer):
        class MeasureSerializer(serializers.Serializer):
            key = serializers.CharField(
                help_text="krippendorff_alpha, fleiss_kappa, cohen_kappa_mean, label_alpha_mean, "
                "pooled_kappa_mean, span_alpha, span_label_alpha_mean, exact_f1_mean or partial_f1_mean."
            )
            value = serializers.FloatField(
                allow_null=True, help_text="null when the data cannot say."
            )
            chance_corrected = serializers.BooleanField()
            band = serializers.CharField(
                allow_null=True,
                help_text="Landis & Koch reading: poor, slight, fair, moderate, substantial, almost_perfect.",
            )

        class PairSerializer(serializers.Serializer):
            first = serializers.CharField()
            second = serializers.CharField()
            items = serializers.IntegerField(help_text="Items both annotators answered.")
            score = serializers.FloatField(allow_null=True, help_text="The report's pair_measure.")
            observed = serializers.FloatField(
                allow_null=True, help_text="Share of items with the same answer."
            )
            partial_f1 = serializers.FloatField(
                allow_null=True, help_text="Span projects: overlapping-span F1."
            )

        class LabelSerializer(serializers.Serializer):
            name = serializers.CharField()
            annotated = serializers.IntegerField(
                help_text="Uses in submitted answers (spans: spans)."
            )
            final = serializers.IntegerField(help_text="Uses in final answers.")
            agreement = serializers.FloatField(
                allow_null=True, help_text="Krippendorff's alpha of this label against the rest."
            )

        class AnnotatorSerializer(serializers.Serializer):
            username = serializers.CharField()
            submitted = serializers.IntegerField()
            skipped = serializers.IntegerField()
            sent_back = serializers.IntegerField(
                help_text="Answers a reviewer returned, not yet redone."
            )
            lead_time_mean_ms = serializers.FloatField(allow_null=True)
            lead_time_median_ms = serializers.FloatField(allow_null=True)
            active_hours = serializers.IntegerField()
            per_active_hour = serializers.FloatField(allow_null=True)
            hourly = serializers.ListField(
                child=serializers.IntegerField(),
                help_text="Submissions in each of the report's hours.",
            )
            agreement_with_others = serializers.FloatField(allow_null=True)
            finals_compared = serializers.IntegerField()
            finals_accuracy = serializers.FloatField(
                allow_null=True, help_text="Against reviewers' final answers."
            )
            reviews_accepted = serializers.IntegerField()
            reviews_corrected = serializers.IntegerField()
            reviews_rejected = serializers.IntegerField()
            gold_answered = serializers.IntegerField()
            gold_correct = serializers.IntegerField()
            gold_accuracy = serializers.FloatField(allow_null=True)
            gold_f1 = serializers.FloatField(allow_null=True)
            suggestions_shown = serializers.IntegerField()
            suggestions_accepted = serializers.IntegerField()
            suggestions_modified = serializers.IntegerField()
            suggestions_rejected = serializers.IntegerField()
            acceptance_rate = serializers.FloatField(allow_null=True)
            rubber_stamping = serializers.BooleanField(
                help_text="Accepts nearly every suggestion, far faster than the project's median lead time."
            )

        class ModelVersionSerializer(serializers.Serializer):
            model_version = serializers.CharField(
                help_text="Empty when the prediction was deleted."
            )
            shown = serializers.IntegerField()
            accepted = serializers.IntegerField()
            modified = serializers.IntegerField()
            rejected = serializers.IntegerField()
            accepted_share = serializers.FloatField(allow_null=True)

        task_type = serializers.CharField()
        pair_measure = serializers.CharField(
            help_text="cohen_kappa, pooled_kappa (multi-label) or exact_f1 (spans)."
        )
        items_compared = serializers.IntegerField(
            help_text="Ordinary items with two or more submitted answers."
        )
        submitted = serializers.IntegerField(
            help_text="Submitted answers on ordinary (not gold) items."
        )
        annotators = serializers.ListField(child=serializers.CharField())
        measures = MeasureSerializer(many=True)
        pairs = PairSerializer(many=True)
        labels = LabelSerializer(many=True)
        per_annotator = AnnotatorSerializer(many=True)
        model_versions = ModelVersionSerializer(many=True)
        hours = serializers.ListField(child=serializers.DateTimeField())
        lead_time_median_ms = serializers.FloatField(allow_null=True)

    @extend_schema(
        summary="Agreement and quality figures of the project", responses=OutputSerializer
    )
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.VIEW_QUALITY)
        return Response(QualityReportApi.OutputSerializer(quality_report(project=project)).data)


class GoldItemListApi(ListApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(source="item.pk")
        external_id = serializers.CharField(source="item.external_id")
        value = serializers.JSONField(help_text="The known answer.")
        answered = serializers.IntegerField(help_text="Annotators who met the item.")
        correct = serializers.IntegerField()
        accuracy = serializers.FloatField(allow_null=True)

    @extend_schema(
        summary="Gold items with their answers and how annotators did on them",
        responses=OutputSerializer(many=True),
    )
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
        return self.paginated_response(
            gold_item_list(project=project), GoldItemListApi.OutputSerializer
        )


class GoldItemSetApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        value = serializers.JSONField(
            help_text='{"labels": ["positive"]} or {"spans": [{"start", "end", "label"}]}'
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        external_id = serializers.CharField()
        value = serializers.JSONField(source="gold_value")

    @extend_schema(
        summary="Mark an item as gold with its known answer, or change the answer",
        request=InputSerializer,
        responses=OutputSerializer,
    )
    def put(self, request, project_id: int, item_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
        item = get_object_or_404(Item, pk=item_id, project=project)
        serializer = GoldItemSetApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = item_gold_set(
            actor=request.user, item=item, value=serializer.validated_data["value"]
        )
        return Response(GoldItemSetApi.OutputSerializer(item).data)


class GoldItemClearApi(BaseApi):
    @extend_schema(
        summary="Return a gold item to the ordinary queue", request=None, responses={204: None}
    )
    def delete(self, request, project_id: int, item_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.CHANGE_PROJECT)
        item_gold_clear(
            actor=request.user, item=get_object_or_404(Item, pk=item_id, project=project)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
