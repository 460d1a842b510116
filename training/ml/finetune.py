"""Fine-tune a local Hugging Face encoder for text classification or entity spans.

Dynamic padding, length-grouped batches, AdamW with linear warm-up, early stopping
on the dev metric, seeded. On CUDA: bf16 autocast where the GPU supports it, pinned
memory and non-blocking copies. Free of Django: the worker's service calls it with
plain examples and callbacks for progress and cancellation.
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from torch.utils.data import DataLoader
from transformers import (
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    get_linear_schedule_with_warmup,
)
from transformers.utils import logging as hf_logging

from training.ml import evaluate
from training.ml.batching import (
    MULTI_LABEL,
    SINGLE_LABEL,
    SPANS,
    LengthGroupedBatches,
    TrainingExample,
    collate,
    encode,
    sequential_batches,
)
from training.ml.encoder import default_model_path, device_resolve
from training.ml.spans import bio_tag_names, tag_ids_to_spans

META_FILE = "training_meta.json"


class TrainingCancelled(Exception):
    """Raised between steps when the caller's ``should_stop`` says so."""


class TimeLimitExceeded(Exception):
    """Raised between steps once the run has used up its ``time_limit_seconds``."""


@dataclass
class FinetuneConfig:
    task: str
    labels: list[str]
    base_model: str | None = None  # a local model folder; None means the bundled MiniLM-L6
    max_length: int = 128
    batch_size: int = 32
    eval_batch_size: int = 128
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    epochs: int = 3
    warmup_ratio: float = 0.1
    patience: int = 2  # epochs without dev improvement before stopping
    seed: int = 13
    device: str = "auto"
    precision: str = "auto"  # "auto": bf16 on a CUDA GPU that supports it, else fp32
    max_grad_norm: float = 1.0
    group_by_length: bool = True
    time_limit_seconds: float | None = None


@dataclass
class Progress:
    step: int
    total_steps: int
    epoch: int
    epochs: int
    loss: float
    dev_metric: float | None
    eta_seconds: float
    samples_per_second: float


