"""A training run that tells the truth: fine-tune, evaluate on held-out items, compare with the cheap path.

``train_and_compare`` is what a training job (and ``bench/finetune_small_budget.py``) runs:

1. **Model selection.** With a dev split that has enough items of every class, fine-tuning keeps
   the step with the best dev primary metric. Below that (``finetune.dev_too_small``), or with a
   test split too small to say anything, train and dev are pooled and k-fold cross-validation on
   the pool chooses the number of steps; the final model is trained on the whole pool.
2. **Held-out items.** What the candidate and the baselines are measured on, each with items no
   model being compared was trained on: the test split when it is large enough; otherwise the
   out-of-fold predictions of cross-validation on train + dev, plus the final model on the test
   split (the baselines are cross-validated on the same folds).
3. **Baselines.** The logistic head on sentence embeddings (what pre-annotation uses before a
   model is active) and, given label descriptions, zero-shot similarity: classification only.
4. **Comparison and choice.** A paired bootstrap of the primary metric's difference on the same
   held-out items, and which of the fine-tuned model and the head the product should use:
   the better-scoring one, the head on a tie (it is cheaper), never a degenerate model.

Free of Django: the caller passes examples, an ``embed`` function for the head and callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from training.ml import evaluate
from training.ml.evaluate import MULTI_LABEL, SINGLE_LABEL, SPANS
from training.ml.spans import Span

if TYPE_CHECKING:  # batching imports torch; the web process reads stored predictions through this module
    from training.ml.batching import TrainingExample

DEV = "dev"
CROSS_VALIDATION = "cross_validation"
FOLDS = 3
FINE_TUNED = "fine_tuned"
HEAD = "head"
ZERO_SHOT = "zero_shot"
NONE = "none"


@dataclass
class Outcome:
    """Everything a training job records: the model, its reports, its baselines and the choice."""

    result: object  # finetune.FinetuneResult
    task: str
    labels: list[str]
    mode: str  # DEV or CROSS_VALIDATION
    mode_reason: str
    reports: dict  # "dev" / "cross_validation" / "test" / "heldout": evaluate reports (or None)
    heldout_basis: str
    baselines: dict = field(default_factory=dict)  # name -> {"report", "comparison"}
    choice: dict = field(default_factory=dict)  # {"use", "reason"}
    test_predictions: list = field(default_factory=list)  # the candidate's predictions on test, in order

    @property
    def degenerate(self) -> bool:
        return bool(self.reports["heldout"].get("degenerate"))

    def metrics(self) -> dict:
        """The JSON a model version keeps (``ModelVersion.metrics``)."""
        result = self.result
        heldout = self.reports["heldout"]
        selection = {"mode": self.mode, "reason": self.mode_reason}
        if self.mode == CROSS_VALIDATION and result.cross_validation:
            cv = result.cross_validation
            selection.update(folds=cv.get("folds"), chosen_step=cv.get("chosen_step"), curve=cv.get("curve", []))
        return {
            "metric": heldout.get("metric"),
            "best_epoch": result.best_epoch,
            "best_step": getattr(result, "best_step", None),
            "threshold": result.threshold,
            "history": result.history,
            "precision": result.precision,
            "samples_per_second": result.samples_per_second,
            "schedule": {
                "batch_size": getattr(result, "batch_size", None),
                "total_steps": getattr(result, "total_steps", None),
                "learning_rate": getattr(result, "learning_rate", None),
                "warmup_steps": getattr(result, "warmup_steps", None),
                "class_weights": getattr(result, "class_weights", None),
            },
            "selection": selection,
            "dev": self.reports.get("dev"),
            "cross_validation": self.reports.get("cross_validation"),
            "test": self.reports.get("test"),
            "heldout": {"basis": self.heldout_basis, "report": heldout},
            "baselines": self.baselines,
            "choice": self.choice,
            "degenerate": self.degenerate,
            "degenerate_reason": heldout.get("degenerate_reason", ""),
        }


# --- shapes ---------------------------------------------------------------------------------------


def gold_of(task: str, examples: Sequence[TrainingExample]) -> list:
    """Gold answers in the shape ``evaluate.report`` takes for ``task``."""
    if task == SINGLE_LABEL:
        return [example.labels[0] for example in examples]
    if task == MULTI_LABEL:
        return [tuple(example.labels) for example in examples]
    return [tuple(example.spans) for example in examples]


def predicted_as(task: str, predictions: Sequence) -> list:
    """``finetune.predict_examples`` output in the shape ``evaluate.report`` takes."""
    if task == SINGLE_LABEL:
        return [prediction[0] if prediction else "" for prediction in predictions]
    if task == MULTI_LABEL:
        return [tuple(prediction) for prediction in predictions]
    return [tuple(span if isinstance(span, Span) else Span(*span) for span in prediction) for prediction in predictions]


def jsonable(task: str, values: Sequence) -> list:
    """Gold or predictions as JSON: a label, a list of labels, or a list of [start, end, label]."""
    if task == SINGLE_LABEL:
        return list(values)
    if task == MULTI_LABEL:
        return [list(value) for value in values]
    return [[[span.start, span.end, span.label] for span in value] for value in values]


def from_jsonable(task: str, values: Sequence) -> list:
    if task == SINGLE_LABEL:
        return list(values)
    if task == MULTI_LABEL:
        return [tuple(value) for value in values]
    return [tuple(Span(int(start), int(end), str(label)) for start, end, label in value) for value in values]


def _report(task, gold, predicted, labels, examples) -> dict:
    texts = [example.text for example in examples] if task == SPANS else None
    return evaluate.report(task, gold, predicted, labels, texts=texts)


def _compare(task, gold, a, b, labels, examples) -> dict:
    texts = [example.text for example in examples] if task == SPANS else None
    return evaluate.paired_comparison(gold, a, b, labels, task=task, texts=texts)


# --- baselines ------------------------------------------------------------------------------------


def _head_predict(task, labels, train_vectors, train, predict_vectors, seed) -> list | None:
    from training.ml.active.head import head_fit

    model = head_fit(
        train_vectors, [tuple(example.labels) for example in train], labels=labels, multi_label=task == MULTI_LABEL, seed=seed
    )
    if model is None:
        return None
    predicted = model.predict(predict_vectors)
    return [guess[0] for guess in predicted] if task == SINGLE_LABEL else [tuple(guess) for guess in predicted]


def _zero_shot_predict(task, label_vectors: np.ndarray, labels, vectors: np.ndarray) -> list:
    """The label whose description embedding is closest (one label, multi-label projects too, as pre-annotation does)."""
    best = (vectors @ label_vectors.T).argmax(axis=1)
    return [labels[int(index)] if task == SINGLE_LABEL else (labels[int(index)],) for index in best]


# --- the run --------------------------------------------------------------------------------------


def test_too_small(test: Sequence[TrainingExample], train: Sequence[TrainingExample], task: str, labels) -> str:
    """Why the test split cannot tell models apart ("" when it can), by the same rule as the reports."""
    if not test:
        return "there is no test split"
    counts = _class_counts(test, task)
    present = [label for label in labels if _class_counts(train, task).get(label)]
    short = [label for label in present if counts.get(label, 0) < evaluate.MIN_PER_CLASS]
    if len(test) < evaluate.MIN_ITEMS or short:
        detail = f", {', '.join(f'{counts.get(label, 0)} of {label!r}' for label in short)}" if short else ""
        return (
            f"the test split has {len(test)} items{detail}: too few to tell models apart "
            f"(needs {evaluate.MIN_ITEMS} items and {evaluate.MIN_PER_CLASS} per class)"
        )
    return ""


def _class_counts(examples: Sequence[TrainingExample], task: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for example in examples:
        names = [span.label for span in example.spans] if task == SPANS else list(example.labels)
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return counts


def train_and_compare(
    config,
    train: Sequence[TrainingExample],
    dev: Sequence[TrainingExample],
    test: Sequence[TrainingExample],
    *,
    embed: Callable[[Sequence[TrainingExample]], np.ndarray] | None = None,
    label_descriptions: dict[str, str] | None = None,
    embed_texts: Callable[[list[str]], np.ndarray] | None = None,
    on_progress=None,
    should_stop=None,
    on_phase: Callable[[str], None] | None = None,
) -> Outcome:
    """Fine-tune as the data allows, then measure the model and the baselines on the same held-out items.

    ``embed`` gives sentence embeddings of examples (for the head); ``embed_texts`` with
    ``label_descriptions`` enables the zero-shot baseline. ``on_phase`` hears a line per phase.
    """
    from training.ml.finetune import (
        cv_folds,
        dev_too_small,
        finetune,
        finetune_cross_validated,
        predict_examples,
    )

    task, labels = config.task, list(config.labels)
    say = on_phase or (lambda text: None)
    train, dev, test = list(train), list(dev), list(test)
    reason = "; ".join(filter(None, (dev_too_small(dev, task, labels, train=train), test_too_small(test, train, task, labels))))
    reports: dict = {"dev": None, "cross_validation": None, "test": None}
    if reason:
        mode = CROSS_VALIDATION
        pool = train + dev
        folds = cv_folds(pool, task, FOLDS, config.seed)
        say(f"Model selection by {FOLDS}-fold cross-validation on {len(pool)} train + dev items: {reason}.")
        result = finetune_cross_validated(
            config, pool, folds=FOLDS, fold_of=folds, on_progress=on_progress, should_stop=should_stop
        )
        out_of_fold = predicted_as(task, result.cross_validation["out_of_fold"])
        reports["cross_validation"] = _report(task, gold_of(task, pool), out_of_fold, labels, pool)
    else:
        mode = DEV
        pool, folds, out_of_fold = train, None, []
        say(f"Model selection on the dev split ({len(dev)} items).")
        result = finetune(config, train, dev, on_progress=on_progress, should_stop=should_stop)
        reports["dev"] = _report(task, gold_of(task, dev), predicted_as(task, predict_examples(result, dev)), labels, dev)

    test_predicted = predicted_as(task, predict_examples(result, test)) if test else []
    if test:
        reports["test"] = _report(task, gold_of(task, test), test_predicted, labels, test)

    # The held-out set every comparison uses.
    if mode == DEV:
        heldout_examples, candidate = test or dev, test_predicted if test else predicted_as(task, predict_examples(result, dev))
        basis = "test split" if test else "dev split (no test split; dev also chose the training step)"
    else:
        heldout_examples, candidate = pool + test, out_of_fold + test_predicted
        basis = f"out-of-fold predictions of {FOLDS}-fold cross-validation on train + dev" + (
            ", and the final model on the test split" if test else ""
        )
    heldout_gold = gold_of(task, heldout_examples)
    reports["heldout"] = _report(task, heldout_gold, candidate, labels, heldout_examples)
    outcome = Outcome(
        result=result, task=task, labels=labels, mode=mode, mode_reason=reason, reports=reports,
        heldout_basis=basis, test_predictions=jsonable(task, test_predicted),
    )

    if task != SPANS and embed is not None:
        say("Measuring the embedding head on the same held-out items.")
        head = _head_heldout(task, labels, pool, test, dev if mode == DEV else [], folds, embed, config.seed)
        if head is not None:
            outcome.baselines[HEAD] = {
                "report": _report(task, heldout_gold, head, labels, heldout_examples),
                "comparison": _compare(task, heldout_gold, candidate, head, labels, heldout_examples),
            }
        if label_descriptions is not None and embed_texts is not None:
            from training.ml.preannotate import LabelSpec

            label_vectors = embed_texts([LabelSpec(name, label_descriptions.get(name) or "").prompt for name in labels])
            zero = _zero_shot_predict(task, label_vectors, labels, embed(heldout_examples))
            outcome.baselines[ZERO_SHOT] = {
                "report": _report(task, heldout_gold, zero, labels, heldout_examples),
                "comparison": _compare(task, heldout_gold, candidate, zero, labels, heldout_examples),
            }
    outcome.choice = choose(outcome.reports["heldout"], outcome.baselines.get(HEAD))
    return outcome


def _head_heldout(task, labels, pool, test, dev, folds, embed, seed) -> list | None:
    """The head's held-out predictions in the order ``train_and_compare`` measures the candidate."""
    if folds is None:  # dev mode: fitted on train, measured on test (or dev without a test split)
        target = test or dev
        return _head_predict(task, labels, embed(pool), pool, embed(target), seed)
    vectors = embed(pool)
    predicted: list = [None] * len(pool)
    for fold in sorted(set(folds)):
        inside = [i for i, f in enumerate(folds) if f != fold]
        outside = [i for i, f in enumerate(folds) if f == fold]
        fold_predicted = _head_predict(task, labels, vectors[inside], [pool[i] for i in inside], vectors[outside], seed)
        if fold_predicted is None:
            return None
        for index, value in zip(outside, fold_predicted):
            predicted[index] = value
    if test:
        tail = _head_predict(task, labels, vectors, pool, embed(test), seed)
        if tail is None:
            return None
        predicted += tail
    return predicted


def choose(candidate: dict, head: dict | None) -> dict:
    """Which of the fine-tuned model and the head the product should suggest with, and why."""
    metric = candidate.get("metric", "")
    if candidate.get("degenerate"):
        if head is None:
            return {"use": NONE, "reason": f"the fine-tuned model is degenerate ({candidate.get('degenerate_reason')})"}
        return {
            "use": HEAD,
            "reason": f"the fine-tuned model is degenerate ({candidate.get('degenerate_reason')}); "
            f"the embedding head scores {metric} {head['report']['value']:.3f}",
        }
    if head is None:
        return {"use": FINE_TUNED, "reason": "no embedding head to compare with for this task"}
    mine, theirs = candidate["value"], head["report"]["value"]
    if head["report"].get("degenerate") or mine > theirs:
        return {"use": FINE_TUNED, "reason": f"{metric} {mine:.3f} against the head's {theirs:.3f} on the same held-out items"}
    return {
        "use": HEAD,
        "reason": f"the embedding head scores {metric} {theirs:.3f} against the fine-tuned model's {mine:.3f} "
        "on the same held-out items (on a tie the cheaper head wins)",
    }
