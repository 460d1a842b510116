"""The item page's services: edit the text, scan it, delete, send to review, reopen."""

import time

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from annotation.models import (
    Annotation,
    AnnotationStatus,
    FinalAnnotation,
    FinalSource,
    Item,
    ItemWord,
    PiiFinding,
    Prediction,
)
from annotation.selectors import item_find_by_text
from annotation.services.annotations import annotation_submit
from annotation.services.items import (
    item_delete,
    item_gold_set,
    item_reopen,
    item_review_request,
    item_text_scan,
    item_text_update,
)
from annotation.services.queue import queue_next_item
from governance.keyring import project_cipher
from governance.models import AuditEvent
from projects.models import PiiPolicy
from tests.factories import answer_submit, project_make
from training.models import DatasetVersion, DatasetVersionItem, ItemEmbedding

NEW_TEXT = "The parcel arrived intact and the courier was friendly."


def _events(action: str):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def _first(project) -> Item:
    return Item.objects.filter(project=project).order_by("id").first()


# --- editing the text -------------------------------------------------------------------------


def test_a_manager_edits_the_text_and_the_blind_index_finds_the_new_text(project, manager):
    item = _first(project)
    item_text_update(actor=manager, item=item, text=NEW_TEXT)
    item.refresh_from_db()
    assert item.text == NEW_TEXT
    assert item.text_revision == 2
    assert list(item_find_by_text(project=project, text=NEW_TEXT)) == [item]
    (event,) = _events("item.text_update")
    assert event.actor == manager and event.target_id == str(item.pk)
    assert event.details["item"] == item.pk and event.details["revision"] == 2
    assert NEW_TEXT not in str(event.details)


def test_an_answer_made_before_the_edit_keeps_the_older_revision_and_a_new_one_takes_the_new(
    project, manager, annotator, second_annotator
):
    item = _first(project)
    before = answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    item_text_update(actor=manager, item=item, text=NEW_TEXT)
    project.overlap = 2
    project.save(update_fields=["overlap"])
    Item.objects.filter(pk=item.pk).update(is_done=False)
    after = answer_submit(
        actor=second_annotator, item=Item.objects.get(pk=item.pk), value={"labels": ["neutral"]}
    )
    before.refresh_from_db()
    assert (before.text_revision, after.text_revision) == (1, 2)
    assert _events("item.text_update")[0].details["answers_on_older_text"] == 1


def test_an_edit_refuses_a_text_another_item_of_the_project_has_and_names_that_item(
    project, manager
):
    first, second = Item.objects.filter(project=project).order_by("id")[:2]
    with pytest.raises(ValidationError) as refused:
        item_text_update(actor=manager, item=first, text=second.text)
    assert f"Item {second.pk} of this project already has this text" in str(refused.value)
    first.refresh_from_db()
    assert first.text_revision == 1 and not _events("item.text_update")


@pytest.mark.parametrize("text, message", [("   ", "cannot be empty"), (None, "cannot be empty")])
def test_an_edit_refuses_an_empty_text(project, manager, text, message):
    with pytest.raises(ValidationError, match=message):
        item_text_update(actor=manager, item=_first(project), text=text)


def test_an_edit_refuses_the_same_text(project, manager):
    item = _first(project)
    with pytest.raises(ValidationError, match="unchanged"):
        item_text_update(actor=manager, item=item, text=item.text)


def test_an_edit_drops_findings_suggestions_and_embeddings_of_the_old_text_and_refiles_its_words(
    project, manager
):
    item = _first(project)
    PiiFinding.objects.create(
        project=project, item=item, entity="EMAIL", start=0, end=3, score=1.0, action="keep"
    )
    prediction = Prediction(project=project, item=item, model_version="head-v1", score=0.9)
    prediction.value = {"labels": ["positive"]}
    prediction.save()
    ItemEmbedding.objects.create(project=project, item=item, encoder="mini@1", vector_ct=b"sealed")
    item_text_update(actor=manager, item=item, text=NEW_TEXT)
    assert not PiiFinding.objects.filter(item=item).exists()
    assert not Prediction.objects.filter(item=item).exists()
    assert not ItemEmbedding.objects.filter(item=item).exists()
    tokens = set(ItemWord.objects.filter(item=item).values_list("token", flat=True))
    assert tokens == project_cipher(project.pk).word_tokens(NEW_TEXT)
    details = _events("item.text_update")[0].details
    assert (details["findings_dropped"], details["predictions_dropped"]) == (1, 1)


