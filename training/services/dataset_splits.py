"""Which split each item of a dataset version goes to: earlier splits kept, new items stratified by class."""

import hashlib
from collections import Counter, defaultdict
from collections.abc import Mapping

from training.models import Split

SPLIT_RATIOS = {Split.TRAIN: 0.8, Split.DEV: 0.1, Split.TEST: 0.1}
SPLIT_METHOD = "stratified by class for items new to the version; items in an earlier version keep their split"
# Whole percentages, so that targets are computed in integers and never move with float rounding.
_PERCENT = {split: round(ratio * 100) for split, ratio in SPLIT_RATIOS.items()}
# Which split wins an equal remainder (and gets new items first when they cannot fill every need):
# the test split, whose report says whether a model is any good, then dev, which selects it.
_PRIORITY = (Split.TEST, Split.DEV, Split.TRAIN)
# A class with at least this many items gets at least one dev and one test item (if new items allow).
MIN_CLASS_FOR_HELD_OUT = 3
# The class of an item without any label or entity (an empty span answer).
NO_CLASS = ""


def split_position(*, project_id: int, item_id: int) -> float:
    """The item's place in [0, 1) from a hash of its identity alone: the same in every version."""
    digest = hashlib.sha256(f"sensitive-annotator/split/{project_id}/{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _names(value: dict) -> set[str]:
    if "spans" in value:
        return {span["label"] for span in value["spans"]}
    return set(value.get("labels", []))


def split_classes(values: Mapping[int, dict]) -> dict[int, str]:
    """Each item's class: its label, or its rarest label or entity type in ``values`` (ties by name)."""
    items_with = Counter(name for value in values.values() for name in _names(value))
    classes = {}
    for item_id, value in values.items():
        names = _names(value)
        classes[item_id] = min(names, key=lambda name: (items_with[name], name)) if names else NO_CLASS
    return classes


def split_targets(total: int) -> dict[str, int]:
    """How many of a class's ``total`` items each split should hold.

    The ratios' shares rounded down, the items left over given by largest remainder (ties: test,
    dev, train); a class of at least MIN_CLASS_FOR_HELD_OUT items then has one dev and one test
    item at least, taken from train.
    """
    counts = {split: total * _PERCENT[split] // 100 for split in _PRIORITY}
    by_remainder = sorted(_PRIORITY, key=lambda split: -(total * _PERCENT[split] % 100))  # stable: ties keep _PRIORITY
    for split in by_remainder[: total - sum(counts.values())]:
        counts[split] += 1
    if total >= MIN_CLASS_FOR_HELD_OUT:
        for split in (Split.TEST, Split.DEV):
            if counts[split] == 0:
                counts[split], counts[Split.TRAIN] = 1, counts[Split.TRAIN] - 1
    return counts


def splits_assign(*, project_id: int, values: Mapping[int, dict], earlier: Mapping[int, str]) -> dict[int, str]:
    """The split of every item of a version, from its answers (``values``: item id -> value).

    An item in ``earlier`` (its split in the latest earlier version holding it) keeps that split.
    The others are stratified by class (``split_classes``): per class, the dev and test targets
    of ``split_targets`` over all its items, less what its kept items already hold there, are
    filled from its new items, test first, never more than there are; the new items taken in
    order of ``split_position``, the highest going to test, the next to dev, the rest to train.
    The same inputs give the same splits: nothing but the hash decides.
    """
    members: dict[str, list[int]] = defaultdict(list)
    for item_id, name in split_classes(values).items():
        members[name].append(item_id)
    splits = {}
    for item_ids in members.values():
        kept = Counter(earlier[item_id] for item_id in item_ids if item_id in earlier)
        new = sorted(
            (item_id for item_id in item_ids if item_id not in earlier),
            key=lambda item_id: (split_position(project_id=project_id, item_id=item_id), item_id),
        )
        targets = split_targets(len(item_ids))
        left = len(new)
        for split in (Split.TEST, Split.DEV):
            wanted = min(max(targets[split] - kept[split], 0), left)
            for item_id in new[left - wanted : left]:
                splits[item_id] = split
            left -= wanted
        for item_id in new[:left]:
            splits[item_id] = Split.TRAIN
    splits.update((item_id, earlier[item_id]) for item_id in values if item_id in earlier)
    return splits
