"""Pools, label orders and splits for bench/finetune_small_budget.py: everything but the training.

Label orders: ``random`` (a seeded shuffle of the pool) and ``margin`` (the product's active-learning
loop: 10 random seed labels, then batches of 20 by margin from the logistic head, 10 % of every batch
from the keyed random control slice, as bench/_al_loop.py simulates it). A loop run to the largest
budget hands out its labels in order, so the first N of that order are what a loop stopped at N
would have labelled (the last batch is cut in queue order).

Splits: the product's rule for new items (training/services/dataset_splits.py), restated without
Django: per class, dev and test targets of 10 % each (shares rounded down, the rest by largest
remainder, at least one dev and one test item for a class of three or more), the items with the
highest hash positions to test, the next to dev, the rest to train.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench._al_loop import Settings, _next_batch, seed_rows
from bench._data import sst2, trec
from training.ml.active.control import control_mask
from training.ml.active.head import head_fit
from training.ml.active.strategies import STRATEGIES, uncertainty
from training.ml.batching import TrainingExample

CACHE = Path(__file__).resolve().parent / ".cache" / "small_budget"
SEED_LABELS, BATCH, CONTROL = 10, 20, 0.1  # the product's active-learning defaults
ORDERS = ("random", "margin")
_PERCENT = {"train": 80, "dev": 10, "test": 10}
_PRIORITY = ("test", "dev", "train")


@dataclass
class Dataset:
    name: str
    labels: list[str]
    pool: list[TrainingExample]  # what the team labels from (the training split, capped)
    test: list[TrainingExample]  # the dataset's real held-out split
    note: str


def dataset_load(name: str, *, pool_cap: int | None, test_limit: int | None) -> Dataset:
    """SST-2 (pool: train, test: dev.tsv, 872) or TREC-6 (pool: train, test: test, 500)."""
    if name == "sst2":
        pool, test, labels = sst2("train", pool_cap, seed=0), sst2("dev", test_limit, seed=0), ["negative", "positive"]
        note = "pool: train.tsv (a seeded sample when capped); test: dev.tsv (the usual held-out split)"
    elif name == "trec":
        (pool, labels), (test, _) = trec("train", pool_cap, seed=0), trec("test", test_limit, seed=0)
        note = "6 coarse labels; pool: train; test: test (500)"
    else:
        raise SystemExit(f"unknown dataset {name!r}; expected sst2 or trec")
    return Dataset(name, labels, pool, test, note)


def embeddings_cached(encoder, key: str, texts: list[str]) -> np.ndarray:
    """MiniLM embeddings of ``texts``, cached under bench/.cache/ (git-ignored) by content and encoder."""
    digest = hashlib.sha256(("\n".join(texts) + encoder.model_version).encode()).hexdigest()[:16]
    path = CACHE / f"{key}-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = encoder.encode(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def random_order(n: int, budget: int, seed: int) -> list[int]:
    return [int(row) for row in np.random.default_rng(seed).permutation(n)[:budget]]


def margin_order(X: np.ndarray, y: list[str], labels: list[str], budget: int, seed: int) -> list[int]:
    """Pool rows in the order the product's loop would ask for them, up to ``budget``."""
    settings = Settings(seed_size=SEED_LABELS, batch=BATCH, budget=budget, control=CONTROL)
    n = X.shape[0]
    rng = np.random.default_rng([seed, STRATEGIES.index("margin")])
    control = control_mask(np.arange(n), fraction=CONTROL, salt=f"sim-{seed}".encode())
    labelled = np.zeros(n, dtype=bool)
    order = [int(row) for row in seed_rows(n, SEED_LABELS, seed)]
    labelled[order] = True
    while len(order) < min(budget, n):
        model = head_fit(X[order], [(y[row],) for row in order], labels=labels, multi_label=False, seed=seed)
        unlabelled = np.flatnonzero(~labelled)
        scores = None
        if model is not None:
            scores = uncertainty(model.predict_proba(X[unlabelled]), strategy="margin", multi_label=False)
        batch = _next_batch("margin", scores, X[unlabelled], unlabelled, control, settings, rng)
        batch = [int(row) for row in batch[: budget - len(order)]]
        order += batch
        labelled[batch] = True
    return order


def split_targets(total: int) -> dict[str, int]:
    """training.services.dataset_splits.split_targets, restated (that module imports Django models)."""
    counts = {split: total * _PERCENT[split] // 100 for split in _PRIORITY}
    by_remainder = sorted(_PRIORITY, key=lambda split: -(total * _PERCENT[split] % 100))
    for split in by_remainder[: total - sum(counts.values())]:
        counts[split] += 1
    if total >= 3:
        for split in ("test", "dev"):
            if counts[split] == 0:
                counts[split], counts["train"] = 1, counts["train"] - 1
    return counts


def _position(project: int, item: int) -> float:
    digest = hashlib.sha256(f"sensitive-annotator/split/{project}/{item}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def stratified_split(rows: list[int], y: list[str], *, project: int) -> dict[str, list[int]]:
    """80/10/10 per class by hash position of (project, pool row): the product's rule for new items."""
    members: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        members[y[row]].append(row)
    out: dict[str, list[int]] = {"train": [], "dev": [], "test": []}
    for name in sorted(members):
        ranked = sorted(members[name], key=lambda row: (_position(project, row), row))
        targets = split_targets(len(ranked))
        left = len(ranked)
        for split in ("test", "dev"):
            out[split] += ranked[left - targets[split] : left]
            left -= targets[split]
        out["train"] += ranked[:left]
    return {split: sorted(chosen) for split, chosen in out.items()}
