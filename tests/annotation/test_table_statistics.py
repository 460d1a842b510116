"""Imports and runs of answers refresh the statistics of the tables they grew (PostgreSQL)."""

import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Annotation, AnnotationStatus, Item
from annotation.services import table_statistics
from annotation.services.annotations import item_skip
from annotation.services.bulk_insert import rows_insert
from annotation.services.import_jobs import import_job_create, import_job_run
from annotation.services.imports import items_import
from annotation.services.table_statistics import (
    CHECK_EVERY,
    table_rows_added,
    table_rows_added_on_commit,
    table_statistics_refresh,
)
from tests.factories import answer_submit, item_hand

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite plans without table statistics"
)


@pytest.fixture(autouse=True)
def pending_counts_cleared():
    table_statistics._pending.clear()
    yield
    table_statistics._pending.clear()


def _analyze(model) -> float:
    """Statistics as of now (the test's own rows included); the table's row estimate."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {model._meta.db_table}")
    return _reltuples(model)


def _reltuples(model) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [model._meta.db_table])
        return cursor.fetchone()[0]


def _jsonl(count: int, prefix: str) -> bytes:
    lines = (json.dumps({"text": f"{prefix} review number {i}"}) + "\n" for i in range(count))
    return "".join(lines).encode()


@postgresql_only
def test_a_small_import_into_an_empty_project_refreshes_the_item_tables_statistics(
    project, manager
):
    before = _analyze(Item)
    stream = io.BytesIO(_jsonl(80, "a"))
    result = items_import(actor=manager, project=project, stream=stream, filename="a.jsonl")
    assert result.created == 80
    assert _reltuples(Item) >= before + 80  # was left at `before` until an import of 10,000 rows


@postgresql_only
@pytest.mark.parametrize("on_error", ["reject", "skip"])
def test_a_background_import_refreshes_the_statistics_too(project, manager, on_error):
    before = _analyze(Item)
    job = import_job_create(
        actor=manager, project=project, stream=io.BytesIO(_jsonl(80, on_error)), filename="b.jsonl",
        on_error=on_error,
    )  # fmt: skip
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.created == 80 and _reltuples(Item) >= before + 80


@postgresql_only
def test_a_few_rows_into_a_table_that_holds_many_do_not_cost_an_analyze(project):
    _analyze(Item)
    with CaptureQueriesContext(connection) as queries:
        assert table_statistics_refresh({Item: table_statistics.MIN_ROWS - 1}) == []
    assert not [q for q in queries if q["sql"].startswith("ANALYZE")]


@postgresql_only
def test_answers_refresh_the_annotation_tables_statistics_once_enough_came_in(project, annotator):
    rows_insert(Item, [_item(project, f"extra text {i}") for i in range(CHECK_EVERY)])
    items = list(project.items.all())[:CHECK_EVERY]
    before = _analyze(Annotation)
    rows_insert(Annotation, [_answer(project, item, annotator) for item in items])
    for _ in range(CHECK_EVERY - 1):
        table_rows_added(Annotation)
    assert _reltuples(Annotation) == before  # one catalogue look every CHECK_EVERY answers
    table_rows_added(Annotation)
    assert _reltuples(Annotation) >= before + CHECK_EVERY


def test_an_answer_is_counted_only_once_its_transaction_commits(
    project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        table_rows_added_on_commit(Annotation)
    assert table_statistics._pending == {} and len(callbacks) == 1
    callbacks[0]()
    assert table_statistics._pending == {Annotation: 1}


def test_a_new_answer_or_skip_counts_one_row_and_a_changed_answer_none(
    project, annotator, django_capture_on_commit_callbacks
):
    first, second = list(project.items.order_by("pk"))[:2]
    with django_capture_on_commit_callbacks(execute=True):
        answer_submit(actor=annotator, item=first, value={"labels": ["positive"]})
    with django_capture_on_commit_callbacks(execute=True):
        answer_submit(actor=annotator, item=first, value={"labels": ["negative"]})
    with django_capture_on_commit_callbacks(execute=True):
        item_hand(actor=annotator, item=second)
        item_skip(actor=annotator, item=second, reason="Not English")
    assert table_statistics._pending.get(Annotation) == 2


def test_a_database_other_than_postgresql_has_nothing_to_refresh_and_is_not_asked(project, monkeypatch):
    # SQLite (the embedded default) keeps no planner statistics to go stale; on PostgreSQL the
    # same connection is made to look like another backend, so the test runs on both.
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with CaptureQueriesContext(connection) as queries:
        assert table_statistics_refresh({Item: 10_000, Annotation: 10_000}) == []
    assert not queries.captured_queries


def _item(project, text: str) -> Item:
    item = Item(project=project)
    item.text, item.meta = text, {}
    return item


def _answer(project, item, annotator) -> Annotation:
    answer = Annotation(
        project=project, item=item, annotator=annotator, status=AnnotationStatus.SUBMITTED
    )
    answer.value = {"labels": ["positive"]}
    return answer
