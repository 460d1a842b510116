"""Erasure requests: the subject's items are found, removed with everything attached, and recorded without the identifier."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from annotation.models import Annotation, Item
from annotation.services.erasure import erasure_request_create, erasure_run, subject_items_find
from governance.models import AuditEvent, ErasureRequest, ErasureStatus
from tests.factories import answer_submit
from training.models import DatasetStatus
from training.services.datasets import dataset_version_build, dataset_version_create

pytestmark = pytest.mark.django_db

SUBJECT = "ann.smith@example.org"


@pytest.fixture
def subject_items(project):
    """Item 0 mentions the subject, item 1 carries them in its metadata, item 2 is exactly the identifier."""
    items = list(project.items.order_by("pk"))
    items[0].text = f"Please call me back, {SUBJECT} is my address."
    items[0].save()
    items[1].meta = {"subject_id": SUBJECT.upper()}
    items[1].save()
    items[2].text = SUBJECT
    items[2].save()
    items[3].text = f"joann.smith@example.org.uk and x{SUBJECT} are other people."
    items[3].save()
    return items


def test_finds_the_subject_in_text_metadata_and_blind_index_but_not_inside_other_words(project, subject_items):
    found = subject_items_find(project=project, identifier=SUBJECT)
    assert found == sorted(item.pk for item in subject_items[:3])


def test_erasure_removes_items_annotations_and_dataset_files_and_keeps_no_identifier(
    project, admin_user, manager, annotator, subject_items
):
    answer_submit(actor=annotator, item=subject_items[0], value={"labels": ["positive"]})
    version = dataset_version_build(version_id=dataset_version_create(actor=manager, project=project).pk)
    sealed = Path(version.file_path)

    request = erasure_request_create(actor=admin_user, identifier=SUBJECT, reason="ticket 42")
    request = erasure_run(request_id=request.pk)

    assert request.status == ErasureStatus.DONE
    assert request.subject_ct is None
    assert not Item.objects.filter(pk__in=[item.pk for item in subject_items[:3]]).exists()
    assert Item.objects.filter(pk=subject_items[3].pk).exists()
    assert not Annotation.objects.filter(item_id=subject_items[0].pk).exists()
    summary = request.record["projects"][str(project.pk)]
    assert summary["items"] == 3 and summary["annotations"] == 1
    assert summary["dataset_versions"] == [version.pk]
    version.refresh_from_db()
    assert version.status == DatasetStatus.FAILED and not sealed.exists()
    trail = AuditEvent.objects.filter(action__startswith="erasure.").order_by("seq")
    assert [event.action for event in trail] == ["erasure.request", "erasure.batch", "erasure.complete"]
    stored = repr(list(trail.values_list("details", flat=True))) + repr(request.record) + request.subject_index
    assert SUBJECT not in stored.lower() and "smith" not in stored.lower()


def test_running_an_erasure_twice_removes_nothing_more(project, admin_user, subject_items):
    request = erasure_request_create(actor=admin_user, identifier=SUBJECT, project=project)
    erasure_run(request_id=request.pk)
    erasure_run(request_id=request.pk)
    assert AuditEvent.objects.filter(action="erasure.batch").count() == 1


def test_rejects_an_empty_identifier_naming_the_field(admin_user):
    with pytest.raises(ValidationError) as error:
        erasure_request_create(actor=admin_user, identifier="  ")
    assert "identifier" in error.value.message_dict
    assert not ErasureRequest.objects.exists()


def test_erasure_command_erases_and_reports_the_counts(project, admin_user, subject_items, capsys):
    call_command("erasure_request", "--identifier", SUBJECT, "--user", admin_user.username)
    assert "done" in capsys.readouterr().out
    assert Item.objects.filter(project=project).count() == len(subject_items) - 3


def test_finds_the_subject_behind_a_pseudonym_and_lists_downloads_that_already_took_their_items(
    project, admin_user, manager, annotator
):
    from annotation.services.exports import annotations_export

    item = project.items.order_by("pk").first()
    item.text = "Write to <EMAIL_1> please."
    item.pii_mapping = {"<EMAIL_1>": SUBJECT}
    item.save()
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    b"".join(annotations_export(actor=manager, project=project, fmt="jsonl"))
    download = AuditEvent.objects.filter(action="item.read").last()

    request = erasure_run(request_id=erasure_request_create(actor=admin_user, identifier=SUBJECT).pk)

    assert not Item.objects.filter(pk=item.pk).exists()
    assert request.record["projects"][str(project.pk)]["downloads_audit_seqs"] == [download.seq]
