"""Items: import a file (a background job, polled at its url), browse the items, read one."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from annotation.forms.item_filters import ItemFilterForm
from annotation.models import (
    DataSource,
    ImportJob,
    ImportOnError,
    ImportQuoting,
    PiiFindingStatus,
)
from annotation.pipeline.readers import FORMATS
from annotation.selectors import item_list
from annotation.selectors.browser import (
    PAGE_SIZE,
    PAGE_SIZE_MAX,
    Agreement,
    DuplicateRole,
    ItemState,
    item_browse,
    item_browse_count,
)
from annotation.selectors.browser_page import item_browse_page
from annotation.services.import_jobs import import_job_create
from annotation.services.items import (
    item_delete,
    item_reopen,
    item_review_request,
    item_text_update,
)
from annotation.services.reads import item_ids_read_record, items_read_record
from common.api import BaseApi
from governance.access import (
    access_item,
    access_project,
    access_project_items,
    access_project_with_perms,
)
from governance.roles import Perm

_QUOTING_HELP = (
    "CSV/TSV: 'standard' (a field may be wrapped in double quotes), 'none' (quote characters are "
    "text) or 'auto': standard for CSV; for TSV, standard only when the first lines quote fields "
    "the way a CSV writer does. The job's report says which was used."
)


class ImportJobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="Poll this for progress, counts and report.")
    status = serializers.CharField()
    filename = serializers.CharField()
    on_error = serializers.CharField()
    quoting = serializers.CharField()
    source = serializers.IntegerField(source="source_id", allow_null=True)
    rows_read = serializers.IntegerField(
        source="progress_done",
        help_text="Rows read, good and bad: rows_read = created + skipped + errors_count."
    )
    created = serializers.IntegerField(help_text="Items created (near duplicates included).")
    skipped = serializers.IntegerField(
        help_text="Rows not created because the project, or an earlier row, already has the item "
        "(same external id, or same text for a row without one)."
    )
    near_duplicates = serializers.IntegerField(
        help_text="Items created and linked to the first item of their near-duplicate group, by "
        "the near-duplicate pass that runs once the import has committed (0 until it ends)."
    )
    errors_count = serializers.IntegerField(help_text="Bad rows (listed in report.errors).")
    error = serializers.CharField()
    report = serializers.JSONField(
        help_text="errors (file, member, row, field, message), near_duplicates (item, keeper, "
        "similarity; written by the near-duplicate pass), labels_created, "
        "quoting (the quoting each CSV/TSV file was read with)."
    )

    def get_url(self, job) -> str:
        return reverse("api:import-job", args=[job.project_id, job.pk])


def _job_accepted(job: ImportJob) -> Response:
    data = ImportJobOutputSerializer(job).data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class ItemsImportApi(BaseApi):
    """The quick import: a "reject" background job (all rows or none), as on the project page.

    Why not imported within the request: cleaning and the personal-data scan need presidio, whose
    loading takes a web process 15-25 s; the worker has it loaded already.
    """

    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            help_text="CSV or TSV with a 'text' column, JSONL with a 'text' key per line, or any "
            "other supported format."
        )
        format = serializers.ChoiceField(
            choices=FORMATS, required=False, help_text="Defaults to the file name's extension."
        )
        quoting = serializers.ChoiceField(
            choices=ImportQuoting.values, default=ImportQuoting.AUTO, help_text=_QUOTING_HELP
        )

    @extend_schema(
        summary="Import items from a file, all rows or none, in the background; poll the job's url",
        request={"multipart/form-data": InputSerializer},
        responses={202: ImportJobOutputSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
        serializer = ItemsImportApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        job = import_job_create(
            actor=request.user, project=project, stream=upload, filename=upload.name,
            fmt=data.get("format"), quoting=data["quoting"],
        )  # fmt: skip
        return _job_accepted(job)


class ImportJobCreateApi(BaseApi):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text="Any supported format; read in a worker, never whole in memory.")
        format = serializers.ChoiceField(
            choices=FORMATS, required=False, help_text="Defaults to the file name's extension."
        )
        on_error = serializers.ChoiceField(choices=ImportOnError.values, default=ImportOnError.REJECT)
        source = serializers.IntegerField(required=False, help_text="Id of one of the project's data sources.")
        create_missing_labels = serializers.BooleanField(default=False)
        quoting = serializers.ChoiceField(
            choices=ImportQuoting.values, default=ImportQuoting.AUTO, help_text=_QUOTING_HELP
        )

    OutputSerializer = ImportJobOutputSerializer

    @extend_schema(
        summary="Import items from a file in the background; poll the job for progress and report",
        request={"multipart/form-data": InputSerializer},
        responses={202: ImportJobOutputSerializer},
    )
    def post(self, request, project_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
        serializer = ImportJobCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source = None
        if data.get("source") is not None:
            source = get_object_or_404(DataSource, project=project, pk=data["source"])
        upload = data["file"]
        job = import_job_create(
            actor=request.user, project=project, stream=upload, filename=upload.name, fmt=data.get("format"),
            on_error=data["on_error"], source=source, create_missing_labels=data["create_missing_labels"],
            quoting=data["quoting"],
        )
        return _job_accepted(job)


class ImportJobDetailApi(BaseApi):
    @extend_schema(summary="One import job: progress, counts and report", responses=ImportJobOutputSerializer)
    def get(self, request, project_id: int, import_job_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.IMPORT_ITEMS)
        job = get_object_or_404(ImportJob, project=project, pk=import_job_id)
        return Response(ImportJobOutputSerializer(job).data)


class ItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    text = serializers.CharField()
    meta = serializers.JSONField()
    annotation_count = serializers.IntegerField()
    is_done = serializers.BooleanField()


class ItemSuggestionSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="The latest prediction's labels (or spans by label), in words.")
    score = serializers.FloatField()
    model_version = serializers.CharField()


# The query parameters, as the item browser's page takes them (annotation/forms/item_filters.py).
_FILTER_PARAMETERS = [
    OpenApiParameter("status", str, many=True, enum=ItemState.values,
                     description="Repeatable; items in any of these states."),
    OpenApiParameter("annotator", str, description="Username of someone who answered or skipped the item."),
    OpenApiParameter("agreement", str, enum=Agreement.values,
                     description="unanimous or split final answer, or undecided (no final answer)."),
    OpenApiParameter("model_version", str, description="The latest suggestion's model version."),
    OpenApiParameter("confidence_min", float, description="The latest suggestion's score, at least."),
    OpenApiParameter("confidence_max", float, description="The latest suggestion's score, at most."),
    OpenApiParameter("pii", str, description="A personal-data entity name, 'any' or 'none'."),
    OpenApiParameter("pii_status", str, enum=PiiFindingStatus.values,
                     description="Items with a finding in this review state (with pii: the same finding)."),
    OpenApiParameter("duplicates", str, enum=DuplicateRole.values),
    OpenApiParameter("group", int, description="Near-duplicate group: its keeper's id."),
    OpenApiParameter("source", int, description="Data source id."),
    OpenApiParameter("imported_from", OpenApiTypes.DATE),
    OpenApiParameter("imported_to", OpenApiTypes.DATE),
    OpenApiParameter("dataset_version", int, description="Items that dataset version (its number) holds."),
    OpenApiParameter("q", str, description="Words the text holds, all of them (the keyed word index)."),
    OpenApiParameter("text", str, description="The whole text, exactly (after normalisation)."),
    OpenApiParameter("after", int, description="Cursor: the next_after of the previous page."),
    OpenApiParameter("page_size", int, description=f"Items per page, at most {PAGE_SIZE_MAX} (default {PAGE_SIZE})."),
]  # fmt: skip
_WITH_COUNT = OpenApiParameter(
    "with_count", bool, default=False,
    description="Also count the matches (up to 10,000; count_capped says where it stopped). Without "
    "it count and count_capped are null: the count can cost more than the page, so ask once.",
)  # fmt: skip


class ItemListApi(BaseApi):
    """The project's items, newest first, filtered and paged by cursor: ``after`` takes the last
    page's ``next_after``. Annotators get only the items they answered or skipped. The count only
    where ``with_count`` asks for it (it may cost more than the page); it stops at 10,000
    (``count_capped`` says so) so that no request counts a whole big project. Each page is one
    audited read of the texts on it."""

    class OutputSerializer(ItemOutputSerializer):
        statuses = serializers.ListField(
            source="states", child=serializers.ChoiceField(choices=ItemState.values)
        )
        annotators = serializers.ListField(child=serializers.CharField())
        agreement = serializers.CharField(help_text="unanimous, split or undecided; empty for annotators.")
        suggestion = ItemSuggestionSerializer(allow_null=True)
        pii = serializers.DictField(child=serializers.IntegerField(), help_text="Findings by entity.")
        duplicate_of = serializers.IntegerField(allow_null=True)
        group = serializers.IntegerField(allow_null=True, help_text="The near-duplicate group's keeper id.")
        source = serializers.CharField(help_text="The data source's name.")
        imported_at = serializers.DateTimeField()
        dataset_versions = serializers.ListField(child=serializers.IntegerField())

    @extend_schema(
        operation_id="projects_items_list",
        summary="The project's items, filtered, newest first, a page at a time by cursor",
        parameters=[*_FILTER_PARAMETERS, _WITH_COUNT],
        responses=inline_serializer(
            "ItemListPage",
            fields={
                "count": serializers.IntegerField(
                    allow_null=True, help_text="Matches, at most 10,000; null without with_count."
                ),
                "count_capped": serializers.BooleanField(
                    allow_null=True, help_text="True where counting stopped at 10,000; null without with_count."
                ),
                "next": serializers.CharField(allow_null=True),
                "next_after": serializers.IntegerField(allow_null=True),
                "results": OutputSerializer(many=True),
            },
        ),
    )
    def get(self, request, project_id: int):
        project, perms = access_project_items(user=request.user, project_id=project_id)
        form = ItemFilterForm(request.query_params, project=project)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors.get_json_data())
        items = item_browse(project=project, user=request.user, perms=perms, filters=form.filters())
        page = item_browse_page(
            project=project, user=request.user, perms=perms, items=items, after=form.cursor(),
            page_size=form.rows_per_page(), text_chars=None, with_meta=True,
        )  # fmt: skip
        shown = [row.id for row in page.rows]
        item_ids_read_record(actor=request.user, project=project, item_ids=shown, via="api.items")
        count = item_browse_count(items=items) if _with_count(request) else None
        next_url = None
        if page.next_after is not None:
            query = request.query_params.copy()
            query["after"] = str(page.next_after)
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response(
            {
                "count": count.value if count else None,
                "count_capped": count.capped if count else None,
                "next": next_url,
                "next_after": page.next_after,
                "results": [_row_json(row) for row in page.rows],
            }
        )


def _with_count(request) -> bool:
    field = serializers.BooleanField()
    try:
        return field.to_internal_value(request.query_params.get("with_count", "false"))
    except serializers.ValidationError as error:
        raise serializers.ValidationError({"with_count": error.detail}) from error


_imported_at = serializers.DateTimeField()


def _row_json(row) -> dict:
    """ItemListApi.OutputSerializer's output, built directly: DRF's serializer took ~5 ms of a
    ~20 ms page for 50 rows (bench/RESULTS.md); tests compare the two."""
    suggestion = row.suggestion
    return {
        "id": row.id,
        "external_id": row.external_id,
        "text": row.text,
        "meta": row.meta,
        "annotation_count": row.annotation_count,
        "is_done": row.is_done,
        "statuses": row.states,
        "annotators": row.annotators,
        "agreement": str(row.agreement),
        "suggestion": None
        if suggestion is None
        else {
            "value": suggestion["value"],
            "score": None if suggestion["score"] is None else float(suggestion["score"]),
            "model_version": suggestion["model_version"],
        },
        "pii": row.pii,
        "duplicate_of": row.duplicate_of,
        "group": row.group,
        "source": row.source,
        "imported_at": _imported_at.to_representation(row.imported_at),
        "dataset_versions": row.dataset_versions,
    }


class ItemDetailApi(BaseApi):
    @extend_schema(operation_id="projects_item_retrieve", summary="One item", responses=ItemOutputSerializer)
    def get(self, request, project_id: int, item_id: int):
        project = access_project(user=request.user, project_id=project_id, perm=Perm.BROWSE_ITEMS)
        item = get_object_or_404(item_list(project=project), pk=item_id)
        items_read_record(actor=request.user, project=project, items=[item], via="api.item")
        return Response(ItemOutputSerializer(item).data)


# --- One item's actions (the item page's services) -------------------------------------------


class ItemStateOutputSerializer(serializers.Serializer):
    """An item's state after an action; never its text, so answering is no read of it."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    text_revision = serializers.IntegerField(
        help_text="Counts the text's edits; answers keep the one they were made on."
    )
    annotation_count = serializers.IntegerField()
    is_done = serializers.BooleanField()
    is_gold = serializers.BooleanField()


