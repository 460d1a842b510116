"""Dataset splits: items keep the split an earlier version gave them; new items are stratified by class."""

from collections import Counter

import pytest

from governance.roles import ProjectRole
from projects.models import TaskType
from tests.factories import answer_submit, project_make
from training.models import DatasetVersionItem, Split
from training.selectors.datasets import dataset_version_earlier_splits
from training.services.dataset_splits import (
    SPLIT_METHOD,
    split_classes,
    split_targets,
    splits_assign,
)
from training.services.datasets import (
    dataset_version_build,
    dataset_version_create,
    dataset_version_records,
)

pytestmark = pytest.mark.django_db


def _freeze(project, actor):
    version = dataset_version_create(actor=actor, project=project)
    return dataset_version_build(version_id=version.pk)


def _project(manager, annotator, *, task_type=TaskType.SINGLE_LABEL, labels=None, texts=()):
    return project_make(
        manager=manager,
        task_type=task_type,
        labels=labels,
        texts=list(texts),
        members={annotator: ProjectRole.ANNOTATOR},
    )


def _label(project, annotator, values):
    """Answer the project's next unanswered items, in id order, with ``values``."""
    items = list(project.items.filter(annotations__isnull=True).order_by("id")[: len(values)])
    for item, value in zip(items, values, strict=True):
        answer_submit(actor=annotator, item=item, value=value)


def _skewed(count: int) -> list[dict]:
    """``count`` single-label answers, 13 of every 100 positive."""
    return [{"labels": ["positive" if index % 100 < 13 else "negative"]} for index in range(count)]


def _splits_by_class(version, classes=None) -> dict[str, Counter]:
    records = list(dataset_version_records(version=version))
    classes = classes or split_classes({record["id"]: record["value"] for record in records})
    counts: dict[str, Counter] = {}
    for record in records:
        counts.setdefault(classes[record["id"]], Counter())[record["split"]] += 1
    return counts


def test_split_targets_round_by_largest_remainder_and_give_a_class_of_three_one_dev_and_one_test_item():
    def shares(total):
        return tuple(split_targets(total)[split] for split in (Split.TRAIN, Split.DEV, Split.TEST))

    assert shares(200) == (160, 20, 20)
    assert shares(26) == (21, 2, 3)  # 20.8 / 2.6 / 2.6: the two left over go to train, then test
    assert shares(174) == (139, 17, 18)
    assert shares(10) == (8, 1, 1)
    assert shares(3) == (1, 1, 1)
    assert shares(2) == (2, 0, 0) and shares(0) == (0, 0, 0)


def test_a_version_of_200_items_with_13_percent_positives_holds_about_10_percent_of_them_in_dev_and_test(
    manager, annotator
):
    project = _project(manager, annotator, texts=[f"feedback {index}" for index in range(200)])
    _label(project, annotator, _skewed(200))
    version = _freeze(project, manager)
    # 26 positives: 20.8 / 2.6 / 2.6 -> 21 / 2 / 3; 174 negatives: 139.2 / 17.4 / 17.4 -> 139 / 17 / 18.
    assert version.manifest["labels"]["positive"] == {"train": 21, "dev": 2, "test": 3}
    assert version.manifest["labels"]["negative"] == {"train": 139, "dev": 17, "test": 18}
    assert version.manifest["splits"] == {"train": 160, "dev": 19, "test": 21}
    assert version.manifest["split_method"] == SPLIT_METHOD
    assert version.manifest["split_ratios"] == {"train": 0.8, "dev": 0.1, "test": 0.1}


def test_items_of_an_earlier_version_keep_their_split_while_new_items_are_stratified(manager, annotator):
    project = _project(manager, annotator, texts=[f"feedback {index}" for index in range(200)])
    _label(project, annotator, _skewed(100))
    first = _freeze(project, manager)
    # Stand-in for a version frozen before stratification: its items all went to train.
    DatasetVersionItem.objects.filter(version=first).update(split=Split.TRAIN)
    _label(project, annotator, _skewed(100))
    second = _freeze(project, manager)
    entries = dict(second.entries.values_list("item_ref", "split"))
    assert all(entries[item_id] == Split.TRAIN for item_id in first.entries.values_list("item_ref", flat=True))
    records = {record["id"]: record["split"] for record in dataset_version_records(version=second)}
    assert records == entries, "the sealed records and the entries agree"
    # The 13 old positives hold no dev or test item, so the 13 new ones fill both targets (21 / 2 / 3).
    assert second.manifest["labels"]["positive"] == {"train": 21, "dev": 2, "test": 3}
    assert second.manifest["labels"]["negative"] == {"train": 139, "dev": 17, "test": 18}


