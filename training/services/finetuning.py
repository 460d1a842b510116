"""The worker's side of a training job: examples from a dataset version, fine-tuning with live progress, evaluation."""

import logging
import time

from django.conf import settings
from django.db.models import F, Value
from django.db.models.functions import Concat

from common.jobs.lifecycle import job_heartbeat, job_progress
from projects.models import TaskType
from training.models import DatasetVersion, Split, TrainingJob
from training.services.training import (
    JobLost,
    TrainingRefused,
    attempt_log,
    attempt_rows,
    log_line,
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
        # step, after each dev evaluation (every tenth of the schedule): that repeat is logged.
        evaluated = progress.step == self.last_step and progress.dev_metric is not None
        self.last_step = progress.step
        now = time.monotonic()
        if not evaluated and now - self.last_write < WRITE_INTERVAL_SECONDS and progress.step != progress.total_steps:
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
            "run": progress.run,
            "eta_seconds": round(progress.eta_seconds, 1),
            "samples_per_second": round(progress.samples_per_second, 1),
        }
        if evaluated:
            attempt_log(
                self.job,
                self.attempt,
                f"{progress.run.capitalize() + ', s' if progress.run else 'S'}tep {progress.step}/{progress.total_steps} "
                f"(epoch {progress.epoch}/{progress.epochs}): "
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


def _examples(records: list[dict], task: str) -> tuple[dict[str, list], dict[str, list[int]], int]:
    """TrainingExamples per split, their item ids in the same order, and how many records ``task`` cannot use."""
    from training.ml.batching import TrainingExample
    from training.ml.spans import Span

    splits: dict[str, list] = {split: [] for split in Split.values}
    ids: dict[str, list[int]] = {split: [] for split in Split.values}
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
        ids[record["split"]].append(int(record["id"]))
    return splits, ids, skipped


_METRIC_LABELS = {"single_label": "macro-F1", "multi_label": "macro-F1", "spans": "entity F1"}
# FinetuneConfig fields the registry records elsewhere (base model, device) or that are paths.
_NOT_HYPERPARAMETERS = ("base_model", "device")


class _Embedder:
    """Sentence embeddings of training examples for the head baseline: the import's cache first, the encoder for the rest."""

    def __init__(self, project, item_of: dict):
        self.project, self.item_of, self._encoder = project, item_of, None

    def encoder(self):
        if self._encoder is None:
            from training.ml.encoder import encoder_load

            self._encoder = encoder_load(settings.BASE_MODEL_DIR or None, device=settings.ML_DEVICE)
        return self._encoder

    def texts(self, texts: list[str]):
        return self.encoder().encode(list(texts), batch_size=settings.PREANNOTATION_BATCH_SIZE)

    def __call__(self, examples):
        from training.services.embeddings import embeddings_or_encode, encoder_key

        return embeddings_or_encode(
            project=self.project,
            item_ids=[self.item_of.get(example) for example in examples],
            texts=[example.text for example in examples],
            encoder=encoder_key(),
            encode=self.texts,
        )


def training_execute(job: TrainingJob, attempt: int) -> None:
    """Read the version's records, fine-tune, evaluate against the baselines, save and register; ``attempt`` owns the job."""
    # Imported here so that the web process, which only requests jobs, never loads torch.
    from training.ml.challenger import gold_of, jsonable, train_and_compare
    from training.ml.finetune import FinetuneConfig, config_dict
    from training.services.datasets import dataset_version_records
    from training.services.registry import model_version_register

    version = job.dataset_version
    project = job.project
    task = _TASKS[version.manifest.get("task_type") or project.task_type]
    records = list(dataset_version_records(version=version))
    labels = _labels_of(version, records)
    splits, ids, skipped = _examples(records, task)
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
    item_of = {}
    for split in Split.values:
        item_of.update(zip(splits[split], ids[split]))
    embedder = _Embedder(project, item_of)
    descriptions = dict(project.labels.values_list("name", "description"))
    reporter = _Reporter(job, attempt, metric_label)
    outcome = train_and_compare(
        config,
        train,
        dev,
        test,
        embed=embedder if task != "spans" else None,
        label_descriptions=descriptions if task != "spans" else None,
        embed_texts=embedder.texts,
        on_progress=reporter.on_progress,
        should_stop=reporter.should_stop,
        on_phase=lambda text: attempt_log(job, attempt, text),
    )
    result = outcome.result
    heldout = outcome.reports["heldout"]
    attempt_log(
        job,
        attempt,
        f"Trained in {result.train_seconds:.1f} s on {result.device} ({result.precision}), "
        f"{result.samples_per_second:.1f} samples/s. Held-out {metric_label} {heldout['value']:.3f} "
        f"(95 % interval {heldout['interval'][0]:.3f} to {heldout['interval'][1]:.3f}, {heldout['items']} items; "
        f"{outcome.heldout_basis})."
        + (f" DEGENERATE: {heldout['degenerate_reason']}." if heldout.get("degenerate") else "")
        + f" Suggest with: {outcome.choice.get('use')} ({outcome.choice.get('reason')}).",
        device=result.device,
    )
    metrics = outcome.metrics()
    metrics["labels"] = labels
    metrics["examples"] = {"train": len(train), "dev": len(dev), "test": len(test)}
    metrics["test_predictions"] = {
        "items": ids[Split.TEST],
        "gold": jsonable(task, gold_of(task, test)),
        "predicted": outcome.test_predictions,
    }
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a worker's log is no terminal: no "Writing model shards" bars
    result.save(staging_dir(job))
    hyperparameters = {k: v for k, v in config_dict(result.config).items() if k not in _NOT_HYPERPARAMETERS}
    hyperparameters["batch_size"] = result.batch_size  # "auto" resolved to what the run used
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
    if job.then_suggest:
        from training.services.registry import suggestions_after_training

        try:
            suggestions_after_training(job=job, model_version=model_version)
        except Exception as error:  # the model is registered; only the follow-up failed
            logger.exception("Training job %s: the pre-annotation after training failed.", job.pk)
            TrainingJob.objects.filter(pk=job.pk).update(
                log=Concat(F("log"), Value(log_line(f"Pre-annotation after training failed: {type(error).__name__}: {error}")))
            )
