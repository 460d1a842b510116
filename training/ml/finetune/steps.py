"""One training run, step by step: model, class-weighted loss, evaluation points, progress and cancellation."""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
import torch.nn.functional as F
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
    Encoded,
    LengthGroupedBatches,
    TrainingExample,
    collate,
    sequential_batches,
)
from training.ml.encoder import default_model_path, device_resolve
from training.ml.finetune.config import (
    WEIGHT_CAP,
    WEIGHTINGS,
    FinetuneConfig,
    Progress,
    Schedule,
    TimeLimitExceeded,
    TrainingCancelled,
)
from training.ml.spans import IGNORE_INDEX, bio_tag_names, tag_ids_to_spans


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
        metrics = evaluate.single_label_metrics(
            [e.labels[0] for e in examples], [p[0] for p in predicted], config.labels, resamples=0
        )
    elif config.task == MULTI_LABEL:
        metrics = evaluate.multi_label_metrics([e.labels for e in examples], predicted, config.labels, resamples=0)
    else:
        metrics = evaluate.span_metrics(
            [e.text for e in examples], [e.spans for e in examples], predicted, config.labels, resamples=0
        )
    return metrics, threshold


# --- class balancing ------------------------------------------------------------------------------


def class_weights(
    task: str, labels: Sequence[str], rows: Sequence[Encoded], *, weighting: str = "balanced"
) -> dict[str, float] | None:
    """Loss weights from the encoded training rows, by label (by BIO tag for spans); None for "none".

    Single-label: scikit-learn's balanced weights n / (k x count) over the k classes present,
    capped at WEIGHT_CAP. Multi-label: BCE ``pos_weight`` = negatives / positives per label,
    kept within [1 / WEIGHT_CAP, WEIGHT_CAP]. Spans: balanced over the tags present among the
    scored tokens, O never above 1, capped at WEIGHT_CAP. A class absent from train weighs 1.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"Unknown class_weighting {weighting!r}; expected one of {', '.join(WEIGHTINGS)}.")
    if weighting == "none" or not rows:
        return None
    if task == SINGLE_LABEL:
        return dict(zip(labels, _balanced(np.bincount([row.target for row in rows], minlength=len(labels)))))
    if task == MULTI_LABEL:
        positives = np.array([row.target for row in rows], dtype=float).reshape(len(rows), len(labels)).sum(axis=0)
        ratio = (len(rows) - positives) / np.maximum(positives, 1)
        weights = np.where(positives > 0, np.clip(ratio, 1 / WEIGHT_CAP, WEIGHT_CAP), 1.0)
        return {label: float(weight) for label, weight in zip(labels, weights)}
    names = bio_tag_names(labels)
    tags = [tag for row in rows for tag in row.target if tag != IGNORE_INDEX]
    weights = _balanced(np.bincount(np.array(tags, dtype=int), minlength=len(names)))
    weights[0] = min(weights[0], 1.0)  # O is the majority by nature; never weigh it up
    return dict(zip(names, weights))


def _balanced(counts: np.ndarray) -> list[float]:
    present = counts > 0
    weights = np.ones(len(counts))
    if present.any():
        weights[present] = np.minimum(counts.sum() / (present.sum() * counts[present]), WEIGHT_CAP)
    return [float(weight) for weight in weights]


def _loss(logits: torch.Tensor, targets: torch.Tensor, task: str, weight: torch.Tensor | None) -> torch.Tensor:
    logits = logits.float()
    if task == SINGLE_LABEL:
        return F.cross_entropy(logits, targets, weight=weight)
    if task == MULTI_LABEL:
        return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=weight)
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), weight=weight, ignore_index=IGNORE_INDEX
    )


# --- one training run -----------------------------------------------------------------------------


@dataclass
class _Clock:
    """Steps, time and callbacks shared by every run of one call (the folds and the final model)."""

    total_steps: int
    time_limit: float | None
    on_progress: Callable[[Progress], None] | None
    should_stop: Callable[[], bool] | None
    progress_every: int
    started: float = field(default_factory=time.perf_counter)
    step: int = 0
    samples: int = 0
    eval_seconds: float = 0.0
    last_dev: float | None = None
    # Which run the steps belong to when one call trains several (cross-validation's folds).
    run: str = ""

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise TrainingCancelled(f"Cancelled at step {self.step} of {self.total_steps}.")
        if self.time_limit is not None and time.perf_counter() - self.started > self.time_limit:
            raise TimeLimitExceeded(f"Time limit of {self.time_limit:.0f} s reached at step {self.step}.")

    def report(self, epoch: int, epochs: int, loss: float, *, evaluated: bool = False) -> None:
        if self.on_progress is None:
            return
        if evaluated or self.step % self.progress_every == 0 or self.step == self.total_steps:
            elapsed = time.perf_counter() - self.started
            eta = elapsed / self.step * (self.total_steps - self.step) if self.step else 0.0
            rate = self.samples / elapsed if elapsed else 0.0
            self.on_progress(
                Progress(self.step, self.total_steps, epoch, epochs, float(loss), self.last_dev, eta, rate, self.run)
            )

    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def samples_per_second(self) -> float:
        training = self.seconds() - self.eval_seconds
        return self.samples / training if training > 0 else 0.0


@dataclass
class _Setup:
    config: FinetuneConfig
    tokenizer: object
    device: str
    precision: str

    @property
    def pad_token_id(self) -> int:
        return self.tokenizer.pad_token_id or 0

    def logits(self, model, rows) -> list:
        return _logits(
            model, rows, config=self.config, pad_token_id=self.pad_token_id, device=self.device, precision=self.precision
        )


def _setup(config: FinetuneConfig) -> _Setup:
    device = device_resolve(config.device)
    path = Path(config.base_model) if config.base_model else default_model_path()
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"No Hugging Face model in {path}: config.json is missing.")
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return _Setup(config, tokenizer, device, _precision(config, device))


def _train_run(
    setup: _Setup,
    plan: Schedule,
    rows: Sequence[Encoded],
    clock: _Clock,
    *,
    stop_at: int,
    on_eval: Callable[[torch.nn.Module, int, int, float], bool] | None = None,
) -> tuple[torch.nn.Module, int, dict | None]:
    """Train a fresh model on ``rows`` along ``plan`` up to step ``stop_at``.

    ``on_eval(model, step, epoch, loss)`` runs at the plan's evaluation steps and returns True
    to stop early. Returns the model as it is at the end, the last epoch and the class weights.
    """
    config, device = setup.config, setup.device
    seed_everything(config.seed)
    model, _ = _load_model(config)
    model.to(device).train()
    weights = class_weights(config.task, config.labels, rows, weighting=config.class_weighting)
    weight = None if weights is None else torch.tensor(list(weights.values()), dtype=torch.float, device=device)
    if config.group_by_length:
        batches = LengthGroupedBatches([len(r.input_ids) for r in rows], batch_size=plan.batch_size, seed=config.seed)
    else:
        batches = _ShuffledBatches(len(rows), plan.batch_size, config.seed)
    loader = _loader(rows, batches, task=config.task, pad_token_id=setup.pad_token_id, device=device)
    optimizer = _optimizer(model, config, device)
    scheduler = get_linear_schedule_with_warmup(optimizer, plan.warmup_steps, plan.total_steps)
    eval_steps = set(plan.eval_steps)
    step, epoch, running_loss = 0, 0, 0.0
    while step < stop_at:
        epoch += 1
        for batch in loader:
            clock.check()
            batch = _to_device(batch, device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=setup.precision == "bf16"):
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            loss = _loss(logits, batch["labels"], config.task, weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            clock.step += 1
            clock.samples += batch["input_ids"].shape[0]
            # An exponential average: readable in a progress bar, cheap to keep.
            running_loss = loss.item() if step == 1 else 0.9 * running_loss + 0.1 * loss.item()
            clock.report(epoch, plan.epochs, running_loss)
            if on_eval is not None and step in eval_steps:
                started = time.perf_counter()
                stop = on_eval(model, step, epoch, running_loss)
                clock.eval_seconds += time.perf_counter() - started
                # Once more with the same step and the dev score: the service logs this as an evaluation.
                clock.report(epoch, plan.epochs, running_loss, evaluated=True)
                if stop:
                    return model, epoch, weights
            if step >= stop_at:
                break
    return model, epoch, weights



class _ShuffledBatches:
    """Plain shuffled batches, for comparison with length grouping."""

    def __init__(self, count: int, batch_size: int, seed: int):
        self.count, self.batch_size, self.seed, self.epoch = count, batch_size, seed, 0

    def __len__(self) -> int:
        return math.ceil(self.count / self.batch_size)

    def __iter__(self):
        order = list(range(self.count))
        random.Random(self.seed + self.epoch).shuffle(order)
        self.epoch += 1
        return iter([order[i : i + self.batch_size] for i in range(0, self.count, self.batch_size)])
