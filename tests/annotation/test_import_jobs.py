"""Background import jobs: hostile files, reject vs skip, Label Studio, cleaning, PII, near-duplicates, provenance."""

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse

from annotation.models import (
    Annotation,
    ImportJob,
    Item,
    Label,
    PiiFinding,
    Prediction,
)
from annotation.selectors import item_find_by_text
from annotation.services.import_jobs import import_job_create, import_job_run
from annotation.services.import_policies import data_source_create, item_pii_reveal
from annotation.services.imports import items_import
from common.jobs.models import JobStatus
from governance.models import AuditEvent
from projects.models import PiiPolicy, TaskType
from tests.annotation.views.support import client_for
from tests.factories import project_make

pytestmark = pytest.mark.django_db


def _jsonl(*records) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def _run(project, actor, content: bytes, filename: str, **options) -> ImportJob:
    job = import_job_create(
        actor=actor, project=project, stream=io.BytesIO(content), filename=filename, **options
    )
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_the_upload_is_stored_sealed_and_deleted_once_the_job_ran(project, manager):
    secret = b"A perfectly secret sentence about the merger."
    job = import_job_create(
        actor=manager,
        project=project,
        stream=io.BytesIO(_jsonl({"text": secret.decode()})),
        filename="secret.jsonl",
    )
    path = Path(job.upload_path)
    assert path.exists() and secret not in path.read_bytes()
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.created == 1
    assert not path.exists() and job.upload_path == ""


def test_reject_mode_leaves_nothing_half_written_and_reports_row_and_field(project, manager):
    before = project.items.count()
    # The bad row is in the second batch of 1,000, after the first was read and checked.
    rows = [{"id": f"r{i}", "text": f"Row number {i}"} for i in range(1300)]
    rows[1200] = {"id": "bad", "text": ""}
    job = _run(project, manager, _jsonl(*rows), "big.jsonl", on_error="reject")
    assert job.status == JobStatus.FAILED
    assert project.items.count() == before
    assert job.created == 0
    [error] = job.report["errors"]
    assert (error["row"], error["field"], error["message"]) == (1201, "text", "is empty")


def test_skip_mode_imports_the_good_rows_and_lists_the_bad_ones(project, manager):
    content = _jsonl(
        {"id": "a", "text": "Fine one"},
        {"id": "b", "text": ""},
        {"id": "c", "text": 42},
        {"id": "a", "text": "Same id again"},
        {"id": "d", "text": "Fine two"},
    )
    job = _run(project, manager, content, "mixed.jsonl", on_error="skip")
    assert job.status == JobStatus.SUCCEEDED
    assert job.created == 2 and job.errors_count == 3
    assert [(e["row"], e["field"]) for e in job.report["errors"]] == [
        (2, "text"),
        (3, "text"),
        (4, "id"),
    ]
    assert set(
        project.items.filter(external_id__in="abcd").values_list("external_id", flat=True)
    ) == {"a", "d"}


def test_skip_mode_names_the_archive_member_of_a_bad_row(project, manager):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("good.jsonl", _jsonl({"text": "Zipped fine"}))
        archive.writestr("bad.jsonl", _jsonl({"text": "ok"}, {"nottext": "x"}))
    job = _run(project, manager, buffer.getvalue(), "bundle.zip", on_error="skip")
    assert job.created == 2
    [error] = job.report["errors"]
    assert (error["member"], error["row"], error["field"]) == ("bad.jsonl", 2, "text")


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"", "empty.csv"),
        (b"text,id\n", "headers.csv"),
        (b'text\n"never closed\n', "quotes.csv"),
        (b"\xff\xfe broken \xc3\x28\n", "broken.txt"),
        (("[" * 500 + "]" * 500).encode(), "deep.json"),
    ],
)
def test_hostile_files_fail_the_job_with_a_clear_reason_and_import_nothing(
    project, manager, content, filename
):
    before = project.items.count()
    job = _run(project, manager, content, filename, on_error="reject")
    assert job.status == JobStatus.FAILED
    assert job.error and filename in job.error
    assert project.items.count() == before


