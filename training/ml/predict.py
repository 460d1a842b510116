"""Predict labels or entity spans with a model saved by ``FinetuneResult.save``, batched; free of Django.

Scores: single-label, the softmax probability of the chosen label; multi-label, the lowest
probability among the chosen labels (or, when none passes the threshold, one minus the highest);
spans, the mean over the text's tokens of the probability of their predicted tag, so a text
with no entity found still says how sure the model is that there is none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
)

from training.ml.batching import MULTI_LABEL, SINGLE_LABEL, SPANS, TASKS
from training.ml.encoder import device_resolve
from training.ml.finetune import META_FILE
from training.ml.spans import Span, bio_tag_names, tag_ids_to_spans

DEFAULT_BATCH_SIZE = 64


@dataclass(frozen=True)
class ModelPrediction:
    labels: tuple[str, ...] = ()
    spans: tuple[Span, ...] = field(default_factory=tuple)
    score: float = 0.0
    # What active learning ranks by: {label: probability}, or for spans the normalised entropy
    # of the tokens' tag distributions, {"token_entropy_mean": ..., "token_entropy_max": ...}.
    label_scores: dict[str, float] | None = None


class Predictor:
    """A saved fine-tuned model on one device; ``predict`` keeps the order of the texts given."""

    def __init__(self, path: str | Path, *, device: str = "auto"):
        self.path = Path(path)
        meta_file = self.path / META_FILE
        if not meta_file.exists():
            raise FileNotFoundError(f"{self.path} holds no fine-tuned model: {META_FILE} is missing.")
        meta = json.loads(meta_file.read_text())
        self.task: str = meta["task"]
        if self.task not in TASKS:
            raise ValueError(f"{meta_file}: unknown task {self.task!r}; expected one of {', '.join(TASKS)}.")
        self.labels: list[str] = list(meta["labels"])
        self.threshold: float = 0.5 if meta.get("threshold") is None else float(meta["threshold"])
        self.max_length: int = int(meta.get("max_length") or 128)
        self.device = device_resolve(device)
        model_class = AutoModelForTokenClassification if self.task == SPANS else AutoModelForSequenceClassification
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        self.model = model_class.from_pretrained(self.path, local_files_only=True).to(self.device).eval()
        self._bf16 = self.device.startswith("cuda") and torch.cuda.is_bf16_supported()
        self._tag_names = bio_tag_names(self.labels)

    def predict(self, texts: Sequence[str], *, batch_size: int = DEFAULT_BATCH_SIZE) -> list[ModelPrediction]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        results: list[ModelPrediction | None] = [None] * len(texts)
        # Similar lengths share a batch, so little padding; each result goes back to its own slot.
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            for index, prediction in zip(indices, self._batch([texts[index] for index in indices])):
                results[index] = prediction
        return results  # type: ignore[return-value]

    def _batch(self, texts: list[str]) -> list[ModelPrediction]:
        encoding = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_offsets_mapping=self.task == SPANS,
            return_tensors="pt",
        )
        offsets = encoding.pop("offset_mapping", None)
        inputs = {key: value.to(self.device, non_blocking=True) for key, value in encoding.items()}
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=self._bf16):
            logits = self.model(**inputs).logits.float()
        if self.task == SINGLE_LABEL:
            probabilities = torch.softmax(logits, dim=-1).cpu().numpy()
            best = probabilities.argmax(axis=1)
            return [
                ModelPrediction(labels=(self.labels[i],), score=float(row[i]), label_scores=self._scores(row))
                for i, row in zip(best, probabilities)
            ]
        if self.task == MULTI_LABEL:
            return [self._multi(row) for row in torch.sigmoid(logits).cpu().numpy()]
        return self._spans(
            torch.softmax(logits, dim=-1).cpu().numpy(), offsets.tolist(), encoding["attention_mask"].tolist()
        )

    def _scores(self, row: np.ndarray) -> dict[str, float]:
        return {label: round(float(value), 6) for label, value in zip(self.labels, row)}

    def _multi(self, row: np.ndarray) -> ModelPrediction:
        chosen = [index for index in np.argsort(-row) if row[index] >= self.threshold]
        if not chosen:
            return ModelPrediction(labels=(), score=float(1.0 - row.max()), label_scores=self._scores(row))
        return ModelPrediction(
            labels=tuple(self.labels[i] for i in chosen), score=float(row[chosen].min()), label_scores=self._scores(row)
        )

    def _spans(self, probabilities: np.ndarray, offsets: list, masks: list) -> list[ModelPrediction]:
        predictions = []
        for row, row_offsets, mask in zip(probabilities, offsets, masks):
            length = sum(mask)
            pairs = [tuple(pair) for pair in row_offsets[:length]]
            tag_ids = row[:length].argmax(axis=-1)
            real = [index for index, (start, end) in enumerate(pairs) if start != end]
            score = float(np.mean([row[index, tag_ids[index]] for index in real])) if real else 1.0
            spans = tag_ids_to_spans(pairs, tag_ids.tolist(), self._tag_names)
            predictions.append(ModelPrediction(spans=tuple(spans), score=score, label_scores=_token_entropy(row[real])))
        return predictions


def _token_entropy(token_proba: np.ndarray) -> dict[str, float]:
    """Mean and max over tokens of the tag distribution's entropy, scaled to [0, 1]."""
    from training.ml.active.strategies import token_uncertainty

    scores = {}
    for aggregate in ("mean", "max"):
        value = token_uncertainty([token_proba], strategy="entropy", aggregate=aggregate)[0]
        scores[f"token_entropy_{aggregate}"] = round(float(value), 6)
    return scores


def predictor_load(path: str | Path, *, device: str = "auto") -> Predictor:
    return Predictor(path, device=device)
