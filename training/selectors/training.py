"""Reads of training jobs, base models and model versions; callers have already passed the permission gate."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from projects.models import Project
from training.models import BaseModel, DatasetStatus, DatasetVersion, ModelVersion, TrainingJob

# Rows of a classification or seqeval report that summarise every label, in display order.
SUMMARY_ROWS = ("micro avg", "macro avg", "weighted avg")
_LINEAGE = (
    ("dataset_version", _("Dataset version")),
    ("dataset_hash", _("Dataset hash")),
    ("base_model", _("Base model")),
    ("code_version", _("Code version")),
    ("training_seconds", _("Training time (s)")),
    ("device", _("Device")),
    ("created_at", _("Trained at")),
)


def training_job_list(*, project: Project):
    return (
        TrainingJob.objects.filter(project=project)
        .select_related("dataset_version", "base_model", "requested_by", "model_version")
        .order_by("-id")
    )


def training_job_get(*, project: Project, job_id) -> TrainingJob:
    job = training_job_list(project=project).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such training job in this project.")
    return job


def model_version_list(*, project: Project):
    return (
        ModelVersion.objects.filter(project=project)
        .select_related("dataset_version", "training_job", "activated_by")
        .order_by("-number")
    )


def model_version_get(*, project: Project, model_version_id) -> ModelVersion:
    version = model_version_list(project=project).filter(pk=model_version_id).first()
    if version is None:
        raise Http404("No such model version in this project.")
    return version


def model_version_by_number(*, project: Project, number) -> ModelVersion:
    version = model_version_list(project=project).filter(number=number).first()
    if version is None:
        raise Http404(f"Project {project.pk} has no model version {number}.")
    return version


def base_model_list():
    return BaseModel.objects.order_by("name")


def base_model_by_name(*, name: str | None) -> BaseModel | None:
    """The registered base model called ``name``; None (the bundled default) for an empty name."""
    if not name:
        return None
    base = BaseModel.objects.filter(name=name).first()
    if base is None:
        known = ", ".join(base_model_list().values_list("name", flat=True)) or "none registered"
        raise ValidationError({"base_model": f"No base model named {name!r}; registered: {known}."})
    return base


def trainable_versions(*, project: Project):
    """Ready dataset versions of the project, newest first: what a training job may start from."""
    return DatasetVersion.objects.filter(project=project, status=DatasetStatus.READY).order_by("-number")


def trainable_version_by_number(*, project: Project, number) -> DatasetVersion:
    version = trainable_versions(project=project).filter(number=number).first() if str(number).isdigit() else None
    if version is None:
        raise ValidationError({"dataset_version": f"Project {project.pk} has no ready dataset version {number}."})
    return version


# --- evaluation ---------------------------------------------------------------------------------


def evaluation_split(model_version: ModelVersion) -> str:
    """The split a version is judged on: test when it had test examples, else dev."""
    return "test" if model_version.metrics.get("test") else "dev"


def evaluation_labels(model_version: ModelVersion) -> list[str]:
    labels = model_version.hyperparameters.get("labels")
    if labels:
        return list(labels)
    scores = model_version.metrics.get(evaluation_split(model_version)) or {}
    return [
        name for name, row in (scores.get("report") or {}).items() if isinstance(row, dict) and name not in SUMMARY_ROWS
    ]


def evaluation_rows(model_version: ModelVersion, split: str | None = None) -> list[dict]:
    """Per-label precision, recall, F1 and support, then the summary rows the report has."""
    scores = model_version.metrics.get(split or evaluation_split(model_version)) or {}
    report = scores.get("report") or {}
    rows = []
    for name in [*evaluation_labels(model_version), *SUMMARY_ROWS]:
        row = report.get(name)
        if not isinstance(row, dict):
            if name in SUMMARY_ROWS:
                continue
            row = {}
        rows.append(
            {
                "label": name,
                "summary": name in SUMMARY_ROWS,
                "precision": row.get("precision", 0.0),
                "recall": row.get("recall", 0.0),
                "f1": row.get("f1-score", 0.0),
                "support": int(row.get("support", 0)),
            }
        )
    return rows


def _lineage_value(model_version: ModelVersion, key: str):
    if key == "dataset_version":
        return model_version.dataset_version.number
    if key == "base_model":
        return f"{model_version.base_model_name}@{model_version.base_model_fingerprint}"
    if key == "training_seconds":
        return round(model_version.training_seconds, 1)
    return getattr(model_version, key)


@dataclass
class Comparison:
    first: ModelVersion
    second: ModelVersion
    split: str
    metric: str
    headline: tuple
    labels: list[dict] = field(default_factory=list)
    lineage: list[dict] = field(default_factory=list)
    hyperparameters: list[dict] = field(default_factory=list)


def model_version_compare(*, first: ModelVersion, second: ModelVersion) -> Comparison:
    """Two versions side by side: per-label scores on a split both have, lineage and settings."""
    if first.project_id != second.project_id:
        raise ValidationError({"with": "Only versions of the same project can be compared."})
    split = "test" if first.metrics.get("test") and second.metrics.get("test") else "dev"
    rows = {}
    for side, version in (("first", first), ("second", second)):
        for row in evaluation_rows(version, split):
            rows.setdefault(row["label"], {"label": row["label"], "summary": row["summary"]})[side] = row
    labels = []
    for row in rows.values():
        a, b = row.get("first"), row.get("second")
        row["f1_change"] = round(b["f1"] - a["f1"], 4) if a and b else None
        labels.append(row)
    labels.sort(key=lambda row: row["summary"])
    scores = (first.metrics.get(split) or {}, second.metrics.get(split) or {})
    lineage = [
        {"name": name, "key": key, "first": _lineage_value(first, key), "second": _lineage_value(second, key)}
        for key, name in _LINEAGE
    ]
    for row in lineage:
        row["differs"] = row["first"] != row["second"] and row["key"] != "created_at"
    names = sorted(set(first.hyperparameters) | set(second.hyperparameters))
    hyperparameters = [
        {"name": name, "first": first.hyperparameters.get(name), "second": second.hyperparameters.get(name)}
        for name in names
    ]
    for row in hyperparameters:
        row["differs"] = row["first"] != row["second"]
    return Comparison(
        first=first,
        second=second,
        split=split,
        metric=scores[0].get("metric") or first.metrics.get("metric", ""),
        headline=(scores[0].get("value"), scores[1].get("value")),
        labels=labels,
        lineage=lineage,
        hyperparameters=hyperparameters,
    )