def test_a_second_version_keeps_every_split_of_the_first_and_rebuilding_gives_the_same_hash(
    manager, annotator
):
    project = _project(manager, annotator, texts=[f"feedback {index}" for index in range(120)])
    _label(project, annotator, _skewed(60))
    first = _freeze(project, manager)
    again = _freeze(project, manager)
    assert again.content_hash == first.content_hash
    _label(project, annotator, _skewed(60))
    third = _freeze(project, manager)
    before = dict(first.entries.values_list("item_ref", "split"))
    after = dict(third.entries.values_list("item_ref", "split"))
    assert {item_id: after[item_id] for item_id in before} == before


def test_the_same_answers_always_give_the_same_splits():
    values = {item_id: {"labels": ["positive" if item_id % 7 == 0 else "negative"]} for item_id in range(1, 301)}
    earlier = {item_id: Split.TRAIN for item_id in range(1, 40)}
    assert splits_assign(project_id=5, values=values, earlier=earlier) == splits_assign(
        project_id=5, values=dict(reversed(values.items())), earlier=earlier
    )


def test_a_class_without_new_items_keeps_its_old_splits_even_when_short_of_held_out_items():
    values = {item_id: {"labels": ["rare"]} for item_id in (1, 2, 3)} | {4: {"labels": ["common"]}}
    earlier = {1: Split.TRAIN, 2: Split.TRAIN, 3: Split.TRAIN}
    splits = splits_assign(project_id=1, values=values, earlier=earlier)
    assert [splits[item_id] for item_id in (1, 2, 3)] == [Split.TRAIN] * 3


def test_new_items_fill_held_out_needs_test_first_and_never_move_kept_items():
    values = {item_id: {"labels": ["rare"]} for item_id in range(1, 11)}
    earlier = {item_id: Split.TRAIN for item_id in range(1, 10)}  # nine kept in train, one new
    assert splits_assign(project_id=1, values=values, earlier=earlier)[10] == Split.TEST


def test_multi_label_items_are_stratified_by_their_rarest_label(manager, annotator):
    labels = [{"name": "billing", "color": "#1f77b4"}, {"name": "outage", "color": "#ff7f0e"}]
    project = _project(
        manager, annotator, task_type=TaskType.MULTI_LABEL, labels=labels, texts=[f"ticket {i}" for i in range(200)]
    )
    values = [{"labels": ["billing", "outage"] if index % 10 == 0 else ["billing"]} for index in range(200)]
    _label(project, annotator, values)
    version = _freeze(project, manager)
    assert version.manifest["labels"]["outage"] == {"train": 16, "dev": 2, "test": 2}
    assert version.manifest["labels"]["billing"] == {"train": 160, "dev": 20, "test": 20}


def test_span_items_are_stratified_by_their_rarest_entity_type_or_as_items_without_spans(manager, annotator):
    labels = [{"name": "PER", "color": "#1f77b4"}, {"name": "LOC", "color": "#ff7f0e"}]
    texts = [f"Ada visited Paris, note {index}." for index in range(60)]
    project = _project(manager, annotator, task_type=TaskType.SPANS, labels=labels, texts=texts)
    person, place = {"start": 0, "end": 3, "label": "PER"}, {"start": 12, "end": 17, "label": "LOC"}
    values = [{"spans": [person, place]}] * 10 + [{"spans": [person]}] * 30 + [{"spans": []}] * 20
    _label(project, annotator, values)
    version = _freeze(project, manager)
    counts = _splits_by_class(version)
    assert counts["LOC"] == {"train": 8, "dev": 1, "test": 1}
    assert counts["PER"] == {"train": 24, "dev": 3, "test": 3}
    assert counts[""] == {"train": 16, "dev": 2, "test": 2}, "items without spans form a class of their own"


def test_earlier_splits_are_read_in_one_query_and_the_latest_earlier_version_wins(
    manager, annotator, django_assert_num_queries
):
    project = _project(manager, annotator, texts=[f"feedback {index}" for index in range(30)])
    _label(project, annotator, _skewed(30))
    first, second = _freeze(project, manager), _freeze(project, manager)
    item_id = first.entries.order_by("item_ref").values_list("item_ref", flat=True)[0]
    DatasetVersionItem.objects.filter(version=first, item_ref=item_id).update(split=Split.DEV)
    DatasetVersionItem.objects.filter(version=second, item_ref=item_id).update(split=Split.TEST)
    third = dataset_version_create(actor=manager, project=project)
    with django_assert_num_queries(1):
        earlier = dataset_version_earlier_splits(version=third)
    assert len(earlier) == 30 and earlier[item_id] == Split.TEST
    assert dataset_version_earlier_splits(version=first) == {}, "a version never reads its own or later splits"