def test_an_edit_of_a_gold_span_item_is_refused_when_the_known_spans_no_longer_fit(manager):
    project = project_make(
        manager=manager,
        task_type="spans",
        labels=[{"name": "PER"}],
        texts=["Ada Lovelace wrote the first program."],
    )
    item = _first(project)
    item_gold_set(
        actor=manager, item=item, value={"spans": [{"start": 0, "end": 12, "label": "PER"}]}
    )
    with pytest.raises(ValidationError, match="unmark the item as gold first"):
        item_text_update(actor=manager, item=item, text="Ada wrote.")


# --- the personal-data scan of an edited text -------------------------------------------------


def test_the_scan_records_the_findings_of_the_edited_text(project, manager):
    item = _first(project)
    item_text_update(actor=manager, item=item, text="Write to ada@example.org about the parcel.")
    item_text_scan(item_id=item.pk, text_revision=2)
    (finding,) = PiiFinding.objects.filter(item=item)
    assert (finding.entity, finding.start, finding.end, finding.action) == ("EMAIL", 9, 24, "keep")
    item.refresh_from_db()
    assert item.text_revision == 2
    (event,) = _events("item.text_scan")
    assert event.details["findings"] == 1 and event.details["entities"] == ["EMAIL"]
    assert event.actor_name == "system"


def test_the_scan_of_an_older_revision_does_nothing(project, manager):
    item = _first(project)
    item_text_update(actor=manager, item=item, text="Write to ada@example.org about the parcel.")
    item_text_update(actor=manager, item=item, text="Write to bob@example.org about the parcel.")
    assert item_text_scan(item_id=item.pk, text_revision=2) is None
    assert not PiiFinding.objects.filter(item=item).exists() and not _events("item.text_scan")


def test_the_scan_masks_the_edited_text_under_a_mask_policy_as_a_new_revision(project, manager):
    project.pii_policy = PiiPolicy.MASK
    project.save(update_fields=["pii_policy"])
    item = _first(project)
    item_text_update(actor=manager, item=item, text="Write to ada@example.org about the parcel.")
    item_text_scan(item_id=item.pk, text_revision=2)
    item.refresh_from_db()
    assert item.text == "Write to [EMAIL] about the parcel."
    assert item.text_revision == 3
    assert PiiFinding.objects.filter(item=item, entity="EMAIL", action="mask").count() == 1
    assert _events("item.text_scan")[0].details["text_rewritten"] is True