def test_rerunning_the_same_import_adds_nothing_twice(project, manager):
    content = _jsonl(
        {"id": "x1", "text": "Identified"}, {"text": "Anonymous row"}, {"text": "Anonymous  row"}
    )
    first = _run(project, manager, content, "again.jsonl")
    second = _run(project, manager, content, "again.jsonl")
    assert (first.created, first.skipped) == (2, 1)
    assert (second.created, second.skipped) == (0, 3)


def _labelstudio_export() -> bytes:
    return json.dumps(
        [
            {
                "id": 101,
                "data": {"text": "Great product, love it"},
                "annotations": [
                    {
                        "completed_by": {"id": 7, "email": "ann@example.org"},
                        "result": [{"type": "choices", "value": {"choices": ["positive"]}}],
                    },
                    {
                        "completed_by": 8,
                        "result": [{"type": "choices", "value": {"choices": ["negative"]}}],
                    },
                ],
                "predictions": [
                    {
                        "model_version": "bert-1",
                        "score": 0.8,
                        "result": [{"type": "choices", "value": {"choices": ["positive"]}}],
                    }
                ],
            },
            {
                "id": 102,
                "data": {"text": "Awful service"},
                "annotations": [
                    {
                        "completed_by": 7,
                        "result": [{"type": "choices", "value": {"choices": ["angry"]}}],
                    }
                ],
            },
        ]
    ).encode()


def test_labelstudio_export_imports_annotations_by_placeholder_users_and_predictions(
    project, manager
):
    job = _run(
        project, manager, _labelstudio_export(), "export.json", fmt="labelstudio", on_error="skip"
    )
    assert job.created == 1
    [error] = job.report["errors"]
    assert error["row"] == 2 and error["field"] == "annotations" and "angry" in error["message"]
    item = project.items.get(external_id="101")
    answers = Annotation.objects.filter(item=item).select_related("annotator")
    assert sorted(a.value["labels"][0] for a in answers) == ["negative", "positive"]
    assert all(a.annotator.username.startswith(f"imported-p{project.pk}-") for a in answers)
    assert not any(a.annotator.is_active or a.annotator.has_usable_password() for a in answers)
    assert "ann@example.org" not in {a.annotator.username for a in answers}
    prediction = Prediction.objects.get(item=item)
    assert (prediction.model_version, prediction.score, prediction.value) == (
        "labelstudio:bert-1",
        0.8,
        {"labels": ["positive"]},
    )


def test_labelstudio_import_creates_missing_labels_when_asked(project, manager):
    job = _run(
        project,
        manager,
        _labelstudio_export(),
        "export.json",
        fmt="labelstudio",
        create_missing_labels=True,
    )
    assert job.status == JobStatus.SUCCEEDED and job.created == 2
    assert Label.objects.filter(project=project, name="angry").exists()
    assert job.report["labels_created"] == ["angry"]


def test_conll_spans_become_predictions(manager):
    spans = project_make(
        manager=manager, task_type=TaskType.SPANS, labels=[{"name": "PER"}, {"name": "LOC"}]
    )
    content = b"Ada B-PER\nLovelace I-PER\nvisited O\nParis B-LOC\n\n"
    job = _run(spans, manager, content, "names.conll")
    assert job.created == 1
    prediction = Prediction.objects.get(item__project=spans)
    assert prediction.model_version == "import:conll"
    assert [span["label"] for span in prediction.value["spans"]] == ["PER", "LOC"]


