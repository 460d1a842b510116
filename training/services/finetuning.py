"""The worker's side of a training job: examples from a dataset version, fine-tuning with live progress, evaluation."""

import logging
import time

from django.conf import settings

from common.jobs.lifecycle import job_heartbeat, job_progress
from projects.models import TaskType
from training.models import DatasetVersion, Split, TrainingJob
from training.services.training import (
    JobLost,
    TrainingRefused,
    attempt_log,
    attempt_rows,
    staging_dir,
)

logger = logging.getLogger(__name__)

# Progress and heartbeats are written, and the cancel flag read, at most this often.
WRITE_INTERVAL_SECONDS = 1.0
_TASKS = {TaskType.SINGLE_LABEL: "single_label", TaskType.MULTI_LABEL: "multi_label", TaskType.SPANS: "spans"}


class _Reporter:
    """Finetune's callbacks: progress and heartbeats to the database, cancel flag from it, throttled."""

    def __init__(self, job: TrainingJob, attempt: int, metric_label: str):
        self.job, self.attempt, self.metric_label = job, attempt, metric_label
        self.last_write = 0.0
        self.last_check = 0.0
        self.last_step = None
        self.cancel = False

    def on_progress(self, progress) -> None:
        # finetune reports every step here (progress_every=1) and once more, with the same
        # step, after each epoch's dev evaluation: that repeat is the end of an epoch.
        epoch_end = progress.step == self.last_step and progress.dev_metric is not None
        self.last_step = progress.step
        now = time.monotonic()
        if not epoch_end and now - self.last_write < WRITE_INTERVAL_SECONDS and progress.step != progress.total_steps:
            return
        self.last_write = now
        state = {
            "step": progress.step,
            "total_steps": progress.total_steps,
            "epoch": progress.epoch,
            "epochs": progress.epochs,
            "loss": round(progress.loss, 5),
            "dev_metric": None if progress.dev_metric is None else round(progress.dev_metric, 5),
            "metric": self.metric_label,
            "eta_seconds": round(progress.eta_seconds, 1),
            "samples_per_second": round(progress.samples_per_second, 1),
        }
        if epoch_end:
            attempt_log(
                self.job,
                self.attempt,
                f"Epoch {progress.epoch}/{progress.epochs}: step {progress.step}/{progress.total_steps}, "
                f"loss {progress.loss:.4f}, dev {self.metric_label} {progress.dev_metric:.4f}.",
                progress=state,
                progress_done=progress.step,
                progress_total=progress.total_steps,
            )
        elif not job_progress(
            self.job, done=progress.step, total=progress.total_steps, rows=attempt_rows(self.job, self.attempt), progress=state
        ):
            raise JobLost()

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self.last_check < WRITE_INTERVAL_SECONDS:
            return self.cancel
        self.last_check = now
        if not job_heartbeat(self.job, rows=attempt_rows(self.job, self.attempt)):
            raise JobLost()
        self.cancel = TrainingJob.objects.filter(pk=self.job.pk).values_list("cancel_requested", flat=True).first()
        return bool(self.cancel)


def _record_labels(value: dict) -> list[str]:
    return value.get("labels") or [span["label"] for span in value.get("spans", [])]


def _labels_of(version: DatasetVersion, records: list[dict]) -> list[str]:
    """The version's label set (or its label filter), plus any label its records use beyond it."""
    labels = list(dict.fromkeys(version.filters.get("labels") or version.manifest.get("label_set") or []))
    used = {name for record in records for name in _record_labels(record["value"])}
    return labels + sorted(used - set(labels))


