"""Fine-tuning throughput: this product's pipeline against a plain Hugging Face Trainer, same run.

Both train the same base model (the bundled MiniLM-L6 unless --model) on the same SST-2
sample with the same batch size, learning rate, warm-up, weight decay, epochs, seed and
maximum length; on CUDA both use bf16. The Trainer keeps its defaults otherwise (dynamic
padding through DataCollatorWithPadding, no length grouping). Prints a table and writes
JSON next to this file under results/.

    .venv/bin/pip install accelerate   # the Trainer needs it; the product does not
    .venv/bin/python bench/finetune_throughput.py --train 2000 --epochs 1
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench._data import SST2_LABELS, sst2  # noqa: E402
from training.ml.encoder import default_model_path, device_resolve  # noqa: E402
from training.ml.finetune import FinetuneConfig, evaluate_examples, finetune  # noqa: E402


def run_pipeline(args, train, dev) -> dict:
    config = FinetuneConfig(
        task="single_label",
        labels=SST2_LABELS,
        base_model=args.model,
        max_length=args.max_length,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        epochs=args.epochs,
        warmup_ratio=0.1,
        weight_decay=0.01,
        seed=args.seed,
        patience=args.epochs,
    )
    started = time.perf_counter()
    result = finetune(config, train, dev)
    wall = time.perf_counter() - started
    accuracy = evaluate_examples(result, dev)["value"]
    return {"samples_per_second": result.samples_per_second, "wall_seconds": wall, "dev_accuracy": accuracy, "precision": result.precision}


def run_trainer(args, train, dev) -> dict:
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )
    from transformers.utils import logging as transformers_logging

    path = args.model or str(default_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    transformers_logging.set_verbosity_error()
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2, local_files_only=True)
    label_index = {label: i for i, label in enumerate(SST2_LABELS)}

    def rows(examples):
        encoded = tokenizer([e.text for e in examples], truncation=True, max_length=args.max_length)
        return [
            {"input_ids": ids, "attention_mask": mask, "labels": label_index[e.labels[0]]}
            for ids, mask, e in zip(encoded["input_ids"], encoded["attention_mask"], examples)
        ]

    cuda = device_resolve("auto") == "cuda"
    training_args = TrainingArguments(
        output_dir=str(Path(args.workdir) / "trainer"),
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=128,
        learning_rate=args.lr,
        num_train_epochs=args.epochs,
        warmup_steps=0.1,  # a float below 1 is a ratio of the total steps in transformers 5
        weight_decay=0.01,
        seed=args.seed,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        report_to=[],
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model, args=training_args, train_dataset=rows(train), data_collator=DataCollatorWithPadding(tokenizer)
    )
    started = time.perf_counter()
    metrics = trainer.train().metrics
    wall = time.perf_counter() - started
    predictions = trainer.predict(rows(dev))
    accuracy = float(np.mean(predictions.predictions.argmax(-1) == predictions.label_ids))
    return {
        "samples_per_second": metrics["train_samples_per_second"],
        "wall_seconds": wall,
        "dev_accuracy": accuracy,
        "precision": "bf16" if training_args.bf16 else "fp32",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000, help="SST-2 training sentences to use")
    parser.add_argument("--dev", type=int, default=872, help="SST-2 dev sentences to evaluate on")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--model", default=None, help="a local model folder (default: bundled MiniLM-L6)")
    parser.add_argument("--workdir", default="/tmp/finetune-bench")
    parser.add_argument("--order", default="pipeline,trainer", help="which to run, in this order")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    train, dev = sst2("train", args.train, seed=args.seed), sst2("dev", args.dev, seed=args.seed)
    device = device_resolve("auto")
    runners = {"pipeline": run_pipeline, "trainer": run_trainer}
    results = {}
    for name in args.order.split(","):
        results[name] = runners[name](args, train, dev)

    hardware = torch.cuda.get_device_name(0) if device == "cuda" else f"CPU ({os.cpu_count()} cores, torch threads {torch.get_num_threads()})"
    print(f"\nFine-tuning throughput, SST-2 {len(train)} train / {len(dev)} dev, {args.epochs} epoch(s), batch {args.batch_size}, on {hardware}\n")
    print(f"| {'run':<22} | {'samples/s':>10} | {'wall s':>8} | {'dev acc':>7} | precision |")
    print(f"|{'-' * 24}|{'-' * 12}|{'-' * 10}|{'-' * 9}|-----------|")
    for name, row in results.items():
        label = "this pipeline" if name == "pipeline" else "HF Trainer (plain)"
        print(f"| {label:<22} | {row['samples_per_second']:>10.1f} | {row['wall_seconds']:>8.1f} | {row['dev_accuracy']:>7.3f} | {row['precision']:<9} |")
    if {"pipeline", "trainer"} <= results.keys():
        ratio = results["pipeline"]["samples_per_second"] / results["trainer"]["samples_per_second"]
        print(f"\nthis pipeline / Trainer throughput: {ratio:.2f}x")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    record = {"args": vars(args), "device": hardware, "python": platform.python_version(), "torch": torch.__version__, "results": results}
    (out / f"finetune_throughput_{device}.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