def test_cleaning_applies_the_project_policy_and_records_the_changes(project, manager):
    project.cleaning_policy = {"whitespace": "collapse", "strip_html": True, "min_length": 3}
    project.save()
    job = _run(
        project,
        manager,
        _jsonl({"id": "h", "text": "<p>Hello</p>   <b>world</b>"}, {"id": "s", "text": "ab"}),
        "html.jsonl",
        on_error="skip",
    )
    item = project.items.get(external_id="h")
    assert item.text == "Hello world"
    assert item.meta["_import"]["cleaning"] == ["strip_html", "whitespace_collapse"]
    [error] = job.report["errors"]
    assert error["row"] == 2 and "shorter than the minimum" in error["message"]


def test_masking_replaces_personal_data_before_the_text_is_stored(project, manager):
    project.pii_policy = PiiPolicy.MASK
    project.save()
    _run(
        project,
        manager,
        _jsonl({"id": "p", "text": "Write to jane.doe@example.org today"}),
        "pii.jsonl",
    )
    item = project.items.get(external_id="p")
    assert item.text == "Write to [EMAIL] today"
    assert b"jane.doe" not in bytes(item.text_ct)
    finding = PiiFinding.objects.get(item=item)
    assert (finding.entity, finding.start, finding.end, finding.action) == ("EMAIL", 9, 29, "mask")


def test_pseudonyms_are_revealed_only_to_managers_and_every_reveal_is_audited(
    project, manager, annotator
):
    project.pii_policy = PiiPolicy.PSEUDONYMISE
    project.save()
    _run(
        project, manager, _jsonl({"id": "q", "text": "Mail jane.doe@example.org now"}), "pii.jsonl"
    )
    item = project.items.get(external_id="q")
    assert "jane.doe" not in item.text and item.text.startswith("Mail <EMAIL_")
    assert item_pii_reveal(actor=manager, item=item) == "Mail jane.doe@example.org now"
    assert AuditEvent.objects.filter(action="pii.reveal", actor=manager).count() == 1
    with pytest.raises(PermissionError):
        item_pii_reveal(actor=annotator, item=item)


def test_near_duplicates_are_imported_then_linked_to_their_keeper_by_the_pass_that_follows(
    project, manager
):
    from annotation.models import NearDupJob
    from annotation.services.neardup_jobs import neardup_job_run

    project.neardup_threshold = 0.7
    project.save()
    base = "The delivery was late and the box arrived completely crushed"
    job = _run(
        project,
        manager,
        _jsonl(
            {"id": "k", "text": base},
            {"id": "d", "text": base + "!"},
            {"id": "u", "text": "Totally unrelated remark about the weather"},
        ),
        "near.jsonl",
    )
    keeper, duplicate = project.items.get(external_id="k"), project.items.get(external_id="d")
    # The import created all three and queued the pass over exactly them; nothing is linked yet.
    near = NearDupJob.objects.get(import_job=job)
    assert (near.status, near.progress_total, job.near_duplicates) == ("queued", 3, 0)
    assert near.item_ranges == [[keeper.pk, keeper.pk + 2]] and duplicate.duplicate_of_id is None
    neardup_job_run(job_id=near.pk)
    duplicate.refresh_from_db()
    job.refresh_from_db()
    assert duplicate.duplicate_of_id == keeper.pk
    assert project.items.get(external_id="u").duplicate_of_id is None
    assert job.near_duplicates == 1 and job.report["near_duplicates"][0]["keeper"] == keeper.pk
    assert job.report["near_duplicates"][0]["item"] == duplicate.pk
    # The index persists: a later import's pass links to the same keeper.
    later = _run(project, manager, _jsonl({"id": "d2", "text": base + "!!"}), "later.jsonl")
    neardup_job_run(job_id=NearDupJob.objects.get(import_job=later).pk)
    assert project.items.get(external_id="d2").duplicate_of_id == keeper.pk


def test_a_rejected_import_queues_no_near_duplicate_pass(project, manager):
    from annotation.models import NearDupJob

    project.neardup_threshold = 0.7
    project.save()
    job = _run(project, manager, _jsonl({"text": "fine"}, {"text": ""}), "bad.jsonl")
    assert job.status == "failed" and not NearDupJob.objects.filter(project=project).exists()


