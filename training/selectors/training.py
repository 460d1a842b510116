"""Reads of training jobs, base models and model versions; callers have already passed the permission gate."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from projects.models import Project
from training.models import BaseModel, DatasetStatus, DatasetVersion, ModelVersion, TrainingJob
from training.selectors.champion import heldout_report, is_degenerate

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

# How the metric names stored in reports read on pages and in commands.
METRIC_NAMES = {
    "macro_f1": _("macro-F1"),
    "micro_f1": _("micro-F1"),
    "entity_f1": _("entity F1"),
    "accuracy": _("accuracy"),
}
# The evaluations a version may hold, in the order the version page shows them.
EVALUATIONS = (
    ("heldout", _("Held-out items (what the comparisons use)")),
    ("test", _("Test split")),
    ("dev", _("Dev split")),
    ("cross_validation", _("Cross-validation (out-of-fold predictions on train + dev)")),
)
SELECTION_DEV = "dev"
SELECTION_CROSS_VALIDATION = "cross_validation"


def metric_name(metric: str | None) -> str:
    return str(METRIC_NAMES.get(metric or "", metric or ""))


def version_report(model_version: ModelVersion, split: str) -> dict | None:
    """One of a version's evaluate reports: "dev", "test", "cross_validation" or "heldout"."""
    metrics = model_version.metrics or {}
    if split == "heldout":
        return (metrics.get("heldout") or {}).get("report")
    return metrics.get(split)


def _heldout_is_test(metrics: dict) -> bool:
    """Whether the held-out report is the test report again (model selection on dev, measured on test)."""
    return bool(metrics.get("test")) and (metrics.get("heldout") or {}).get("basis", "").startswith("test split")


def evaluation_split(model_version: ModelVersion) -> str:
    """The report a version is judged on: its held-out items when they are more than the test split, else test, else dev."""
    metrics = model_version.metrics or {}
    if (metrics.get("heldout") or {}).get("report") and not _heldout_is_test(metrics):
        return "heldout"
    return "test" if metrics.get("test") else "dev"


def report_headline(report: dict | None) -> dict | None:
    """The primary metric of one report with its interval and the items it rests on (None: not recorded)."""
    if not report:
        return None
    metric = report.get("metric", "")
    return {
        "metric": metric,
        "metric_name": metric_name(metric),
        "value": report.get("value"),
        "interval": report.get("interval"),  # None for versions trained before intervals were recorded
        "items": report.get("items"),
        "too_small": bool(report.get("too_small")),
        "too_small_reason": report.get("too_small_reason", ""),
        "degenerate": bool(report.get("degenerate")),
        "degenerate_reason": report.get("degenerate_reason", ""),
    }


def version_headline(model_version: ModelVersion) -> dict:
    """A version's score as every page, API and command shows it: metric, value, 95 % interval, n, basis, flags."""
    metrics = model_version.metrics or {}
    headline = report_headline(heldout_report(model_version)) or report_headline({"metric": metrics.get("metric")})
    basis = (metrics.get("heldout") or {}).get("basis") or ("test split" if metrics.get("test") else "dev split")
    degenerate, reason = is_degenerate(model_version)
    headline.update(basis=basis, degenerate=degenerate, degenerate_reason=reason)
    return headline


def _scored(entry) -> dict:
    """{"value", "interval"} from a new report's entry, or from an old report's bare number."""
    if isinstance(entry, dict):
        return {"value": entry.get("value"), "interval": entry.get("interval"), "items": entry.get("items")}
    return {"value": entry, "interval": None, "items": None}


def evaluation_section(model_version: ModelVersion, split: str) -> dict | None:
    """One evaluation for the version page: headline, macro-F1 / micro-F1 / accuracy and per-class rows, each with its interval."""
    report = version_report(model_version, split)
    if not report:
        return None
    scores = []
    for key, name in (("macro_f1", _("macro-F1")), ("micro_f1", _("micro-F1")), ("accuracy", _("accuracy"))):
        if key in report:
            scores.append({"key": key, "name": name, **_scored(report[key])})
        elif report.get("metric") == key:  # an old report: only its headline number
            scores.append({"key": key, "name": name, **_scored(report.get("value"))})
    return {
        "split": split,
        "title": dict(EVALUATIONS)[split],
        "headline": report_headline(report),
        "scores": scores,
        "rows": evaluation_rows(model_version, split),
        "interval_method": report.get("interval_method", ""),
        "predicted_counts": report.get("predicted_counts") or {},
    }


def evaluation_sections(model_version: ModelVersion) -> list[dict]:
    """Every evaluation the version holds (the held-out one only when it is more than the test split)."""
    metrics = model_version.metrics or {}
    sections = []
    for split, _title in EVALUATIONS:
        if split == "heldout" and _heldout_is_test(metrics):
            continue
        section = evaluation_section(model_version, split)
        if section:
            sections.append(section)
    return sections


