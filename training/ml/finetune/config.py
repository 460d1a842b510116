"""The fine-tuning configuration, its schedule in optimiser steps, and what a run returns."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

META_FILE = "training_meta.json"

# Below this many training examples the default batch is SMALL_BATCH: twice the updates per pass.
SMALL_TRAIN = 1_000
SMALL_BATCH, LARGE_BATCH = 16, 32
MIN_WARMUP_STEPS = 10
MIN_EVAL_EVERY = 10
# No class weight above this: a class seen twice must not drown the other 198 examples.
WEIGHT_CAP = 10.0
# Dev below these sizes cannot rank models: one item flips a class's F1 (see dev_too_small).
MIN_DEV_PER_CLASS = 5
MIN_DEV_ITEMS = 20
WEIGHTINGS = ("balanced", "none")


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
    batch_size: int | None = None  # None: SMALL_BATCH below SMALL_TRAIN training examples, else LARGE_BATCH
    eval_batch_size: int = 128
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    epochs: int = 3  # at least this many passes over train (min_steps may ask for more)
    # At least this many optimiser steps, whatever the data size. Measured on SST-2 at 200 labels
    # (13 % positive, MiniLM-L6, batch 16): 18 steps stayed on the majority-class plateau, 50 had
    # left it, and by 100 the training loss was near zero; longer runs did not score better.
    min_steps: int = 100
    max_steps: int | None = None  # a ceiling over both floors; None: none
    warmup_ratio: float = 0.1  # of the total steps, at least MIN_WARMUP_STEPS when above zero
    eval_every: int | None = None  # None: max(10, total // 10) steps or once per epoch, whichever is more often
    patience: int = 3  # dev evaluations without improvement before stopping; never before min_steps
    class_weighting: str = "balanced"  # "balanced" or "none" (see class_weights)
    seed: int = 13
    device: str = "auto"
    precision: str = "auto"  # "auto": bf16 on a CUDA GPU that supports it, else fp32
    max_grad_norm: float = 1.0
    group_by_length: bool = True
    time_limit_seconds: float | None = None


@dataclass(frozen=True)
class Schedule:
    """The optimiser steps of one run, resolved from the config and the size of train."""

    batch_size: int
    batches_per_epoch: int
    total_steps: int
    warmup_steps: int
    eval_every: int

    @property
    def epochs(self) -> int:
        return math.ceil(self.total_steps / self.batches_per_epoch)

    @property
    def eval_steps(self) -> list[int]:
        """Steps after which dev is scored: every ``eval_every`` steps and the last one."""
        steps = list(range(self.eval_every, self.total_steps + 1, self.eval_every))
        return steps if steps and steps[-1] == self.total_steps else [*steps, self.total_steps]


def schedule_for(config: FinetuneConfig, train_count: int) -> Schedule:
    """Total steps = max(min_steps, epochs x batches per epoch), capped by max_steps."""
    batch_size = config.batch_size or (SMALL_BATCH if train_count < SMALL_TRAIN else LARGE_BATCH)
    per_epoch = max(1, math.ceil(train_count / batch_size))
    total = max(config.min_steps, config.epochs * per_epoch)
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    total = max(1, total)
    warmup = 0
    if config.warmup_ratio > 0:
        # At least MIN_WARMUP_STEPS, but never the whole run: the decay needs steps too.
        warmup = min(max(MIN_WARMUP_STEPS, round(config.warmup_ratio * total)), total // 2)
    every = config.eval_every or min(max(MIN_EVAL_EVERY, total // 10), per_epoch)
    return Schedule(batch_size, per_epoch, total, warmup, max(1, min(every, total)))


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
    # Empty for a single run; "fold 2/3" or "final model" under cross-validation (steps count on
    # across the runs, epochs restart in each).
    run: str = ""


@dataclass
class FinetuneResult:
    model: torch.nn.Module
    tokenizer: object
    config: FinetuneConfig
    metric_name: str
    best_dev_metric: float  # in cross-validation: the best mean out-of-fold value
    best_epoch: int
    threshold: float | None
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0  # wall time of the whole run, dev evaluations (and folds) included
    samples_per_second: float = 0.0  # training samples over time spent in training steps only
    device: str = "cpu"
    precision: str = "fp32"
    best_step: int = 0
    batch_size: int = 0
    total_steps: int = 0  # the schedule's steps (of one fold's run in cross-validation)
    learning_rate: float = 0.0
    warmup_steps: int = 0
    class_weights: dict[str, float] | None = None  # label (spans: tag) -> weight; None when off
    mode: str = "dev"  # "dev" or "cross_validation"
    cross_validation: dict | None = None  # see finetune_cross_validated

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
            "mode": self.mode,
            "best_step": self.best_step,
        }
        (path / META_FILE).write_text(json.dumps(meta, indent=2))
        return path



def config_dict(config: FinetuneConfig) -> dict:
    return asdict(config)
