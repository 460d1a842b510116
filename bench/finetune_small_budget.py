"""Small label budgets: the embedding head, the fine-tuned model and what the product would activate.

SST-2 and TREC-6 from ../shared/datasets, the bundled MiniLM-L6 on CPU, at 100, 200, 500 and 1,000
labels taken in two orders (``random``: a seeded shuffle of the pool; ``margin``: the product's
active-learning loop, see bench/_small_budget_data.py), over 3 seeds. For each run the N labelled
items are split 80/10/10 stratified by class (the product's rule) and handed to
``training.ml.challenger.train_and_compare`` with the product's default ``FinetuneConfig`` (only
task, labels and seed set), exactly as a training job runs it. Then, on the dataset's real held-out
split (SST-2 dev.tsv, 872; TREC test, 500), each with macro-F1 and accuracy and 95 % intervals:

- the embedding head fitted on all N labels;
- the fine-tuned model (``outcome.result``);
- what the product would activate (``outcome.choice["use"]``: the fine-tuned model or the head).

Results are written after every run to bench/results/<name>.json (and .md); a rerun skips the runs
already there, so the grid can be stopped and resumed.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/finetune_small_budget.py            # the whole grid
    HF_HUB_OFFLINE=1 .venv/bin/python bench/finetune_small_budget.py --quick    # 1 seed, 100/200, 40 test items
"""

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

# One thread: on the shared 2-core machine (load 10-12 from other work) a fine-tuning step took
# 12 s with two torch threads and 2.5 s with one; set before numpy/torch load their thread pools.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch

from bench._small_budget_data import (
    BATCH,
    CONTROL,
    ORDERS,
    SEED_LABELS,
    dataset_load,
    embeddings_cached,
    margin_order,
    random_order,
    stratified_split,
)
from training.ml import evaluate
from training.ml.active.head import head_fit
from training.ml.challenger import FINE_TUNED, HEAD, train_and_compare
from training.ml.encoder import encoder_load
from training.ml.finetune import FinetuneConfig, predict_examples

RESULTS = ROOT / "bench" / "results"
THREADS = 1


def _summary(report: dict) -> dict:
    return {
        "macro_f1": report["value"],
        "macro_f1_interval": report["interval"],
        "accuracy": report["accuracy"]["value"],
        "accuracy_interval": report["accuracy"]["interval"],
        "degenerate": report["degenerate"],
        "degenerate_reason": report["degenerate_reason"],
        "items": report["items"],
    }


def _one_run(data, vectors, test_vectors, order, size, seed, *, max_steps=None) -> dict:
    rows = order[:size]
    y = [example.labels[0] for example in data.pool]
    split = stratified_split(rows, y, project=seed)
    train, dev, test = ([data.pool[row] for row in split[name]] for name in ("train", "dev", "test"))
    index = {example.text: position for position, example in enumerate(data.pool)}

    def embed(examples):
        # Every example handed to the head comes from the pool, whose embeddings are cached.
        return vectors[[index[example.text] for example in examples]]

    config = FinetuneConfig(task="single_label", labels=list(data.labels), seed=seed)
    if max_steps is not None:  # tests only: the product's defaults otherwise
        config.max_steps = max_steps
    started = time.perf_counter()
    outcome = train_and_compare(config, train, dev, test, embed=embed)
    seconds = time.perf_counter() - started

    gold = [example.labels[0] for example in data.test]
    head = head_fit(vectors[rows], [(y[row],) for row in rows], labels=data.labels, multi_label=False, seed=seed)
    head_predicted = [guess[0] for guess in head.predict(test_vectors)]
    tuned_predicted = [guess[0] if guess else "" for guess in predict_examples(outcome.result, data.test)]
    use = outcome.choice["use"]
    product_predicted = tuned_predicted if use == FINE_TUNED else head_predicted
    reports = {
        "head": evaluate.report("single_label", gold, head_predicted, data.labels),
        "fine_tuned": evaluate.report("single_label", gold, tuned_predicted, data.labels),
        "product": evaluate.report("single_label", gold, product_predicted, data.labels),
    }
    versus_head = evaluate.paired_comparison(gold, product_predicted, head_predicted, data.labels, task="single_label")
    heldout = outcome.reports["heldout"]
    result = outcome.result
    return {
        "split": {name: len(chosen) for name, chosen in split.items()},
        "labels_seen": {label: sum(y[row] == label for row in rows) for label in data.labels},
        "mode": outcome.mode,
        "mode_reason": outcome.mode_reason,
        "heldout_basis": outcome.heldout_basis,
        "heldout": _summary(heldout) | {"head_macro_f1": outcome.baselines.get(HEAD, {}).get("report", {}).get("value")},
        "choice": outcome.choice,
        "total_steps": result.total_steps,
        "best_step": result.best_step,
        "batch_size": result.batch_size,
        "learning_rate": result.learning_rate,
        "seconds": round(seconds, 1),
        "test": {name: _summary(report) for name, report in reports.items()},
        "product_vs_head": {key: versus_head[key] for key in ("difference", "interval", "verdict")},
    }


