"""What an export streams: items with their answers, read in chunks."""

from collections.abc import Iterator

from django.contrib.auth import get_user_model

from annotation.models import (
    Annotation,
    AnnotationStatus,
    ExportRecord,
    Item,
)
from common.id_ranges import id_ranges_contain
from governance.selectors.key_versions import sealed_files_by_version
from projects.models import Project

EXPORT_CHUNK = 2000


def export_records(*, project: Project, selection: list[list[int]] | None = None) -> Iterator[dict]:
    """One record per item that has a submitted annotation, with those annotations, in id order;
    only the items in ``selection`` ([first, last] id runs, ascending) when it is given.

    Read as plain values and opened directly (``Model.<field>.opened``), EXPORT_CHUNK items at a
    time with their annotations in one query: building an instance of the item, each annotation
    and its annotator's whole user row cost more than the decryption.
    """
    items = (
        Item.objects.filter(project=project, annotations__status=AnnotationStatus.SUBMITTED)
        .distinct()
        .order_by("id")
        .values_list("id", "external_id", "text_ct", "text_index", "meta_ct")
    )
    chunk = []
    for row in items.iterator(chunk_size=EXPORT_CHUNK):
        if selection is not None and not id_ranges_contain(selection, row[0]):
            continue
        chunk.append(row)
        if len(chunk) == EXPORT_CHUNK:
            yield from _export_chunk(project.pk, chunk)
            chunk = []
    yield from _export_chunk(project.pk, chunk)


def _export_chunk(project_id: int, items: list) -> Iterator[dict]:
    if not items:
        return
    submitted = (
        Annotation.objects.filter(
            item_id__in=[row[0] for row in items], status=AnnotationStatus.SUBMITTED
        )
        .order_by("id")
        .values_list(
            "item_id",
            "annotator_id",
            f"annotator__{get_user_model().USERNAME_FIELD}",
            "status",
            "value_ct",
            "lead_time_ms",
            "created_at",
            "updated_at",
        )  # fmt: skip
    )
    by_item: dict[int, list[dict]] = {}
    for (
        item_id,
        annotator_id,
        username,
        status,
        value_ct,
        lead_time_ms,
        created,
        updated,
    ) in submitted:
        by_item.setdefault(item_id, []).append(
            {
                "annotator": username,
                "status": status,
                "value": Annotation.value.opened(project_id, value_ct, item_id, annotator_id),
                "lead_time_ms": lead_time_ms,
                "created_at": created.isoformat(),
                "updated_at": updated.isoformat(),
            }
        )
    for item_id, external_id, text_ct, text_index, meta_ct in items:
        yield {
            "id": item_id,
            "external_id": external_id,
            "text": Item.text.opened(project_id, text_ct, text_index),
            "meta": Item.meta.opened(project_id, meta_ct),
            "annotations": by_item.get(item_id, []),
        }


def export_files_by_key_version(*, project_id: int):
    """{key version: n} of the project's export files on disk (the Keys page's counts; docs/keys.md)."""
    paths = ExportRecord.objects.filter(project_id=project_id).exclude(file_path="").values_list("file_path", flat=True)
    return sealed_files_by_version(paths)
