"""audited_item_stream passes a file through and records, once it ends, which items' text left."""

import pytest

from governance.audited_streams import audited_item_stream
from governance.models import AuditEvent


def _lines(records):
    for record in records:
        yield f"{record['id']}\n".encode()


def _rows(*ids):
    return [{"id": item_id} for item_id in ids]


def _read_event(actor):
    return AuditEvent.objects.filter(action="item.read", actor=actor).latest("seq")


def test_a_whole_stream_records_every_item_it_emitted_as_id_runs(project, manager):
    stream = audited_item_stream(
        _rows(3, 4, 5, 9), _lines, actor=manager, project=project, via="export.jsonl"
    )
    assert b"".join(stream) == b"3\n4\n5\n9\n"
    event = _read_event(manager)
    assert event.project_id == project.pk and event.target_type == ""
    assert event.details == {
        "via": "export.jsonl",
        "complete": True,
        "count": 4,
        "items": [[3, 5], [9, 9]],
    }


def test_a_stream_abandoned_by_the_client_records_only_what_was_taken(project, manager):
    stream = audited_item_stream(_rows(1, 2, 3), _lines, actor=manager, project=project, via="x")
    assert next(stream) == b"1\n"
    stream.close()
    assert _read_event(manager).details == {
        "via": "x",
        "complete": False,
        "count": 1,
        "items": [[1, 1]],
    }


def test_a_stream_names_its_target_and_carries_the_callers_details(project, manager):
    stream = audited_item_stream(
        _rows(7),
        _lines,
        actor=manager,
        project=project,
        target=project,
        via="dataset.export.csv",
        details={"version": 2},
    )
    list(stream)
    event = _read_event(manager)
    assert (event.target_type, event.target_id) == ("project", str(project.pk))
    assert event.details["version"] == 2 and event.details["items"] == [[7, 7]]


def test_a_writer_that_fails_still_records_the_items_it_took(project, manager):
    def failing(records):
        for record in records:
            yield b"row\n"
            raise OSError("disk full")

    with pytest.raises(OSError):
        list(audited_item_stream(_rows(5, 6), failing, actor=manager, project=project, via="x"))
    assert _read_event(manager).details["complete"] is False
    assert _read_event(manager).details["count"] == 1


def test_nothing_is_recorded_before_the_stream_is_read(project, manager):
    audited_item_stream(_rows(1), _lines, actor=manager, project=project, via="x")
    assert not AuditEvent.objects.filter(action="item.read").exists()
