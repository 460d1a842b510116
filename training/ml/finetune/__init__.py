"""Fine-tuning of a local Hugging Face encoder, sized to the data: steps with a floor, balanced losses, honest model selection.

``config`` holds the settings and the schedule in optimiser steps; ``steps`` one training run
(class-weighted loss from the logits, evaluation every ``eval_every`` steps, progress and
cancellation); ``folds`` says when dev is too small and makes stratified folds; ``selection``
chooses the weights by dev (``finetune``) or by k-fold cross-validation (``finetune_cross_validated``).
Free of Django: the worker's service calls it with plain examples and callbacks.
"""

import os

# Set before transformers is imported: a worker must never reach for the Hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from training.ml.finetune.config import (
    LARGE_BATCH,
    META_FILE,
    MIN_DEV_ITEMS,
    MIN_DEV_PER_CLASS,
    MIN_EVAL_EVERY,
    MIN_WARMUP_STEPS,
    SMALL_BATCH,
    SMALL_TRAIN,
    WEIGHT_CAP,
    WEIGHTINGS,
    FinetuneConfig,
    FinetuneResult,
    Progress,
    Schedule,
    TimeLimitExceeded,
    TrainingCancelled,
    config_dict,
    schedule_for,
)
from training.ml.finetune.folds import cv_folds, dev_too_small
from training.ml.finetune.selection import (
    evaluate_examples,
    finetune,
    finetune_cross_validated,
    predict_examples,
)
from training.ml.finetune.steps import class_weights, seed_everything

__all__ = [
    "LARGE_BATCH",
    "META_FILE",
    "MIN_DEV_ITEMS",
    "MIN_DEV_PER_CLASS",
    "MIN_EVAL_EVERY",
    "MIN_WARMUP_STEPS",
    "SMALL_BATCH",
    "SMALL_TRAIN",
    "WEIGHTINGS",
    "WEIGHT_CAP",
    "FinetuneConfig",
    "FinetuneResult",
    "Progress",
    "Schedule",
    "TimeLimitExceeded",
    "TrainingCancelled",
    "class_weights",
    "config_dict",
    "cv_folds",
    "dev_too_small",
    "evaluate_examples",
    "finetune",
    "finetune_cross_validated",
    "predict_examples",
    "schedule_for",
    "seed_everything",
]
