"""The small-budget benchmark: its label orders and splits, and the script end to end on a tiny grid."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from bench._small_budget_data import (
    BATCH,
    SEED_LABELS,
    margin_order,
    random_order,
    split_targets,
    stratified_split,
)

ROOT = Path(__file__).resolve().parents[2]


def _clusters(n: int = 300, seed: int = 0):
    """Three separable classes in 8 dimensions, with some overlap so that margins differ."""
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c"]
    y = [labels[i % 3] for i in range(n)]
    centres = np.eye(3, 8) * 2.0
    X = np.stack([centres[labels.index(label)] for label in y]) + rng.normal(size=(n, 8))
    return X.astype(np.float32), y, labels


def test_a_margin_order_hands_out_distinct_rows_and_its_prefix_is_a_shorter_run():
    X, y, labels = _clusters()
    long_run = margin_order(X, y, labels, 120, seed=1)
    short_run = margin_order(X, y, labels, SEED_LABELS + 2 * BATCH + 5, seed=1)
    assert len(long_run) == len(set(long_run)) == 120
    assert short_run == long_run[: len(short_run)]


def test_margin_and_random_orders_differ_after_the_shared_seed_labels():
    X, y, labels = _clusters()
    margin, random = margin_order(X, y, labels, 100, seed=0), random_order(len(y), 100, seed=0)
    assert random == random_order(len(y), 100, seed=0)
    assert set(margin) != set(random)


def test_split_targets_follow_the_products_rule():
    assert split_targets(100) == {"train": 80, "dev": 10, "test": 10}
    assert split_targets(3) == {"train": 1, "dev": 1, "test": 1}
    assert split_targets(2) == {"train": 2, "dev": 0, "test": 0}


def test_a_split_is_stratified_by_class_and_the_same_for_the_same_project():
    y = ["pos"] * 150 + ["neg"] * 45 + ["rare"] * 5
    rows = list(range(200))
    split = stratified_split(rows, y, project=7)
    assert sorted(split["train"] + split["dev"] + split["test"]) == rows
    assert Counter(y[row] for row in split["test"]) == {"pos": 15, "neg": 5, "rare": 1}
    assert Counter(y[row] for row in split["dev"]) == {"pos": 15, "neg": 4, "rare": 1}
    assert stratified_split(rows, y, project=7) == split
    assert stratified_split(rows, y, project=8) != split


def _run(*args):
    # A 500-question slice of TREC's train split and 100 of its test split (tests/bench/data/README.md):
    # the test needs no ../shared beside the checkout.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "BENCH_DATASETS": str(Path(__file__).parent / "data")}
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "finetune_small_budget.py"), *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=1200,
    )  # fmt: skip


def test_the_quick_grid_runs_writes_its_results_and_a_rerun_skips_what_is_done(tmp_path):
    args = ("--quick", "--datasets", "trec", "--sizes", "100", "--max-steps", "4", "--out-dir", str(tmp_path))
    result = _run(*args)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    stored = json.loads((tmp_path / "finetune_small_budget_quick.json").read_text())
    assert {(run["order"], run["size"]) for run in stored["runs"]} == {("random", 100), ("margin", 100)}
    for run in stored["runs"]:
        assert sum(run["split"].values()) == 100
        assert run["test"]["head"]["items"] == 40
        # 10 dev and 10 test items cannot choose a step: the run cross-validates and says why.
        assert run["mode"] == "cross_validation" and run["mode_reason"]
        chosen = run["test"]["fine_tuned" if run["choice"]["use"] == "fine_tuned" else "head"]
        assert run["test"]["product"]["macro_f1"] == chosen["macro_f1"]
    assert set(stored["targets"]) == {
        "product_never_worse_than_head_beyond_its_interval",
        "no_degenerate_fine_tune_at_200",
        "no_degenerate_fine_tune_at_200_on_labelled_classes",
    }
    assert "| trec | margin | 100 | 1 |" in (tmp_path / "finetune_small_budget_quick.md").read_text()

    again = _run(*args)
    assert again.returncode == 0, again.stderr[-4000:]
    assert "N=100" not in again.stdout
    assert len(json.loads((tmp_path / "finetune_small_budget_quick.json").read_text())["runs"]) == 2