def _item_for(request, project_id: int, item_id: int, perm: str):
    project, perms = access_project_with_perms(user=request.user, project_id=project_id, perm=perm)
    return access_item(user=request.user, project=project, item_id=item_id, perms=perms)


class ItemTextUpdateApi(BaseApi):
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(
            trim_whitespace=False, help_text="Cleaned by the project's rules, as at import."
        )

    @extend_schema(
        summary="Edit an item's text: a new revision, scanned for personal data in the background",
        request=InputSerializer,
        responses=ItemStateOutputSerializer,
    )
    def patch(self, request, project_id: int, item_id: int):
        item = _item_for(request, project_id, item_id, Perm.CHANGE_PROJECT)
        serializer = ItemTextUpdateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        text = serializer.validated_data["text"]
        item = item_text_update(actor=request.user, item=item, text=text)
        return Response(ItemStateOutputSerializer(item).data)


class ItemDeleteApi(BaseApi):
    @extend_schema(
        summary="Delete an item with its answers (refused while dataset versions hold it)",
        responses={204: None},
    )
    def delete(self, request, project_id: int, item_id: int):
        item = _item_for(request, project_id, item_id, Perm.CHANGE_PROJECT)
        item_delete(actor=request.user, item=item)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ItemReviewRequestApi(BaseApi):
    @extend_schema(
        summary="Send an item to review: its final answer goes",
        request=None,
        responses=ItemStateOutputSerializer,
    )
    def post(self, request, project_id: int, item_id: int):
        item = _item_for(request, project_id, item_id, Perm.REVIEW)
        item = item_review_request(actor=request.user, item=item)
        return Response(ItemStateOutputSerializer(item).data)


class ItemReopenApi(BaseApi):
    @extend_schema(
        summary="Reopen a done item: its answers go back to their annotators",
        request=None,
        responses=ItemStateOutputSerializer,
    )
    def post(self, request, project_id: int, item_id: int):
        item = _item_for(request, project_id, item_id, Perm.CHANGE_PROJECT)
        item = item_reopen(actor=request.user, item=item)
        return Response(ItemStateOutputSerializer(item).data)