@dataclass
class FinetuneResult:
    model: torch.nn.Module
    tokenizer: object
    config: FinetuneConfig
    metric_name: str
    best_dev_metric: float
    best_epoch: int
    threshold: float | None
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0  # wall time of the whole run, dev evaluations included
    samples_per_second: float = 0.0  # training samples over time spent in training steps only
    device: str = "cpu"
    precision: str = "fp32"

    def save(self, directory: str | Path) -> Path:
        """Write model, tokenizer and the metadata ``predict`` needs into ``directory``."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        meta = {
            "task": self.config.task,
            "labels": self.config.labels,
            "threshold": self.threshold,
            "max_length": self.config.max_length,
            "metric_name": self.metric_name,
            "best_dev_metric": self.best_dev_metric,
        }
        (path / META_FILE).write_text(json.dumps(meta, indent=2))
        return path


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def _precision(config: FinetuneConfig, device: str) -> str:
    if config.precision != "auto":
        return config.precision
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


def _load_model(config: FinetuneConfig):
    path = Path(config.base_model) if config.base_model else default_model_path()
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"No Hugging Face model in {path}: config.json is missing.")
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if config.task == SPANS:
        names = bio_tag_names(config.labels)
        model_class, extra = AutoModelForTokenClassification, {}
    else:
        names = list(config.labels)
        model_class = AutoModelForSequenceClassification
        problem = "multi_label_classification" if config.task == MULTI_LABEL else "single_label_classification"
        extra = {"problem_type": problem}
    verbosity = hf_logging.get_verbosity()
    bars_were_on = hf_logging.is_progress_bar_enabled()
    # A new classification head is expected; transformers' warning about it is noise here,
    # and so is a progress bar in a worker's log.
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model = model_class.from_pretrained(
            path,
            num_labels=len(names),
            id2label=dict(enumerate(names)),
            label2id={name: index for index, name in enumerate(names)},
            local_files_only=True,
            **extra,
        )
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars_were_on:
            hf_logging.enable_progress_bar()
    return model, tokenizer


def _optimizer(model: torch.nn.Module, config: FinetuneConfig, device: str) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        # Biases and normalisation weights are not decayed, as in BERT's recipe.
        (no_decay if parameter.ndim < 2 else decay).append(parameter)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.learning_rate, fused=device.startswith("cuda"))


def _loader(rows, batches, *, task: str, pad_token_id: int, device: str) -> DataLoader:
    return DataLoader(
        rows,
        batch_sampler=batches,
        collate_fn=partial(collate, task=task, pad_token_id=pad_token_id),
        pin_memory=device.startswith("cuda"),
    )


def _to_device(batch: dict, device: str) -> dict:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def _logits(model, rows, *, config: FinetuneConfig, pad_token_id: int, device: str, precision: str) -> list:
    """Model outputs for ``rows`` in order: one array per row (token logits for spans)."""
    model.eval()
    loader = _loader(
        rows, sequential_batches(len(rows), config.eval_batch_size), task=config.task, pad_token_id=pad_token_id, device=device
    )
    outputs: list = []
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
        for batch in loader:
            batch = _to_device(batch, device)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
            if config.task == SPANS:
                lengths = batch["attention_mask"].sum(dim=1).tolist()
                outputs.extend(row[:length].cpu().numpy() for row, length in zip(logits, lengths))
            else:
                outputs.extend(logits.cpu().numpy())
    model.train()
    return outputs


def _decode(outputs, rows, *, config: FinetuneConfig, threshold: float | None) -> list:
    labels = config.labels
    if config.task == SINGLE_LABEL:
        return [(labels[int(np.argmax(logits))],) for logits in outputs]
    if config.task == MULTI_LABEL:
        cut = 0.5 if threshold is None else threshold
        return [tuple(label for label, p in zip(labels, _sigmoid(logits)) if p >= cut) for logits in outputs]
    names = bio_tag_names(labels)
    return [tag_ids_to_spans(row.offsets, np.argmax(logits, axis=-1).tolist(), names) for logits, row in zip(outputs, rows)]


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def _dev_score(outputs, rows, examples: Sequence[TrainingExample], config: FinetuneConfig) -> tuple[dict, float | None]:
    """Metrics on dev; for multi-label also the threshold tuned on these outputs."""
    threshold = None
    if config.task == MULTI_LABEL:
        gold = np.array([row.target for row in rows])
        threshold, _ = evaluate.best_threshold(_sigmoid(np.stack(outputs)), gold)
    predicted = _decode(outputs, rows, config=config, threshold=threshold)
    if config.task == SINGLE_LABEL:
        metrics = evaluate.single_label_metrics([e.labels[0] for e in examples], [p[0] for p in predicted], config.labels)
    elif config.task == MULTI_LABEL:
        metrics = evaluate.multi_label_metrics([e.labels for e in examples], predicted, config.labels)
    else:
        metrics = evaluate.span_metrics([e.text for e in examples], [e.spans for e in examples], predicted, config.labels)
    return metrics, threshold


def finetune(
    config: FinetuneConfig,
    train: Sequence[TrainingExample],
    dev: Sequence[TrainingExample],
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_every: int = 10,
) -> FinetuneResult:
    """Train on ``train``, keep the weights of the epoch with the best dev metric."""
    if not train or not dev:
        raise ValueError(f"Need training and dev examples, got {len(train)} and {len(dev)}.")
    seed_everything(config.seed)
    device = device_resolve(config.device)
    precision = _precision(config, device)
    model, tokenizer = _load_model(config)
    model.to(device).train()
    pad_token_id = tokenizer.pad_token_id or 0

    train_rows = encode(tokenizer, train, task=config.task, labels=config.labels, max_length=config.max_length)
    dev_rows = encode(tokenizer, dev, task=config.task, labels=config.labels, max_length=config.max_length)
    if config.group_by_length:
        batches = LengthGroupedBatches([len(r.input_ids) for r in train_rows], batch_size=config.batch_size, seed=config.seed)
    else:
        batches = _ShuffledBatches(len(train_rows), config.batch_size, config.seed)
    loader = _loader(train_rows, batches, task=config.task, pad_token_id=pad_token_id, device=device)

    total_steps = len(batches) * config.epochs
    optimizer = _optimizer(model, config, device)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)

    best = {"metric": -1.0, "epoch": 0, "state": None, "threshold": None, "metrics": None}
    history: list[dict] = []
    step, samples, stale_epochs, running_loss, eval_seconds = 0, 0, 0, 0.0, 0.0
    started = time.perf_counter()
    last_dev = None
    for epoch in range(1, config.epochs + 1):
        for batch in loader:
            if should_stop is not None and should_stop():
                raise TrainingCancelled(f"Cancelled at step {step} of {total_steps}.")
            if config.time_limit_seconds is not None and time.perf_counter() - started > config.time_limit_seconds:
                raise TimeLimitExceeded(f"Time limit of {config.time_limit_seconds:.0f} s reached at step {step}.")
            batch = _to_device(batch, device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            samples += batch["input_ids"].shape[0]
            # An exponential average: readable in a progress bar, cheap to keep.
            running_loss = loss.item() if step == 1 else 0.9 * running_loss + 0.1 * loss.item()
            if on_progress is not None and (step % progress_every == 0 or step == total_steps):
                on_progress(_progress(step, total_steps, epoch, config.epochs, running_loss, last_dev, started, samples))

        eval_started = time.perf_counter()
        outputs = _logits(model, dev_rows, config=config, pad_token_id=pad_token_id, device=device, precision=precision)
        metrics, threshold = _dev_score(outputs, dev_rows, dev, config)
        eval_seconds += time.perf_counter() - eval_started
        last_dev = metrics["value"]
        history.append({"epoch": epoch, "step": step, "loss": running_loss, "dev_" + metrics["metric"]: last_dev})
        if on_progress is not None:
            on_progress(_progress(step, total_steps, epoch, config.epochs, running_loss, last_dev, started, samples))
        if last_dev > best["metric"]:
            best = {
                "metric": last_dev,
                "epoch": epoch,
                "state": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
                "threshold": threshold,
                "metrics": metrics,
            }
            stale_epochs = 0
        else:
            stale_epochs += 1
            if stale_epochs >= config.patience:
                break

    train_seconds = time.perf_counter() - started
    model.load_state_dict(best["state"])
    model.eval()
    return FinetuneResult(
        model=model,
        tokenizer=tokenizer,
        config=copy.deepcopy(config),
        metric_name=best["metrics"]["metric"],
        best_dev_metric=best["metric"],
        best_epoch=best["epoch"],
        threshold=best["threshold"],
        history=history,
        train_seconds=train_seconds,
        samples_per_second=samples / (train_seconds - eval_seconds) if train_seconds > eval_seconds else 0.0,
        device=device,
        precision=precision,
    )


def _progress(step, total, epoch, epochs, loss, dev, started, samples) -> Progress:
    elapsed = time.perf_counter() - started
    eta = elapsed / step * (total - step) if step else 0.0
    return Progress(step, total, epoch, epochs, float(loss), dev, eta, samples / elapsed if elapsed else 0.0)


class _ShuffledBatches:
    """Plain shuffled batches, for comparison with length grouping."""

    def __init__(self, count: int, batch_size: int, seed: int):
        self.count, self.batch_size, self.seed, self.epoch = count, batch_size, seed, 0

    def __len__(self) -> int:
        return -(-self.count // self.batch_size)

    def __iter__(self):
        order = list(range(self.count))
        random.Random(self.seed + self.epoch).shuffle(order)
        self.epoch += 1
        return iter([order[i : i + self.batch_size] for i in range(0, self.count, self.batch_size)])


def evaluate_examples(result: FinetuneResult, examples: Sequence[TrainingExample]) -> dict:
    """Scores of a trained model on held-out examples (e.g. the test split)."""
    config = result.config
    rows = encode(result.tokenizer, examples, task=config.task, labels=config.labels, max_length=config.max_length)
    outputs = _logits(
        result.model, rows, config=config, pad_token_id=result.tokenizer.pad_token_id or 0, device=result.device, precision=result.precision
    )
    predicted = _decode(outputs, rows, config=config, threshold=result.threshold)
    if config.task == SINGLE_LABEL:
        return evaluate.single_label_metrics([e.labels[0] for e in examples], [p[0] for p in predicted], config.labels)
    if config.task == MULTI_LABEL:
        return evaluate.multi_label_metrics([e.labels for e in examples], predicted, config.labels)
    return evaluate.span_metrics([e.text for e in examples], [e.spans for e in examples], predicted, config.labels)


def config_dict(config: FinetuneConfig) -> dict:
    return asdict(config)
