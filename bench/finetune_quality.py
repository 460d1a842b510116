"""Quality of the product's fine-tuning pipeline with the bundled MiniLM-L6 on real data.

SST-2 (dev accuracy), TREC-6 (test accuracy) and CoNLL-2003 (test entity F1, seqeval),
each trained by training.ml.finetune with early stopping on a dev split, timed. Results
go to bench/results/finetune_quality_<device>.json and are printed as a table.

    .venv/bin/python bench/finetune_quality.py                 # all three, full training sets
    .venv/bin/python bench/finetune_quality.py --only sst2 --train-limit 2000
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from bench._data import SST2_LABELS, conll, sst2, trec  # noqa: E402
from training.ml.encoder import device_resolve  # noqa: E402
from training.ml.finetune import FinetuneConfig, evaluate_examples, finetune  # noqa: E402


def _split_off(examples, fraction: float, seed: int):
    """A deterministic dev split for sets that ship without one (TREC)."""
    import random

    shuffled = list(examples)
    random.Random(seed).shuffle(shuffled)
    cut = int(len(shuffled) * fraction)
    return shuffled[cut:], shuffled[:cut]


def task_sst2(args):
    train, dev = sst2("train", args.train_limit, args.seed), sst2("dev")
    # SST-2's test labels are public, but the usual figure is dev accuracy: we select on a
    # slice of train and report dev, so dev is never used for early stopping.
    train, early_stop = _split_off(train, 0.1, args.seed)
    return "SST-2", "dev accuracy", "single_label", SST2_LABELS, train, early_stop, dev


def task_trec(args):
    train, labels = trec("train", args.train_limit, args.seed)
    test, _ = trec("test")
    train, early_stop = _split_off(train, 0.1, args.seed)
    return "TREC-6", "test accuracy", "single_label", labels, train, early_stop, test


def task_conll(args):
    train, labels = conll("train", args.train_limit, args.seed)
    dev, _ = conll("dev", args.dev_limit, args.seed)
    test, _ = conll("test")
    return "CoNLL-2003", "test entity F1", "spans", labels, train, dev, test


TASKS = {"sst2": task_sst2, "trec": task_trec, "conll": task_conll}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="sst2,trec,conll")
    parser.add_argument("--train-limit", type=int, default=None, help="cap the training sentences per task")
    parser.add_argument("--dev-limit", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    device = device_resolve("auto")
    rows = []
    for key in args.only.split(","):
        name, metric_label, task, labels, train, dev, test = TASKS[key](args)
        config = FinetuneConfig(
            task=task,
            labels=labels,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr if task != "spans" else max(args.lr, 1e-4),
            max_length=128,
            seed=args.seed,
            patience=2,
        )
        started = time.perf_counter()
        result = finetune(config, train, dev, on_progress=lambda p: print(
            f"\r{name}: step {p.step}/{p.total_steps} epoch {p.epoch} loss {p.loss:.3f} "
            f"dev {p.dev_metric if p.dev_metric is None else round(p.dev_metric, 3)} eta {p.eta_seconds:.0f}s",
            end="", flush=True), progress_every=20)
        seconds = time.perf_counter() - started
        score = evaluate_examples(result, test)["value"]
        print()
        rows.append({
            "dataset": name, "metric": metric_label, "score": score, "train_examples": len(train),
            "best_epoch": result.best_epoch, "train_seconds": seconds, "samples_per_second": result.samples_per_second,
            "device": result.device, "precision": result.precision, "learning_rate": config.learning_rate,
        })

    hardware = torch.cuda.get_device_name(0) if device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    print(f"\nFine-tuning quality, bundled MiniLM-L6, {args.epochs} epoch(s) max, on {hardware}\n")
    print(f"| {'dataset':<11} | {'metric':<15} | {'score':>6} | {'train n':>7} | {'time s':>7} | samples/s |")
    print(f"|{'-' * 13}|{'-' * 17}|{'-' * 8}|{'-' * 9}|{'-' * 9}|-----------|")
    for row in rows:
        print(f"| {row['dataset']:<11} | {row['metric']:<15} | {row['score']:>6.3f} | {row['train_examples']:>7} | {row['train_seconds']:>7.0f} | {row['samples_per_second']:>9.1f} |")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"finetune_quality_{device}.json").write_text(json.dumps({"args": vars(args), "hardware": hardware, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