def test_each_item_knows_its_source_and_the_job_is_audited(project, manager):
    source = data_source_create(
        actor=manager,
        project=project,
        name="Support tickets 2025",
        origin="Zendesk export",
        licence="internal",
        consent_basis="contract",
    )
    job = _run(
        project, manager, _jsonl({"id": "s1", "text": "From the tickets"}), "t.jsonl", source=source
    )
    assert project.items.get(external_id="s1").source == source
    event = AuditEvent.objects.filter(action="item.import").latest("seq")
    assert event.details["source"] == "Support tickets 2025" and event.details["created"] == 1
    assert AuditEvent.objects.filter(action="import.request").exists()
    assert job.source == source


def test_a_repeated_message_does_not_run_the_job_twice(project, manager):
    job = _run(project, manager, _jsonl({"text": "Only once please"}), "once.jsonl")
    import_job_run(job_id=job.pk)
    assert item_find_by_text(project=project, text="Only once please").count() == 1


def test_a_real_worker_runs_the_job_in_the_background(
    transactional_db, celery_worker_process, manager
):
    project = project_make(manager=manager)
    rows = [{"text": f"Background row {i}"} for i in range(300)]
    job = import_job_create(
        actor=manager,
        project=project,
        stream=io.BytesIO(_jsonl(*rows)),
        filename="bg.jsonl",
        on_error="skip",
    )
    deadline = time.monotonic() + 90
    while job.is_active and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error or job.status
    assert (job.progress_done, job.created) == (300, 300)
    assert Item.objects.filter(project=project).count() == 300


def test_dataset_manifests_count_items_per_source(project, manager):
    from training.services.datasets import dataset_version_build, dataset_version_create

    source = data_source_create(actor=manager, project=project, name="Label Studio move")
    # Task 101's two annotators disagree (dropped by the majority rule); task 102 goes in.
    _run(
        project,
        manager,
        _labelstudio_export(),
        "export.json",
        fmt="labelstudio",
        source=source,
        create_missing_labels=True,
    )
    version = dataset_version_build(
        version_id=dataset_version_create(actor=manager, project=project).pk
    )
    assert version.manifest["sources"] == {"Label Studio move": 1}


def test_a_real_worker_rejects_a_bad_file_in_the_background(
    transactional_db, celery_worker_process, manager
):
    project = project_make(manager=manager)
    rows = [{"text": f"Reject row {i}"} for i in range(1500)] + [{"text": ["not", "text"]}]
    job = import_job_create(
        actor=manager, project=project, stream=io.BytesIO(_jsonl(*rows)), filename="rej.jsonl"
    )
    deadline = time.monotonic() + 90
    while job.is_active and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.report["errors"][0]["row"] == 1501 and job.report["errors"][0]["field"] == "text"
    assert Item.objects.filter(project=project).count() == 0


def test_a_project_whose_items_name_a_source_can_still_be_deleted(project, manager):
    source = data_source_create(actor=manager, project=project, name="To be deleted")
    _run(project, manager, _jsonl({"text": "Sourced text"}), "s.jsonl", source=source)
    project.delete()
    assert not Item.objects.filter(source=source).exists()


# --- every row accounted for (issue 14, items 10 and 11) ----------------------------------------

SST2_QUOTES = Path(__file__).parent / "pipeline" / "files" / "sst2_quotes.tsv"


def _accounted(job: ImportJob) -> tuple:
    # A failed "reject" job rolled back what it created: it counts the rows read up to the bad one.
    if job.status == JobStatus.SUCCEEDED:
        assert job.progress_done == job.created + job.skipped + job.errors_count, "a row went uncounted"
    return job.status, job.progress_done, job.created, job.skipped, job.errors_count