def unlabelled_only(run: dict, model: str = "fine_tuned") -> bool:
    """Degenerate only through recall 0 on classes none of the N labels held (no model could find them)."""
    reason = run["test"][model]["degenerate_reason"]
    if not run["test"][model]["degenerate"] or "for all" in reason:
        return False
    classes = re.findall(r"recall 0 on '([^']*)'", reason)
    return bool(classes) and all(run["labels_seen"].get(name, 0) == 0 for name in classes)


def _key(run: dict) -> tuple:
    return run["dataset"], run["order"], run["size"], run["seed"]


def _mean_sd(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:  # one seed: no spread to show
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def rows_summarise(runs: list[dict]) -> list[dict]:
    """One row per (dataset, order, N) over the seeds that finished."""
    groups: dict[tuple, list[dict]] = {}
    for run in sorted(runs, key=_key):
        groups.setdefault((run["dataset"], run["order"], run["size"]), []).append(run)
    rows = []
    for (dataset, order, size), group in groups.items():
        test = [run["test"] for run in group]
        rows.append({
            "dataset": dataset, "order": order, "size": size, "seeds": len(group),
            "head_macro_f1": [t["head"]["macro_f1"] for t in test],
            "fine_tuned_macro_f1": [t["fine_tuned"]["macro_f1"] for t in test],
            "product_macro_f1": [t["product"]["macro_f1"] for t in test],
            "product_accuracy": [t["product"]["accuracy"] for t in test],
            "head_accuracy": [t["head"]["accuracy"] for t in test],
            "fine_tuned_accuracy": [t["fine_tuned"]["accuracy"] for t in test],
            "choices": [run["choice"]["use"] for run in group],
            "degenerate": sum(t["fine_tuned"]["degenerate"] for t in test),
            "degenerate_unlabelled_only": sum(unlabelled_only(run) for run in group),
            "modes": [run["mode"] for run in group],
            "steps": [run["best_step"] for run in group],
            "total_steps": [run["total_steps"] for run in group],
            "seconds": [run["seconds"] for run in group],
        })  # fmt: skip
    return rows


def targets_check(runs: list[dict]) -> dict:
    """The two targets of issue 16, run by run."""
    worse = [
        run for run in runs
        if run["test"]["head"]["macro_f1"] > run["test"]["product"]["macro_f1_interval"][1]
    ]  # fmt: skip
    at_200 = [run for run in runs if run["size"] == 200]
    degenerate = [run for run in at_200 if run["test"]["fine_tuned"]["degenerate"]]
    collapsed = [run for run in degenerate if not unlabelled_only(run)]
    return {
        "product_never_worse_than_head_beyond_its_interval": {
            "met": not worse, "runs": len(runs),
            "failures": [dict(zip(("dataset", "order", "size", "seed"), _key(run))) for run in worse],
        },
        "no_degenerate_fine_tune_at_200": {
            "met": bool(at_200) and not degenerate, "runs": len(at_200),
            "failures": [dict(zip(("dataset", "order", "size", "seed"), _key(run))) | {
                "reason": run["test"]["fine_tuned"]["degenerate_reason"]} for run in degenerate],
        },
        "no_degenerate_fine_tune_at_200_on_labelled_classes": {
            "met": bool(at_200) and not collapsed, "runs": len(at_200),
            "failures": [dict(zip(("dataset", "order", "size", "seed"), _key(run))) | {
                "reason": run["test"]["fine_tuned"]["degenerate_reason"]} for run in collapsed],
        },
    }  # fmt: skip


def _choices(values: list[str]) -> str:
    tuned, head = values.count(FINE_TUNED), values.count(HEAD)
    other = len(values) - tuned - head
    return f"ft {tuned} / head {head}" + (f" / none {other}" if other else "")


def _degenerate(row: dict) -> str:
    text = f"{row['degenerate']}/{row['seeds']}"
    return text + (f" ({row['degenerate_unlabelled_only']} unlabelled class)" if row["degenerate_unlabelled_only"] else "")


def _modes(values: list[str]) -> str:
    return f"cv {values.count('cross_validation')} / dev {values.count('dev')}"


TABLE_HEAD = (
    "| dataset | order | N | seeds | head macro-F1 | fine-tuned macro-F1 | product's choice | product macro-F1 "
    "| product accuracy | degenerate | selection | steps | seconds |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def table(rows: list[dict]) -> str:
    lines = [TABLE_HEAD]
    for row in rows:
        lines.append(
            f"| {row['dataset']} | {row['order']} | {row['size']} | {row['seeds']} | {_mean_sd(row['head_macro_f1'])} "
            f"| {_mean_sd(row['fine_tuned_macro_f1'])} | {_choices(row['choices'])} | {_mean_sd(row['product_macro_f1'])} "
            f"| {_mean_sd(row['product_accuracy'])} | {_degenerate(row)} | {_modes(row['modes'])} "
            f"| {statistics.mean(row['steps']):.0f}/{statistics.mean(row['total_steps']):.0f} "
            f"| {statistics.mean(row['seconds']):.0f} |"
        )
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def markdown(stored: dict) -> str:
    rows, targets = stored["rows"], stored["targets"]
    never_worse, not_degenerate = (
        targets["product_never_worse_than_head_beyond_its_interval"], targets["no_degenerate_fine_tune_at_200"])
    on_labelled = targets["no_degenerate_fine_tune_at_200_on_labelled_classes"]
    lost = [row for row in rows if statistics.mean(row["fine_tuned_macro_f1"]) <= statistics.mean(row["head_macro_f1"])]
    settings = stored["settings"]
    lines = [
        "# Small label budgets: head, fine-tuned model, product's choice",
        "",
        (f"`bench/finetune_small_budget.py` on {stored['hardware']}, bundled MiniLM-L6, "
        f"{len(stored['runs'])} of {stored['planned_runs']} planned runs finished "
        f"(seeds {settings['seeds']}, sizes {settings['sizes']}, orders {settings['orders']})."),
        "",
        ("Macro-F1 and accuracy on each dataset's real held-out split (SST-2 dev.tsv, TREC test), "
        "mean ± sd over the seeds that finished. *degenerate*: fine-tuned models marked degenerate on "
        "that split; *(k unlabelled class)*: k of them only through recall 0 on a class none of the N "
        "labels held, which no model trained on them can predict. *selection*: how `train_and_compare` chose the training step (cv: 3-fold "
        "cross-validation, because dev or test of the N labels was too small). *steps*: the step kept / the schedule's steps (means)."),
        "",
        table(rows),
        "",
        "## Targets",
        "",
        f"- What the product activates is never worse than the head by more than its interval "
        f"(run by run: the head's macro-F1 is not above the upper end of the chosen model's 95 % "
        f"interval): {_verdict(never_worse['met'])} over {never_worse['runs']} runs"
        + (f"; failures: {never_worse['failures']}" if never_worse["failures"] else "") + ".",
        f"- Fine-tuning at 200 labels never produces a degenerate model on either set: "
        f"{_verdict(not_degenerate['met'])} over {not_degenerate['runs']} runs"
        + (f"; degenerate: {not_degenerate['failures']}" if not_degenerate["failures"] else "") + ".",
        f"- The same, counting only models degenerate on classes the 200 labels held (one answer for "
        f"everything, or recall 0 on a labelled class): {_verdict(on_labelled['met'])} over "
        f"{on_labelled['runs']} runs" + (f"; degenerate: {on_labelled['failures']}" if on_labelled["failures"] else "") + ".",
        "",
        "## Where fine-tuning does not help",
        "",
    ]
    if lost:
        lines += [
            f"- {row['dataset']}, {row['order']}, {row['size']} labels: fine-tuned "
            f"{statistics.mean(row['fine_tuned_macro_f1']):.3f} against the head's "
            f"{statistics.mean(row['head_macro_f1']):.3f} (mean macro-F1)"
            for row in lost
        ]
    else:
        lines.append("- Nowhere in these runs: the fine-tuned model's mean macro-F1 is above the head's in every row.")
    lines += [
        "",
        "## How it was run",
        "",
        (f"- Pools: {'; '.join(f'{name}: {note}' for name, note in stored['datasets'].items())}. "
        f"Pool cap {settings['pool_cap']}, test limit {settings['test_limit']}."),
        (f"- Orders: random (first N of a seeded shuffle of the pool); margin (the product's loop: "
        f"{SEED_LABELS} random labels, then batches of {BATCH} by margin from the logistic head on MiniLM "
        f"embeddings, {CONTROL:.0%} from the keyed random control slice; the first N of one loop run to the "
        "largest size)."),
        ("- Splits of the N labels: 80/10/10 stratified by class by a hash of (seed, pool row), the rule of "
        "training/services/dataset_splits.py for new items, restated without Django."),
        ("- Fine-tuning: `training.ml.challenger.train_and_compare` with `FinetuneConfig(task, labels, seed)` "
        "(the product's defaults), the head as baseline; the product's choice is `outcome.choice['use']`."),
        "- The head column: `head_fit` on the embeddings of all N labels (train + dev + test of the split).",
        (f"- Raw numbers per run (split sizes, selection reason, held-out report the product saw, choice and "
        f"reason, steps, seconds, paired product-vs-head difference on the test split): `{stored['json_name']}`."),
    ]
    if stored.get("notes"):
        lines += ["", "## Notes", "", stored["notes"].strip()]
    return "\n".join(lines) + "\n"


def _write(path: Path, stored: dict) -> None:
    stored["rows"] = rows_summarise(stored["runs"])
    stored["targets"] = targets_check(stored["runs"])
    path.with_suffix(".json").write_text(json.dumps(stored, indent=1))
    path.with_suffix(".md").write_text(markdown(stored))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="sst2,trec")
    parser.add_argument("--orders", default=",".join(ORDERS))
    parser.add_argument("--sizes", help="run in this order (default 200,100,500,1000: 200 is a target)")
    parser.add_argument("--seeds", type=int, help="seeds 0..n-1 (default 3)")
    parser.add_argument("--pool-cap", type=int, help="items of the training split to label from (default 6,000)")
    parser.add_argument("--test-limit", type=int, help="a seeded sample of the held-out split (default: all)")
    parser.add_argument("--max-steps", type=int, default=None, help="cap the fine-tuning steps (tests only)")
    parser.add_argument("--quick", action="store_true", help="1 seed, sizes 100 and 200, 40 test items, pool 400")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--merge", nargs="+", type=Path, help="only combine the runs of these JSON files into --name")
    parser.add_argument("--notes", type=Path, help="a Markdown file whose text ends the report (what the numbers mean)")
    parser.add_argument("--name", default=None, help="file name without suffix (default finetune_small_budget[_quick])")
    args = parser.parse_args(argv)
    defaults = {"seeds": 1, "sizes": "100,200", "test_limit": 40, "pool_cap": 400} if args.quick else {
        "seeds": 3, "sizes": "200,100,500,1000", "test_limit": None, "pool_cap": 6_000}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    name = args.name or ("finetune_small_budget_quick" if args.quick else "finetune_small_budget")
    datasets, orders = args.datasets.split(","), args.orders.split(",")
    sizes, seeds = [int(size) for size in args.sizes.split(",")], list(range(args.seeds))
    torch.set_num_threads(THREADS)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    path = args.out_dir / f"{name}.json"
    stored = json.loads(path.read_text()) if path.exists() else {"runs": []}
    stored.update(
        settings={"datasets": datasets, "orders": orders, "sizes": sizes, "seeds": seeds,
                  "pool_cap": args.pool_cap, "test_limit": args.test_limit, "max_steps": args.max_steps},
        hardware=f"CPU ({os.cpu_count()} cores, torch {THREADS} threads)",
        planned_runs=len(datasets) * len(orders) * len(sizes) * len(seeds), json_name=f"bench/results/{name}.json",
        datasets=stored.get("datasets", {}),
    )  # fmt: skip
    if args.notes:
        stored["notes"] = args.notes.read_text(encoding="utf-8")
    if args.merge:
        # Shards run side by side (e.g. one process per dataset) become one result.
        runs = {_key(run): run for source in args.merge for run in json.loads(source.read_text())["runs"]}
        stored.update(runs=sorted(runs.values(), key=_key), datasets={
            key: value for source in args.merge for key, value in json.loads(source.read_text())["datasets"].items()})
        _write(path, stored)
        print(table(stored["rows"]))
        return
    done = {_key(run) for run in stored["runs"]}

    encoder = encoder_load(device="cpu")
    loaded = {}
    for dataset in datasets:
        data = dataset_load(dataset, pool_cap=args.pool_cap, test_limit=args.test_limit)
        stored["datasets"][dataset] = data.note
        vectors = embeddings_cached(encoder, f"{dataset}-pool", [e.text for e in data.pool])
        test_vectors = embeddings_cached(encoder, f"{dataset}-test", [e.text for e in data.test])
        loaded[dataset] = (data, vectors, test_vectors)

    # Seed by seed, and sizes in the order given, so that a grid cut short has every condition
    # once before any twice, and the sizes that matter most first.
    orders_cache: dict[tuple, list[int]] = {}
    for seed in seeds:
        for size in sizes:
            for dataset in datasets:
                data, vectors, test_vectors = loaded[dataset]
                y = [example.labels[0] for example in data.pool]
                for order_name in orders:
                    if (dataset, order_name, size, seed) in done:
                        continue
                    if (dataset, order_name, seed) not in orders_cache:
                        budget = max(sizes)
                        orders_cache[dataset, order_name, seed] = (
                            random_order(len(y), budget, seed) if order_name == "random"
                            else margin_order(vectors, y, data.labels, budget, seed)
                        )  # fmt: skip
                    print(f"{dataset} {order_name} N={size} seed={seed} ...", flush=True)
                    run = {"dataset": dataset, "order": order_name, "size": size, "seed": seed}
                    order = orders_cache[dataset, order_name, seed]
                    run |= _one_run(data, vectors, test_vectors, order, size, seed, max_steps=args.max_steps)
                    stored["runs"].append(run)
                    test = run["test"]
                    print(
                        f"  {run['mode']}, {run['best_step']}/{run['total_steps']} steps, {run['seconds']:.0f} s: "
                        f"head {test['head']['macro_f1']:.3f}, fine-tuned {test['fine_tuned']['macro_f1']:.3f}"
                        f"{' (degenerate)' if test['fine_tuned']['degenerate'] else ''}, "
                        f"product uses {run['choice']['use']}: {test['product']['macro_f1']:.3f}",
                        flush=True,
                    )
                    _write(path, stored)
    _write(path, stored)
    print()
    print(table(stored["rows"]))
    print()
    for target, outcome in stored["targets"].items():
        print(f"{target}: {'met' if outcome['met'] else 'NOT met'} ({outcome['runs']} runs)")


if __name__ == "__main__":
    main()
