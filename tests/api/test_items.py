"""Items through the API: the quick import (a background job answered with 202), browsing, reading."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.selectors import item_find_by_text
from annotation.services.import_jobs import import_job_run

pytestmark = pytest.mark.django_db

GOOD_CSV = (
    b"external_id,text,meta\n"
    b't1,"Fast delivery, thanks!","{""source"": ""email""}"\n'
    b"t2,Still waiting for a refund.,\n"
)
SST2_QUOTES = Path(__file__).parents[1] / "annotation" / "pipeline" / "files" / "sst2_quotes.tsv"


def _import(client, project, name: str, content: bytes, **extra):
    upload = SimpleUploadedFile(name, content)
    return client.post(
        f"/api/projects/{project.pk}/import/", {"file": upload, **extra}, format="multipart"
    )


def _imported(client, project, name: str, content: bytes, **extra) -> dict:
    """Upload, run the job as a worker would, and read the job back at the url the API gave."""
    response = _import(client, project, name, content, **extra)
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["url"] == f"/api/projects/{project.pk}/import-jobs/{body['id']}/"
    import_job_run(job_id=body["id"])
    return client.get(body["url"]).json()


def _counts(job: dict) -> tuple:
    return job["status"], job["rows_read"], job["created"], job["skipped"], job["errors_count"]


def test_allows_the_manager_to_import_a_csv_file(project, manager, api_client):
    job = _imported(api_client(manager), project, "tickets.csv", GOOD_CSV)
    assert _counts(job) == ("succeeded", 2, 2, 0, 0)
    assert (job["on_error"], job["report"]["quoting"]) == ("reject", {"tickets.csv": "standard"})
    item = project.items.get(external_id="t1")
    assert item.text == "Fast delivery, thanks!" and item.meta == {"source": "email"}


def test_the_import_answers_before_any_row_is_read(project, manager, api_client):
    # Rows are cleaned and scanned for personal data by a worker, which has presidio loaded; a
    # web process loading it took 15-25 s of the request.
    response = _import(api_client(manager), project, "tickets.csv", GOOD_CSV)
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert not project.items.filter(external_id="t1").exists()


def test_allows_the_manager_to_import_a_jsonl_file(project, manager, api_client):
    lines = b'{"id": 7, "text": "Great app.", "meta": {"lang": "en"}}\n\n{"text": "No id here."}\n'
    job = _imported(api_client(manager), project, "more.jsonl", lines)
    assert _counts(job) == ("succeeded", 2, 2, 0, 0)
    assert project.items.get(external_id="7").meta == {"lang": "en"}


def test_reimporting_the_same_file_with_external_ids_adds_nothing(project, manager, api_client):
    client = api_client(manager)
    _imported(client, project, "tickets.csv", GOOD_CSV)
    before = project.items.count()
    job = _imported(client, project, "tickets.csv", GOOD_CSV)
    assert _counts(job) == ("succeeded", 2, 0, 2, 0)
    assert project.items.count() == before


def test_a_row_repeated_in_the_file_is_counted_as_already_present_not_a_reason_to_refuse_the_file(
    project, manager, api_client
):
    content = GOOD_CSV + b"t2,Still waiting for a refund.,\n"
    job = _imported(api_client(manager), project, "tickets.csv", content)
    assert _counts(job) == ("succeeded", 3, 2, 1, 0)


def test_a_tsv_corpus_with_quotes_in_its_texts_is_imported_row_for_row(project, manager, api_client):
    before = project.items.count()
    job = _imported(api_client(manager), project, "sst2.tsv", SST2_QUOTES.read_bytes())
    assert _counts(job) == ("succeeded", 43, 43, 0, 0)
    assert job["report"]["quoting"] == {"sst2.tsv": "none"}
    assert project.items.count() == before + 43
    quoted = '" the best disney movie since the lion king "'
    assert [item.text for item in item_find_by_text(project=project, text=quoted)] == [quoted]


def test_the_quoting_named_is_the_one_used(project, manager, api_client):
    job = _imported(
        api_client(manager), project, "sst2.tsv", SST2_QUOTES.read_bytes(), quoting="standard"
    )
    assert (job["status"], job["quoting"], job["created"], job["rows_read"]) == ("failed", "standard", 0, 11)
    assert "row 12" in job["error"] and "quoting 'none'" in job["error"]


def test_rejects_a_quoting_it_does_not_know(project, manager, api_client):
    response = _import(api_client(manager), project, "a.tsv", b"text\nhi\n", quoting="smart")
    assert response.status_code == 400 and "quoting" in response.json()


def test_uses_the_format_field_over_the_file_name(project, manager, api_client):
    job = _imported(
        api_client(manager), project, "export.txt", b'{"text": "Hello."}\n', format="jsonl"
    )
    assert job["created"] == 1


@pytest.mark.parametrize(
    ("name", "content", "row", "field"),
    [
        ("bad.csv", b"external_id,text\nb1,Fine.\nb2,\n", 3, "text"),
        ("bad.csv", b"external_id,text,meta\nb1,Fine.,\nb2,Also fine.,{not json}\n", 3, "meta"),
        ("bad.jsonl", b'{"id": "b1", "text": "Fine."}\n{"id": "b2", "text": 42}\n', 2, "text"),
        (
            "bad.jsonl",
            b'{"external_id": "b1", "text": "Fine."}\n{"external_id": "b1", "text": "Again."}\n',
            2,
            "external_id",
        ),
    ],
    ids=["empty csv text", "csv meta not json", "jsonl text not a string", "jsonl repeated id"],
)
def test_rejects_a_malformed_row_naming_row_and_field_and_imports_nothing(
    project, manager, api_client, name, content, row, field
):
    before = project.items.count()
    job = _imported(api_client(manager), project, name, content)
    assert _counts(job) == ("failed", 2, 0, 0, 1)  # both rows read, the second one bad
    (error,) = job["report"]["errors"]
    assert (error["file"], error["row"], error["field"]) == (name, row, field)
    assert f"row {row}" in job["error"] and f"field '{field}'" in job["error"]
    assert project.items.count() == before


def test_rejects_a_file_of_unknown_type(project, manager, api_client):
    response = _import(api_client(manager), project, "notes.xlsx", b"text\nHello.\n")
    assert response.status_code == 400
    assert "unknown file type" in response.json()["file"][0]


def test_rejects_an_import_without_a_file(project, manager, api_client):
    response = api_client(manager).post(
        f"/api/projects/{project.pk}/import/", {}, format="multipart"
    )
    assert response.status_code == 400
    assert "file" in response.json()


def test_imports_a_file_larger_than_the_in_memory_upload_limit(project, manager, api_client, settings):
    # A lower limit than the default 2.5 MB: the same path (a temporary file) for 200 rows, not 6,000.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    line = json.dumps({"text": "A long sentence about delivery times and refunds. " * 8}) + "\n"
    count = settings.FILE_UPLOAD_MAX_MEMORY_SIZE // len(line) + 100
    content = "".join(
        line.replace('{"text"', f'{{"id": "big{index}", "text"', 1) for index in range(count)
    )
    job = _imported(api_client(manager), project, "big.jsonl", content.encode())
    assert _counts(job) == ("succeeded", count, count, 0, 0)


def test_denies_an_annotator_to_import(project, annotator, api_client):
    response = _import(api_client(annotator), project, "tickets.csv", GOOD_CSV)
    assert response.status_code == 403
    assert not project.items.filter(external_id="t1").exists()


def test_lists_items_page_by_page_for_a_reviewer(project, reviewer, api_client):
    response = api_client(reviewer).get(f"/api/projects/{project.pk}/items/?with_count=true")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6
    # The fields it always had, and the item browser's (tests/annotation/test_item_browser_api.py).
    assert set(body["results"][0]) >= {
        "id",
        "external_id",
        "text",
        "meta",
        "annotation_count",
        "is_done",
    }


def test_shows_an_annotator_only_the_items_they_answered(project, annotator, api_client):
    response = api_client(annotator).get(f"/api/projects/{project.pk}/items/")
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_shows_one_item_to_an_ml_engineer(project, ml_engineer, api_client):
    item = project.items.first()
    response = api_client(ml_engineer).get(f"/api/projects/{project.pk}/items/{item.pk}/")
    assert response.status_code == 200
    assert response.json()["text"] == item.text


def test_hides_an_item_of_another_project_behind_404(project, foreign_project, manager, api_client):
    foreign_item = foreign_project.items.first()
    assert (
        api_client(manager).get(f"/api/projects/{project.pk}/items/{foreign_item.pk}/").status_code
        == 404
    )


def test_browsing_items_records_which_items_the_reader_saw(project, reviewer, api_client):
    from governance.models import AuditEvent

    response = api_client(reviewer).get(f"/api/projects/{project.pk}/items/")
    event = AuditEvent.objects.filter(action="item.read", actor=reviewer).latest("seq")
    assert event.details == {"via": "api.items", "items": [row["id"] for row in response.json()["results"]]}


def test_reading_one_item_records_it_in_the_audit_trail(project, ml_engineer, api_client):
    from governance.models import AuditEvent

    item = project.items.first()
    api_client(ml_engineer).get(f"/api/projects/{project.pk}/items/{item.pk}/")
    event = AuditEvent.objects.filter(action="item.read", actor=ml_engineer).latest("seq")
    assert (event.target_id, event.details["via"]) == (str(item.pk), "api.item")