@pytest.mark.parametrize("on_error", ["reject", "skip"])
def test_a_tsv_corpus_with_quotes_in_its_texts_loses_no_row_and_no_quote(project, manager, on_error):
    job = _run(project, manager, SST2_QUOTES.read_bytes(), "sst2.tsv", on_error=on_error)
    assert _accounted(job) == ("succeeded", 43, 43, 0, 0)
    assert job.report["quoting"] == {"sst2.tsv": "none"}
    quoted = '" the best disney movie since the lion king "'
    assert [item.text for item in item_find_by_text(project=project, text=quoted)] == [quoted]


def test_a_row_repeated_in_the_file_is_already_present_in_a_quick_background_or_service_import(
    project, manager
):
    rows = [{"id": f"r{i}", "text": f"Review number {i}"} for i in range(208)]
    rows.insert(150, dict(rows[40]))
    content = _jsonl(*rows)
    quick = _run(project, manager, content, "reviews.jsonl")  # the quick import: "reject"
    assert _accounted(quick) == ("succeeded", 209, 208, 1, 0)
    other = project_make(manager=manager, name="Other")
    assert _accounted(_run(other, manager, content, "reviews.jsonl", on_error="skip")) == (
        "succeeded", 209, 208, 1, 0
    )  # fmt: skip
    third = project_make(manager=manager, name="Third")
    result = items_import(actor=manager, project=third, stream=io.BytesIO(content), filename="r.jsonl")
    assert (result.rows, result.created, result.duplicates) == (209, 208, 1)


def test_a_failed_reject_job_says_how_many_rows_it_read_and_nothing_was_imported(project, manager):
    rows = [{"id": f"r{i}", "text": f"Review number {i}"} for i in range(208)]
    rows[149] = {"id": "bad", "text": ""}
    job = _run(project, manager, _jsonl(*rows), "reviews.jsonl")
    assert _accounted(job) == ("failed", 150, 0, 0, 1)
    assert "row 150, field 'text': is empty" in job.error


def test_a_failed_job_page_shows_a_failed_bar_the_true_counts_and_the_reason(project, manager):
    rows = [{"id": f"r{i}", "text": f"Review number {i}"} for i in range(208)]
    rows[149] = {"id": "bad", "text": ""}
    job = _run(project, manager, _jsonl(*rows), "reviews.jsonl")
    page = client_for(manager).get(reverse("annotation:import-job", args=[project.pk, job.pk]))
    assert page.status_code == 200
    assert 'class="progress-failed"' in page.text and "150 rows read, 0 created" in page.text
    assert "Nothing was imported." in page.text and "row 150, field &#x27;text&#x27;: is empty" in page.text


def test_a_row_the_importer_refuses_in_reject_mode_is_counted_once(project, manager):
    # The cleaning policy refuses the text after the reader counted the row.
    project.cleaning_policy = {"min_length": 5}
    project.save(update_fields=["cleaning_policy"])
    job = _run(project, manager, _jsonl({"text": "Long enough"}, {"text": "abc"}), "f.jsonl")
    assert _accounted(job) == ("failed", 2, 0, 0, 1)


def test_skip_mode_counts_each_row_once_as_created_present_or_bad(project, manager):
    _run(project, manager, _jsonl({"id": "old", "text": "Already here"}), "first.jsonl")
    content = _jsonl(
        {"id": "old", "text": "Already here"},
        {"id": "n1", "text": "New one"},
        {"id": "n1", "text": "New one"},
        {"text": ""},
        {"text": "No id, new"},
        {"text": "No id, new"},
    )
    job = _run(project, manager, content, "second.jsonl", on_error="skip")
    assert _accounted(job) == ("succeeded", 6, 2, 3, 1)


def test_an_unknown_file_type_is_refused_before_a_job_is_queued(project, manager):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        import_job_create(actor=manager, project=project, stream=io.BytesIO(b"x"), filename="a.xlsx")
    assert "unknown file type" in str(caught.value.message_dict["file"])
    assert not ImportJob.objects.filter(project=project).exists()
