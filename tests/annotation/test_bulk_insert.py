"""rows_insert: the import's bulk insert (COPY on PostgreSQL, bulk_create elsewhere) stores what bulk_create would."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Annotation, AnnotationStatus, Item, PiiFinding
from annotation.services.bulk_insert import (
    StatisticsSchedule,
    rows_insert,
    statistics_refresh,
    values_present,
)
from projects.models import PiiPolicy

pytestmark = pytest.mark.django_db


def _items(project, texts):
    built = []
    for text in texts:
        item = Item(project=project, external_id=f"x-{text}")
        item.text, item.meta = text, {"origin": text}
        built.append(item)
    return built


def test_inserted_items_get_their_ids_and_read_back_as_written(project):
    items = _items(project, ["first text", "second text", "third, with 'quotes' and \\ backslash\ttab"])
    rows_insert(Item, items)
    assert all(item.pk and not item._state.adding for item in items)
    for item in items:
        stored = Item.objects.get(pk=item.pk)
        assert (stored.text, stored.meta, stored.external_id) == (item.text, item.meta, item.external_id)
        assert stored.text_index == item.text_index and stored.created_at is not None
        assert stored.is_done is False and stored.duplicate_of_id is None


def test_rows_pointing_at_inserted_items_can_be_inserted_next(project, annotator):
    items = _items(project, ["alpha", "beta"])
    rows_insert(Item, items)
    annotations = []
    for item in items:
        annotation = Annotation(project=project, item=item, annotator=annotator, status=AnnotationStatus.SUBMITTED)
        annotation.value = {"labels": ["positive"]}
        annotations.append(annotation)
    rows_insert(Annotation, annotations)
    assert [a.value for a in Annotation.objects.filter(item__in=items).order_by("item_id")] == [
        {"labels": ["positive"]}
    ] * 2


def test_ids_continue_the_tables_sequence(project):
    before = Item.objects.order_by("-pk").values_list("pk", flat=True).first()
    rows_insert(Item, _items(project, ["one more"]))
    created = Item.objects.create(project=project, text="made the ordinary way")
    assert created.pk > Item.objects.get(external_id="x-one more").pk > before
    assert connection.vendor in ("postgresql", "sqlite")


def test_nothing_to_insert_is_a_no_op(project):
    count = Item.objects.count()
    rows_insert(Item, [])
    assert Item.objects.count() == count


def test_a_statistics_refresh_counts_the_rows_of_the_open_transaction(project):
    rows_insert(Item, _items(project, [f"row {index}" for index in range(300)]))
    refreshed = statistics_refresh(Item)
    if connection.vendor != "postgresql":
        assert refreshed is False  # SQLite plans without such statistics
        return
    assert refreshed is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Item._meta.db_table])
        assert cursor.fetchone()[0] >= 300
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"  # the short timeout does not outlive the refresh


def test_values_of_every_kind_are_stored_as_the_fields_would_store_them(project):
    item = _items(project, ["a text with a finding"])[0]
    item.queue_rank, item.is_gold, item.annotation_count = 0.25, True, 3
    rows_insert(Item, [item])
    finding = PiiFinding(
        project=project, item=item, entity="EMAIL", start=2, end=6, score=0.85, action=PiiPolicy.MASK
    )
    rows_insert(PiiFinding, [finding])
    stored = Item.objects.get(pk=item.pk)
    assert (stored.queue_rank, stored.is_gold, stored.annotation_count) == (0.25, True, 3)
    assert bytes(stored.text_ct) == bytes(item.text_ct) and stored.source_id is None
    row = PiiFinding.objects.values("entity", "start", "end", "score", "action", "status").get()
    assert row == {
        "entity": "EMAIL", "start": 2, "end": 6, "score": 0.85, "action": "mask", "status": "pending"
    }


def test_values_present_names_only_the_projects_own_values(project, manager):
    from tests.factories import project_make

    other = project_make(manager=manager, name="Other", texts=[])
    rows_insert(Item, _items(project, ["kept"]) + _items(other, ["elsewhere"]))
    found = values_present(
        Item, project_id=project.pk, field_name="external_id", values=["x-kept", "x-elsewhere", "x-new"]
    )
    assert found == {"x-kept"}
    assert values_present(Item, project_id=project.pk, field_name="external_id", values=[]) == set()


def test_a_growing_import_refreshes_statistics_at_ten_thousand_rows_then_at_each_doubling():
    from annotation.models import NearDupBucket

    schedule = StatisticsSchedule(Item, NearDupBucket)
    refreshed = []
    for total in (5_000, 10_000, 15_000, 19_000, 20_000, 39_000, 40_000):
        with CaptureQueriesContext(connection) as queries:
            schedule.rows_added(total)
        analyzed = [q["sql"] for q in queries if q["sql"].startswith("ANALYZE")]
        if schedule.refreshed_at == total:
            refreshed.append(total)
            if connection.vendor == "postgresql":  # SQLite plans without such statistics
                assert len(analyzed) == 2
        else:
            assert analyzed == []
    assert refreshed == [10_000, 20_000, 40_000]

