"""Model selection: by the dev split, or by k-fold cross-validation when dev is too small; predictions."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from training.ml import evaluate
from training.ml.batching import (
    MULTI_LABEL,
    SINGLE_LABEL,
    SPANS,
    TrainingExample,
    encode,
)
from training.ml.finetune.config import (
    FinetuneConfig,
    FinetuneResult,
    Progress,
    Schedule,
    schedule_for,
)
from training.ml.finetune.folds import cv_folds
from training.ml.finetune.steps import (
    _Clock,
    _decode,
    _dev_score,
    _logits,
    _Setup,
    _setup,
    _sigmoid,
    _train_run,
)


def finetune(
    config: FinetuneConfig,
    train: Sequence[TrainingExample],
    dev: Sequence[TrainingExample],
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_every: int = 10,
) -> FinetuneResult:
    """Train on ``train``; keep the weights of the evaluation point with the best dev metric."""
    if not train or not dev:
        raise ValueError(f"Need training and dev examples, got {len(train)} and {len(dev)}.")
    setup = _setup(config)
    train_rows = encode(setup.tokenizer, train, task=config.task, labels=config.labels, max_length=config.max_length)
    dev_rows = encode(setup.tokenizer, dev, task=config.task, labels=config.labels, max_length=config.max_length)
    plan = schedule_for(config, len(train_rows))
    clock = _Clock(plan.total_steps, config.time_limit_seconds, on_progress, should_stop, progress_every)
    best = {"metric": -1.0, "step": 0, "epoch": 0, "state": None, "threshold": None, "name": None}
    history: list[dict] = []
    stale = 0

    def on_eval(model, step, epoch, loss) -> bool:
        nonlocal best, stale
        metrics, threshold = _dev_score(setup.logits(model, dev_rows), dev_rows, dev, config)
        value = clock.last_dev = metrics["value"]
        history.append({"step": step, "epoch": epoch, "loss": loss, "metric": metrics["metric"], "dev_" + metrics["metric"]: value})
        if value > best["metric"]:  # ties keep the earlier, shorter-trained weights
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            best = {"metric": value, "step": step, "epoch": epoch, "state": state, "threshold": threshold, "name": metrics["metric"]}
            stale = 0
        else:
            stale += 1
        return stale >= config.patience and step >= config.min_steps

    model, _, weights = _train_run(setup, plan, train_rows, clock, stop_at=plan.total_steps, on_eval=on_eval)
    model.load_state_dict(best["state"])
    model.eval()
    return _result(
        setup, plan, clock, model, weights,
        metric_name=best["name"], best_dev_metric=best["metric"], best_step=best["step"], best_epoch=best["epoch"],
        threshold=best["threshold"], history=history,
    )  # fmt: skip


def _result(setup: _Setup, plan: Schedule, clock: _Clock, model, weights, **fields) -> FinetuneResult:
    return FinetuneResult(
        model=model,
        tokenizer=setup.tokenizer,
        config=copy.deepcopy(setup.config),
        train_seconds=clock.seconds(),
        samples_per_second=clock.samples_per_second(),
        device=setup.device,
        precision=setup.precision,
        batch_size=plan.batch_size,
        total_steps=plan.total_steps,
        learning_rate=setup.config.learning_rate,
        warmup_steps=plan.warmup_steps,
        class_weights=weights,
        **fields,
    )



def finetune_cross_validated(
    config: FinetuneConfig,
    pool: Sequence[TrainingExample],
    *,
    folds: int = 3,
    fold_of: Sequence[int] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_every: int = 10,
) -> FinetuneResult:
    """Choose the step count by k-fold cross-validation over ``pool``, then train on all of it.

    Every fold trains for the whole schedule (that of the smallest fold's training part) and is
    scored on its held-out part at the same steps. The step with the best mean out-of-fold primary
    metric is chosen (ties: the earlier), and a final model is trained on the whole pool along the
    same schedule, stopped at that step. ``result.cross_validation`` holds ``folds``,
    ``chosen_step``, ``curve`` ([{"step", "mean", "per_fold"}]) and ``out_of_fold``: each pool
    example's prediction at the chosen step by the fold that did not train on it, in pool order,
    in ``predict_examples``' shapes. ``fold_of`` gives the folds (e.g. a baseline's); by default
    ``cv_folds(pool, config.task, folds, config.seed)``.
    """
    fold_of = list(cv_folds(pool, config.task, folds, config.seed) if fold_of is None else fold_of)
    if len(fold_of) != len(pool) or set(fold_of) != set(range(folds)):
        raise ValueError(f"fold_of needs one fold in 0..{folds - 1} per pool example, each fold used.")
    setup = _setup(config)
    rows = encode(setup.tokenizer, pool, task=config.task, labels=config.labels, max_length=config.max_length)
    sizes = Counter(fold_of)
    plan = schedule_for(config, len(pool) - max(sizes.values()))
    clock = _Clock((folds + 1) * plan.total_steps, config.time_limit_seconds, on_progress, should_stop, progress_every)
    steps = plan.eval_steps
    scores = {step: [] for step in steps}  # step -> primary metric per fold
    losses = {step: [] for step in steps}
    epochs: dict[int, int] = {}
    held_outputs = {step: [None] * len(pool) for step in steps}  # decoded predictions, or probabilities
    metric_name = None

    for fold in range(folds):
        train_at = [i for i, f in enumerate(fold_of) if f != fold]
        held_at = [i for i, f in enumerate(fold_of) if f == fold]
        held_rows, held = [rows[i] for i in held_at], [pool[i] for i in held_at]
        clock.run = f"fold {fold + 1}/{folds}"

        def on_eval(model, step, epoch, loss, held_at=held_at, held_rows=held_rows, held=held) -> bool:
            nonlocal metric_name
            outputs = setup.logits(model, held_rows)
            metrics, threshold = _dev_score(outputs, held_rows, held, config)
            metric_name = metrics["metric"]
            scores[step].append(metrics["value"])
            losses[step].append(loss)
            epochs[step] = epoch
            clock.last_dev = metrics["value"]
            kept = _sigmoid(np.stack(outputs)) if config.task == MULTI_LABEL else _decode(outputs, held_rows, config=config, threshold=threshold)
            for index, output in zip(held_at, kept):
                held_outputs[step][index] = output
            return False

        _train_run(setup, plan, [rows[i] for i in train_at], clock, stop_at=plan.total_steps, on_eval=on_eval)

    curve = [{"step": step, "mean": float(np.mean(scores[step])), "per_fold": list(scores[step])} for step in steps]
    chosen = max(curve, key=lambda point: (point["mean"], -point["step"]))
    threshold, out_of_fold = None, held_outputs[chosen["step"]]
    if config.task == MULTI_LABEL:
        # One threshold for the final model, tuned on every pool example's out-of-fold probabilities.
        probabilities = np.stack(out_of_fold)
        threshold, _ = evaluate.best_threshold(probabilities, np.array([row.target for row in rows]))
        out_of_fold = [tuple(label for label, p in zip(config.labels, row) if p >= threshold) for row in probabilities]
    clock.total_steps = folds * plan.total_steps + chosen["step"]
    clock.run = "final model"
    model, _, weights = _train_run(setup, plan, rows, clock, stop_at=chosen["step"])
    model.eval()
    history = [
        {"step": step, "epoch": epochs[step], "loss": float(np.mean(losses[step])), "metric": metric_name, "dev_" + metric_name: point["mean"]}
        for step, point in zip(steps, curve)
    ]  # fmt: skip
    return _result(
        setup, plan, clock, model, weights,
        metric_name=metric_name, best_dev_metric=chosen["mean"], best_step=chosen["step"], best_epoch=epochs[chosen["step"]],
        threshold=threshold, history=history, mode="cross_validation",
        cross_validation={
            "folds": folds, "chosen_step": chosen["step"], "curve": curve,
            "out_of_fold": [_shaped(prediction, config.task) for prediction in out_of_fold],
        },
    )  # fmt: skip


# --- predictions and scores on held-out examples --------------------------------------------------


def _shaped(prediction, task: str):
    """A label tuple for classification, a list of (start, end, label) for spans."""
    if task == SPANS:
        return [(span.start, span.end, span.label) for span in prediction]
    return tuple(prediction)


def _predicted(result: FinetuneResult, examples: Sequence[TrainingExample]) -> list:
    config = result.config
    rows = encode(result.tokenizer, examples, task=config.task, labels=config.labels, max_length=config.max_length)
    outputs = _logits(
        result.model, rows, config=config, pad_token_id=result.tokenizer.pad_token_id or 0, device=result.device, precision=result.precision
    )
    return _decode(outputs, rows, config=config, threshold=result.threshold)


def predict_examples(result: FinetuneResult, examples: Sequence[TrainingExample]) -> list:
    """Decoded predictions for ``examples``: label tuples, or lists of (start, end, label) for spans."""
    return [_shaped(prediction, result.config.task) for prediction in _predicted(result, examples)]


def evaluate_examples(result: FinetuneResult, examples: Sequence[TrainingExample]) -> dict:
    """Scores of a trained model on held-out examples (e.g. the test split)."""
    config = result.config
    predicted = _predicted(result, examples)
    if config.task == SINGLE_LABEL:
        return evaluate.single_label_metrics([e.labels[0] for e in examples], [p[0] for p in predicted], config.labels)
    if config.task == MULTI_LABEL:
        return evaluate.multi_label_metrics([e.labels for e in examples], predicted, config.labels)
    return evaluate.span_metrics([e.text for e in examples], [e.spans for e in examples], predicted, config.labels)