def test_the_scan_pseudonymises_and_keeps_the_value_for_reveal(project, manager):
    project.pii_policy = PiiPolicy.PSEUDONYMISE
    project.save(update_fields=["pii_policy"])
    item = _first(project)
    item_text_update(actor=manager, item=item, text="Write to ada@example.org about the parcel.")
    item_text_scan(item_id=item.pk, text_revision=2)
    item.refresh_from_db()
    assert "ada@example.org" not in item.text and "<EMAIL_" in item.text
    assert list(item.pii_mapping.values()) == ["ada@example.org"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_scans_the_edited_text_once_the_edit_commits(celery_worker_process, manager):
    project = project_make(manager=manager, texts=["A first text.", "A second text."])
    item = _first(project)
    item_text_update(actor=manager, item=item, text="Call me at ada@example.org tomorrow.")
    deadline = time.monotonic() + 120
    while not AuditEvent.objects.filter(action="item.text_scan").exists():
        assert time.monotonic() < deadline, celery_worker_process.log_text()[-3000:]
        time.sleep(0.5)
    assert PiiFinding.objects.filter(item=item, entity="EMAIL").count() == 1


# --- deleting ---------------------------------------------------------------------------------


def test_a_manager_deletes_an_item_with_its_answers(project, manager, annotator):
    item = _first(project)
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    summary = item_delete(actor=manager, item=item)
    assert not Item.objects.filter(pk=item.pk).exists()
    assert not Annotation.objects.filter(item_id=item.pk).exists()
    assert summary["annotations"] == 1
    (event,) = _events("item.delete")
    assert event.details["item"] == item.pk and event.details["annotations"] == 1


def test_a_deletion_is_refused_naming_the_dataset_versions_that_hold_the_item(project, manager):
    item = _first(project)
    version = DatasetVersion.objects.create(project=project, number=3, status="ready")
    DatasetVersionItem.objects.create(
        version=version, item=item, item_ref=item.pk, split="train", value_hash="x"
    )
    with pytest.raises(ValidationError) as refused:
        item_delete(actor=manager, item=item)
    assert "dataset versions v3" in str(refused.value) and "erasure request" in str(refused.value)
    assert Item.objects.filter(pk=item.pk).exists() and not _events("item.delete")
    version.refresh_from_db()
    assert version.status == "ready"


# --- review and reopening ---------------------------------------------------------------------


def test_sending_a_final_item_to_review_removes_its_final_answer_and_the_review_queue_takes_it(
    project, manager, annotator, reviewer
):
    from annotation.services.reviews import review_next_item

    item = _first(project)
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    assert FinalAnnotation.objects.filter(item=item, source=FinalSource.AGREEMENT).exists()
    item_review_request(actor=manager, item=item)
    assert not FinalAnnotation.objects.filter(item=item).exists()
    assert review_next_item(actor=reviewer, project=project) == item
    (event,) = _events("item.review_request")
    assert event.details == {"item": item.pk, "answers": 1, "final_removed": "agreement"}


def test_an_item_without_answers_cannot_be_sent_to_review(project, manager):
    with pytest.raises(ValidationError, match="no submitted answers"):
        item_review_request(actor=manager, item=_first(project))


def test_an_item_already_waiting_for_review_is_not_sent_twice(project, manager, annotator):
    item = _first(project)
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    item_review_request(actor=manager, item=item)
    with pytest.raises(ValidationError, match="already waiting for review"):
        item_review_request(actor=manager, item=item)


def test_reopening_sends_every_answer_back_to_its_annotator_and_removes_the_final(
    project, manager, annotator
):
    item = _first(project)
    answer = answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    item_reopen(actor=manager, item=item)
    item.refresh_from_db()
    answer.refresh_from_db()
    assert (item.is_done, item.annotation_count) == (False, 0)
    assert answer.status == AnnotationStatus.REJECTED
    assert not FinalAnnotation.objects.filter(item=item).exists()
    # The annotator gets it back first, to answer again.
    assert queue_next_item(actor=annotator, project=project) == item
    (event,) = _events("item.reopen")
    assert event.details == {"item": item.pk, "answers": [answer.pk], "final_removed": "agreement"}


def test_an_open_item_cannot_be_reopened(project, manager):
    with pytest.raises(ValidationError, match="already open"):
        item_reopen(actor=manager, item=_first(project))


def test_a_gold_item_is_neither_reopened_nor_sent_to_review(project, manager):
    item = _first(project)
    item_gold_set(actor=manager, item=item, value={"labels": ["positive"]})
    with pytest.raises(ValidationError, match="unmark gold first"):
        item_reopen(actor=manager, item=item)
    with pytest.raises(ValidationError, match="not reviewed"):
        item_review_request(actor=manager, item=item)


def test_a_deletion_destroys_the_export_files_that_held_the_item(project, manager, annotator):
    from annotation.models import ExportRecord, ExportStatus
    from annotation.services.exports import export_build, export_request

    item = _first(project)
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    export = export_build(export_id=export_request(actor=manager, project=project, fmt="csv").pk)
    assert export.status == ExportStatus.READY
    summary = item_delete(actor=manager, item=item)
    export = ExportRecord.objects.get(pk=export.pk)
    assert export.status == ExportStatus.ERASED and not export.file_path
    assert summary["exports"] == [export.pk] == _events("item.delete")[0].details["exports"]


def test_an_annotator_who_had_the_old_text_open_cannot_answer_it_as_the_new_one(
    project, manager, annotator
):
    item = queue_next_item(actor=annotator, project=project)
    item_text_update(actor=manager, item=item, text=NEW_TEXT)
    # Released with the edit: to the annotator the item is one the queue has not handed them (404).
    with pytest.raises(Http404):
        annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    again = queue_next_item(actor=annotator, project=project)
    assert again == item and again.text == NEW_TEXT
    assert (
        annotation_submit(actor=annotator, item=again, value={"labels": ["positive"]}).text_revision
        == 2
    )
