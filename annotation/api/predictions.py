"""Model predictions of a project's items, listed (training starts the jobs that make them)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from annotation.selectors import prediction_list
from common.api import ListApi
from governance.access import access_project
from governance.roles import Perm


class PredictionListApi(ListApi):
    """Every prediction of the project, so it needs browse_items like the item list.

    Annotators see a suggestion only with the item the queue hands them (QueueNextApi).
    """

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        item = serializers.IntegerField(source="item_id")
        model_version = serializers.CharField()
        value = serializers.JSONField()
        score = serializers.FloatField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        summary="Model predictions for the project's items", responses=OutputSerializer(many=True)
    )
    def get(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.BROWSE_ITEMS)
        return self.paginated_response(
            prediction_list(project=project), PredictionListApi.OutputSerializer
        )