def selection_summary(model_version: ModelVersion) -> dict | None:
    """How the training step was chosen and the schedule it ran (None for versions that did not record it)."""
    metrics = model_version.metrics or {}
    selection = metrics.get("selection")
    if not selection:
        return None
    schedule = [(name, value) for name, value in (metrics.get("schedule") or {}).items() if value is not None]
    return {
        "mode": selection.get("mode", ""),
        "cross_validated": selection.get("mode") == SELECTION_CROSS_VALIDATION,
        "reason": selection.get("reason", ""),
        "folds": selection.get("folds"),
        "chosen_step": selection.get("chosen_step"),
        "best_epoch": metrics.get("best_epoch"),
        "schedule": schedule,
    }


def baseline_rows(model_version: ModelVersion) -> list[dict]:
    """The model and its baselines (embedding head, zero-shot) on the same held-out items, with the paired difference."""
    metrics = model_version.metrics or {}
    names = {"head": _("Embedding head"), "zero_shot": _("Zero-shot")}
    baselines = metrics.get("baselines") or {}
    if not baselines:
        return []
    heldout = (metrics.get("heldout") or {}).get("report")
    rows = [{"kind": "model", "name": model_version.name, "headline": report_headline(heldout), "comparison": None}]
    for kind, entry in baselines.items():
        rows.append(
            {
                "kind": kind,
                "name": names.get(kind, kind),
                "headline": report_headline(entry.get("report")),
                "comparison": entry.get("comparison"),
            }
        )
    return rows


def evaluation_labels(model_version: ModelVersion, split: str | None = None) -> list[str]:
    labels = model_version.hyperparameters.get("labels") or (model_version.metrics or {}).get("labels")
    if labels:
        return list(labels)
    scores = version_report(model_version, split or evaluation_split(model_version)) or {}
    return [
        name for name, row in (scores.get("report") or {}).items() if isinstance(row, dict) and name not in SUMMARY_ROWS
    ]


def _interval_of(entry) -> list | None:
    return entry.get("interval") if isinstance(entry, dict) else None


def _value_of(entry, fallback) -> float:
    return entry.get("value", fallback) if isinstance(entry, dict) else fallback


def evaluation_rows(model_version: ModelVersion, split: str | None = None) -> list[dict]:
    """Per-label precision, recall, F1 (each with its 95 % interval when recorded) and support, then the summary rows."""
    scores = version_report(model_version, split or evaluation_split(model_version)) or {}
    report = scores.get("report") or {}
    per_class = scores.get("per_class") or {}
    rows = []
    for name in [*evaluation_labels(model_version, split), *SUMMARY_ROWS]:
        row = report.get(name)
        if not isinstance(row, dict):
            if name in SUMMARY_ROWS:
                continue
            row = {}
        intervals = per_class.get(name) or {}
        rows.append(
            {
                "label": name,
                "summary": name in SUMMARY_ROWS,
                "precision": _value_of(intervals.get("precision"), row.get("precision", 0.0)),
                "recall": _value_of(intervals.get("recall"), row.get("recall", 0.0)),
                "f1": _value_of(intervals.get("f1"), row.get("f1-score", 0.0)),
                "support": int(intervals.get("support", row.get("support", 0))),
                "precision_interval": _interval_of(intervals.get("precision")),
                "recall_interval": _interval_of(intervals.get("recall")),
                "f1_interval": _interval_of(intervals.get("f1")),
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
    headlines: tuple = ()  # version_headline of each: what each version's score rests on
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
        headlines=(version_headline(first), version_headline(second)),
        labels=labels,
        lineage=lineage,
        hyperparameters=hyperparameters,
    )


def headline_text(headline: dict) -> str:
    """A headline in one line for commands and logs: metric, value, interval, n, basis and the flags."""
    value = headline.get("value")
    text = f"{headline.get('metric_name') or headline.get('metric')} {'-' if value is None else format(value, '.3f')}"
    interval = headline.get("interval")
    text += f" (95 % interval {interval[0]:.3f} to {interval[1]:.3f})" if interval else " (no interval recorded)"
    if headline.get("items") is not None:
        text += f", n = {headline['items']}"
    if headline.get("basis"):
        text += f" on the {headline['basis']}" if headline["basis"].endswith("split") else f" on {headline['basis']}"
    if headline.get("degenerate"):
        text += f"; DEGENERATE: {headline.get('degenerate_reason')}"
    if headline.get("too_small"):
        text += f"; too small to tell: {headline.get('too_small_reason')}"
    return text + "."


def selection_text(selection: dict | None) -> str:
    """How the training step was chosen, in one line (empty for versions that did not record it)."""
    if not selection:
        return ""
    if selection["cross_validated"]:
        because = f" because {selection['reason']}" if selection.get("reason") else ""
        return f"chose step {selection.get('chosen_step')} by {selection.get('folds')}-fold cross-validation{because}."
    return f"chose the step with the best dev score (epoch {selection.get('best_epoch')}) on the dev split."
