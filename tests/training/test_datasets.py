"""Dataset versions: what gets frozen under each filter and conflict policy, hashes, splits, diffs."""

import pytest
from django.core.exceptions import ValidationError

from annotation.models import FinalAnnotation
from annotation.services.annotations import annotation_submit
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from annotation.services.reviews import review_resolve
from governance.keyring import DataShredded
from governance.models import AuditEvent
from governance.services.keys import project_data_shred
from training.models import ConflictPolicy, DatasetStatus
from training.models.active import Strategy
from training.selectors.datasets import dataset_version_diff
from training.services.active_learning import active_learning_update
from training.services.datasets import (
    dataset_version_build,
    dataset_version_create,
    dataset_version_records,
    dataset_version_verify,
)

pytestmark = pytest.mark.django_db


def _label_all(project, annotators, answers):
    """answers: {item index: [label per annotator]}; each annotator takes items from the queue."""
    items = list(project.items.order_by("id"))
    for index, labels in answers.items():
        for annotator, label in zip(annotators, labels):
            held = queue_next_item(actor=annotator, project=project)
            assert held.pk == items[index].pk, "the queue hands items out in id order"
            annotation_submit(actor=annotator, item=held, value={"labels": [label]})
    return items


@pytest.fixture
def labelled(project, manager, annotator, second_annotator):
    """Six items, overlap 2: 0-2 agreed, 3 disputed, 4 reviewer-decided after a dispute, 5 unlabelled.

    Active learning is turned off first: the queue must keep import order, and in a test that
    commits, a worker's refresh after the import's embeddings would otherwise re-rank it.
    """
    active_learning_update(actor=manager, project=project, strategy=Strategy.OFF)
    project_update(actor=manager, project=project, overlap=2, gold_rate=0.0)
    items = _label_all(
        project,
        [annotator, second_annotator],
        {0: ["positive", "positive"], 1: ["negative", "negative"], 2: ["neutral", "neutral"],
         3: ["positive", "negative"], 4: ["negative", "neutral"]},
    )
    review_resolve(actor=manager, item=items[4], value={"labels": ["neutral"]})
    return items


def _freeze(project, actor, **options):
    version = dataset_version_create(actor=actor, project=project, **options)
    return dataset_version_build(version_id=version.pk)


def test_a_version_holds_final_answers_and_drops_ties_with_the_reasons_counted(project, manager, labelled):
    version = _freeze(project, manager, conflict_policy=ConflictPolicy.MAJORITY)
    assert version.status == DatasetStatus.READY
    records = {record["id"]: record for record in dataset_version_records(version=version)}
    assert set(records) == {item.pk for item in labelled[:3]} | {labelled[4].pk}
    assert records[labelled[4].pk]["value"] == {"labels": ["neutral"]} and records[labelled[4].pk]["source"] == "review"
    assert version.manifest["dropped"] == {"tie": 1}
    assert version.manifest["annotators"] == {"annotator": 4, "annotator2": 4}
    assert sum(version.manifest["splits"].values()) == version.item_count == 4


def test_drop_policy_keeps_only_agreed_or_reviewer_decided_items(project, manager, labelled):
    version = _freeze(project, manager, conflict_policy=ConflictPolicy.DROP)
    assert {record["id"] for record in dataset_version_records(version=version)} == {
        item.pk for item in labelled[:3]
    } | {labelled[4].pk}


def test_reviewed_only_and_adjudicated_only_keep_the_reviewer_decided_item(project, manager, labelled):
    for flag in ("reviewed_only", "adjudicated_only"):
        version = _freeze(project, manager, filters={flag: True})
        assert [record["id"] for record in dataset_version_records(version=version)] == [labelled[4].pk]


def test_a_label_subset_keeps_only_items_with_those_labels(project, manager, labelled):
    version = _freeze(project, manager, filters={"labels": ["positive", "negative"]})
    kept = {record["id"]: record["value"] for record in dataset_version_records(version=version)}
    assert kept == {labelled[0].pk: {"labels": ["positive"]}, labelled[1].pk: {"labels": ["negative"]}}


def test_unknown_filters_and_labels_are_refused_with_what_is_wrong(project, manager):
    with pytest.raises(ValidationError, match="unknown filter"):
        dataset_version_create(actor=manager, project=project, filters={"colour": "red"})
    with pytest.raises(ValidationError, match="not labels of this project: joyful"):
        dataset_version_create(actor=manager, project=project, filters={"labels": ["joyful"]})
    with pytest.raises(ValidationError, match="not a date"):
        dataset_version_create(actor=manager, project=project, filters={"date_from": "yesterday"})


def test_the_content_hash_is_stable_and_the_file_is_sealed(project, manager, labelled, settings):
    first = _freeze(project, manager)
    second = _freeze(project, manager)
    assert first.content_hash == second.content_hash and len(first.content_hash) == 64
    assert (first.number, second.number) == (1, 2)
    raw = open(first.file_path, "rb").read()
    assert labelled[0].text.encode() not in raw
    assert dataset_version_verify(version=first)
    assert AuditEvent.objects.filter(action="dataset.freeze").count() == 2


def test_a_tampered_file_no_longer_opens(project, manager, labelled):
    version = _freeze(project, manager)
    data = bytearray(open(version.file_path, "rb").read())
    data[-5] ^= 0xFF
    open(version.file_path, "wb").write(bytes(data))
    with pytest.raises(Exception, match="does not open"):
        list(dataset_version_records(version=version))


def test_a_diff_names_items_added_removed_and_relabelled(project, manager, reviewer, labelled):
    old = _freeze(project, manager)
    review_resolve(actor=reviewer, item=labelled[3], value={"labels": ["positive"]})
    review_resolve(actor=reviewer, item=labelled[0], value={"labels": ["neutral"]})
    FinalAnnotation.objects.filter(item=labelled[1]).delete()
    labelled[1].annotations.all().delete()
    new = _freeze(project, manager)
    diff = dataset_version_diff(old=old, new=new)
    assert (diff.added, diff.removed, diff.relabelled, diff.unchanged) == (
        [labelled[3].pk], [labelled[1].pk], [labelled[0].pk], 2
    )


def test_a_shredded_project_version_cannot_be_read(project, manager, admin_user, labelled):
    version = _freeze(project, manager)
    project_data_shred(actor=admin_user, project=project)
    with pytest.raises(DataShredded):
        list(dataset_version_records(version=version))


def test_a_second_delivery_of_the_same_build_changes_nothing(project, manager, labelled):
    version = dataset_version_create(actor=manager, project=project)
    built = dataset_version_build(version_id=version.pk)
    again = dataset_version_build(version_id=version.pk)
    assert (again.status, again.content_hash) == (DatasetStatus.READY, built.content_hash)
    assert built.entries.count() == built.item_count