def _examples(records: list[dict], task: str) -> tuple[dict[str, list], int]:
    """TrainingExamples per split, and how many records could not be used for ``task``."""
    from training.ml.batching import TrainingExample
    from training.ml.spans import Span

    splits: dict[str, list] = {split: [] for split in Split.values}
    skipped = 0
    for record in records:
        value = record["value"]
        if task == "spans":
            spans = tuple(Span(span["start"], span["end"], span["label"]) for span in value.get("spans", []))
            example = TrainingExample(record["text"], spans=spans)
        else:
            labels = tuple(value.get("labels", []))
            if task == "single_label" and len(labels) != 1:
                skipped += 1
                continue
            example = TrainingExample(record["text"], labels=labels)
        splits[record["split"]].append(example)
    return splits, skipped


_METRIC_LABELS = {"single_label": "accuracy", "multi_label": "micro F1", "spans": "entity F1"}
# FinetuneConfig fields the registry records elsewhere (base model, device) or that are paths.
_NOT_HYPERPARAMETERS = ("base_model", "device")


def training_execute(job: TrainingJob, attempt: int) -> None:
    """Read the version's records, fine-tune, evaluate, save and register; ``attempt`` owns the job."""
    # Imported here so that the web process, which only requests jobs, never loads torch.
    from training.ml.finetune import FinetuneConfig, config_dict, evaluate_examples, finetune
    from training.services.datasets import dataset_version_records
    from training.services.registry import model_version_register

    version = job.dataset_version
    task = _TASKS[version.manifest.get("task_type") or job.project.task_type]
    records = list(dataset_version_records(version=version))
    labels = _labels_of(version, records)
    splits, skipped = _examples(records, task)
    train, dev, test = splits[Split.TRAIN], splits[Split.DEV], splits[Split.TEST]
    if not train or not dev:
        raise TrainingRefused(
            f"Dataset version {version.number} gives {len(train)} train and {len(dev)} dev examples; training needs both."
        )
    base_path = job.base_model.path if job.base_model else (settings.BASE_MODEL_DIR or None)
    config = FinetuneConfig(
        task=task,
        labels=labels,
        base_model=base_path,
        device=settings.ML_DEVICE,
        time_limit_seconds=float(job.time_limit_seconds),
        **job.hyperparameters,
    )
    metric_label = _METRIC_LABELS[task]
    unusable = f"; {skipped} records without exactly one label left out" if skipped else ""
    attempt_log(
        job,
        attempt,
        f"Dataset version {version.number} ({version.content_hash[:12]}): {len(train)} train, {len(dev)} dev, "
        f"{len(test)} test examples, labels {', '.join(labels)}{unusable}. Loading the base model.",
    )
    reporter = _Reporter(job, attempt, metric_label)
    result = finetune(
        config, train, dev, on_progress=reporter.on_progress, should_stop=reporter.should_stop, progress_every=1
    )
    attempt_log(
        job,
        attempt,
        f"Trained in {result.train_seconds:.1f} s on {result.device} ({result.precision}), "
        f"{result.samples_per_second:.1f} samples/s; best dev {metric_label} {result.best_dev_metric:.4f} "
        f"at epoch {result.best_epoch}. Evaluating on dev and test.",
        device=result.device,
    )
    metrics = {
        "metric": result.metric_name,
        "best_epoch": result.best_epoch,
        "threshold": result.threshold,
        "history": result.history,
        "precision": result.precision,
        "samples_per_second": result.samples_per_second,
        "examples": {"train": len(train), "dev": len(dev), "test": len(test)},
        "dev": evaluate_examples(result, dev),
        "test": evaluate_examples(result, test) if test else None,
    }
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a worker's log is no terminal: no "Writing model shards" bars
    result.save(staging_dir(job))
    hyperparameters = {k: v for k, v in config_dict(config).items() if k not in _NOT_HYPERPARAMETERS}
    model_version = model_version_register(
        job=job,
        attempt=attempt,
        staging=staging_dir(job),
        metrics=metrics,
        hyperparameters=hyperparameters,
        training_seconds=result.train_seconds,
        device=result.device,
    )
    logger.info("Training job %s registered model %s.", job.pk, model_version.name)
