import csv
import io
import json

import pytest

from annotation.models import Item
from annotation.pipeline.readers import ImportRowError
from annotation.selectors import item_find_by_text
from annotation.services.annotations import annotation_submit, item_skip
from annotation.services.exports import annotations_export
from annotation.services.imports import items_import
from annotation.services.queue import queue_next_item
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db


def jsonl(*records) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in records).encode())


def test_import_creates_items_and_records_an_audit_event(project, manager):
    result = items_import(actor=manager, project=project, stream=jsonl({"text": "a", "id": "x1"}, {"text": "b"}), filename="f.jsonl")
    assert (result.rows, result.created, result.skipped_existing) == (2, 2, 0)
    assert item_find_by_text(project=project, text="a").filter(external_id="x1").exists()
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "item.import" and event.details["created"] == 2


def test_reimporting_the_same_file_adds_nothing_twice(project, manager):
    records = [{"text": "a", "id": "x1"}, {"text": "b", "id": "x2"}]
    items_import(actor=manager, project=project, stream=jsonl(*records), filename="f.jsonl")
    again = items_import(actor=manager, project=project, stream=jsonl(*records), filename="f.jsonl")
    assert (again.created, again.skipped_existing) == (0, 2)


def test_a_bad_row_late_in_a_large_file_leaves_nothing_imported(project, manager):
    before = Item.objects.count()
    # The bad row is in the second batch of 1,000: the first was already read and scanned.
    records = [{"text": f"row {i}"} for i in range(1200)] + [{"text": ""}]
    with pytest.raises(ImportRowError) as caught:
        items_import(actor=manager, project=project, stream=jsonl(*records), filename="big.jsonl")
    assert (caught.value.row, caught.value.field) == (1201, "text")
    assert Item.objects.count() == before
    assert not AuditEvent.objects.filter(action="item.import", details__file="big.jsonl").exists()


def test_csv_import_keeps_metadata_columns(project, manager):
    items_import(actor=manager, project=project, stream=io.BytesIO(b"text,channel\nhello,email\n"), filename="f.csv")
    assert item_find_by_text(project=project, text="hello").get().meta == {"channel": "email"}


def test_export_streams_submitted_annotations_as_jsonl_and_skips_skipped_items(project, annotator):
    first = queue_next_item(actor=annotator, project=project)
    annotation_submit(actor=annotator, item=first, value={"labels": ["positive"]}, lead_time_ms=900)
    item_skip(actor=annotator, item=queue_next_item(actor=annotator, project=project), reason="unclear")
    records = [json.loads(line) for line in b"".join(annotations_export(actor=annotator, project=project, fmt="jsonl")).splitlines()]
    assert [r["id"] for r in records] == [first.pk]
    assert records[0]["annotations"][0] | {"created_at": None, "updated_at": None} == {
        "annotator": "annotator",
        "status": "submitted",
        "value": {"labels": ["positive"]},
        "lead_time_ms": 900,
        "created_at": None,
        "updated_at": None,
    }


def test_export_as_csv_has_one_row_per_annotation_and_is_audited(project, annotator, manager):
    item = queue_next_item(actor=annotator, project=project)
    annotation_submit(actor=annotator, item=item, value={"labels": ["negative"]})
    data = b"".join(annotations_export(actor=manager, project=project, fmt="csv")).decode()
    rows = list(csv.DictReader(io.StringIO(data)))
    assert [(r["item_id"], r["labels"], r["annotator"]) for r in rows] == [(str(item.pk), "negative", "annotator")]
    assert AuditEvent.objects.filter(action="annotation.export", actor=manager, details__format="csv").exists()


def test_export_refuses_an_unknown_format_by_name(project, manager):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Unknown export format 'xlsx'"):
        annotations_export(actor=manager, project=project, fmt="xlsx")


def test_an_export_records_which_items_left_as_id_ranges(project, annotator, manager):
    submitted = []
    for _ in range(3):
        item = queue_next_item(actor=annotator, project=project)
        annotation_submit(actor=annotator, item=item, value={"labels": ["neutral"]})
        submitted.append(item.pk)
    b"".join(annotations_export(actor=manager, project=project, fmt="jsonl"))
    event = AuditEvent.objects.filter(action="item.read", actor=manager).latest("seq")
    assert event.details == {"via": "export.jsonl", "complete": True, "count": 3, "items": [[min(submitted), max(submitted)]]}


def test_an_export_abandoned_by_the_client_still_records_what_was_sent(project, annotator, manager):
    item = queue_next_item(actor=annotator, project=project)
    annotation_submit(actor=annotator, item=item, value={"labels": ["neutral"]})
    stream = annotations_export(actor=manager, project=project, fmt="csv")
    next(stream)  # the header only; the client disconnects
    stream.close()
    event = AuditEvent.objects.filter(action="item.read", actor=manager).latest("seq")
    assert (event.details["complete"], event.details["count"]) == (False, 0)


def test_export_lists_every_annotator_of_an_item_in_the_order_they_submitted(
    project, annotator, second_annotator, manager
):
    project.overlap = 2
    project.save(update_fields=["overlap"])
    item = queue_next_item(actor=annotator, project=project)
    annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    assert queue_next_item(actor=second_annotator, project=project).pk == item.pk
    annotation_submit(actor=second_annotator, item=item, value={"labels": ["negative"]})
    export = b"".join(annotations_export(actor=manager, project=project, fmt="jsonl"))
    (record,) = [json.loads(line) for line in export.splitlines()]
    assert record["id"] == item.pk and record["text"] == Item.objects.get(pk=item.pk).text
    assert [(a["annotator"], a["value"]) for a in record["annotations"]] == [
        (annotator.username, {"labels": ["positive"]}),
        (second_annotator.username, {"labels": ["negative"]}),
    ]


def test_export_reads_items_across_chunks_in_id_order_with_their_own_answers(
    project, annotator, manager, monkeypatch
):
    import annotation.selectors.exports as selectors

    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 2)  # the project's items span several chunks
    answered = []
    while (item := queue_next_item(actor=annotator, project=project)) is not None:
        label = "positive" if len(answered) % 2 else "negative"
        annotation_submit(actor=annotator, item=item, value={"labels": [label]})
        answered.append((item.pk, label))
    assert len(answered) > 2
    export = b"".join(annotations_export(actor=manager, project=project, fmt="jsonl"))
    records = [json.loads(line) for line in export.splitlines()]
    assert [(r["id"], r["annotations"][0]["value"]["labels"][0]) for r in records] == sorted(answered)
