"""Champion and challenger: a trained model against the project's current suggestion source.

The current source (the *champion*) is the active model version, or else what pre-annotation
uses without one: the logistic head on sentence embeddings, or zero-shot similarity while too
few labels exist. A training job measures its model and both of those on the same held-out
items (``training.ml.challenger``); against another model version the comparison is made here,
on the test items both versions hold with the same gold answer (splits are stable across
versions, so neither model was trained on them).

The verdict decides whether activation needs an explicit, audited confirmation: when the
candidate is degenerate, or worse than the champion with confidence (the paired bootstrap
interval of the difference lies below zero).
"""

from dataclasses import dataclass, field

from projects.models import TaskType
from training.models import ModelVersion, PreannotationJob

_TASKS = {TaskType.SINGLE_LABEL: "single_label", TaskType.MULTI_LABEL: "multi_label", TaskType.SPANS: "spans"}
HEAD = "head"
ZERO_SHOT = "zero_shot"
MODEL = "model"
NONE = "none"
_SOURCE_NAMES = {HEAD: "the embedding head", ZERO_SHOT: "zero-shot suggestions", NONE: "no suggestions"}
# Fewer shared test items than this and two versions are reported as not comparable.
MIN_SHARED_ITEMS = 10


@dataclass
class Verdict:
    """What activating ``candidate`` would replace, how the two compare, and whether to confirm."""

    candidate: ModelVersion
    champion_kind: str  # MODEL, HEAD, ZERO_SHOT or NONE
    champion_name: str
    comparison: dict | None  # evaluate.paired_comparison's dict: a = candidate, b = champion
    candidate_report: dict | None
    champion_report: dict | None
    basis: str  # which held-out items
    degenerate: bool
    degenerate_reason: str
    reasons: list[str] = field(default_factory=list)  # why a confirmation is needed (empty: none)
    note: str = ""  # e.g. why no comparison could be made

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.reasons)

    @property
    def outcome(self) -> str:
        """"degenerate", "worse", "better", "no_clear_difference" or "not_compared"."""
        if self.degenerate:
            return "degenerate"
        if self.comparison is None:
            return "not_compared"
        return self.comparison["verdict"]

    def as_dict(self) -> dict:
        return {
            "candidate": self.candidate.name,
            "champion": {"kind": self.champion_kind, "name": self.champion_name},
            "outcome": self.outcome,
            "comparison": self.comparison,
            "candidate_report": _summary(self.candidate_report),
            "champion_report": _summary(self.champion_report),
            "basis": self.basis,
            "degenerate": self.degenerate,
            "degenerate_reason": self.degenerate_reason,
            "needs_confirmation": self.needs_confirmation,
            "reasons": self.reasons,
            "note": self.note,
        }

    def line(self) -> str:
        """The verdict in one sentence, for logs and the ``train --wait`` command."""
        comparison = self.comparison
        if comparison is None:
            against = f"Not compared with {self.champion_name}" + (f": {self.note}" if self.note else ".")
        else:
            low, high = comparison["interval"]
            against = (
                f"{comparison['metric']} {comparison['a']:.3f} against {self.champion_name}'s {comparison['b']:.3f} "
                f"on {comparison['items']} held-out items: difference {comparison['difference']:+.3f} "
                f"(95 % interval {low:+.3f} to {high:+.3f}), {comparison['verdict'].replace('_', ' ')}."
            )
        tail = " Activation needs confirmation: " + "; ".join(self.reasons) + "." if self.reasons else ""
        prefix = f"DEGENERATE ({self.degenerate_reason}). " if self.degenerate else ""
        return prefix + against + tail


def _summary(report: dict | None) -> dict | None:
    if not report:
        return None
    keys = ("metric", "value", "interval", "items", "too_small", "too_small_reason", "degenerate", "degenerate_reason")
    return {key: report.get(key) for key in keys}


def heldout_report(version: ModelVersion) -> dict | None:
    """The report a version's headline rests on: its held-out items, else test, else dev (older versions)."""
    metrics = version.metrics or {}
    heldout = (metrics.get("heldout") or {}).get("report")
    return heldout or metrics.get("test") or metrics.get("dev")


def is_degenerate(version: ModelVersion) -> tuple[bool, str]:
    report = heldout_report(version) or {}
    metrics = version.metrics or {}
    flag = bool(metrics.get("degenerate", report.get("degenerate")))
    return flag, metrics.get("degenerate_reason") or report.get("degenerate_reason", "")


def current_source(*, project, exclude: ModelVersion | None = None) -> tuple[str, ModelVersion | None]:
    """What suggests labels in ``project`` now: (MODEL, version), (HEAD | ZERO_SHOT | NONE, None)."""
    active = ModelVersion.objects.filter(project=project, is_active=True)
    if exclude is not None:
        active = active.exclude(pk=exclude.pk)
    model = active.first()
    if model is not None:
        return MODEL, model
    if project.task_type == TaskType.SPANS:
        return NONE, None
    last = (
        PreannotationJob.objects.filter(project=project, trained_model__isnull=True)
        .exclude(method="")
        .order_by("-id")
        .values_list("method", flat=True)
        .first()
    )
    return (ZERO_SHOT if last == "zero_shot" else HEAD), None


def _versions_compared(candidate: ModelVersion, champion: ModelVersion) -> tuple[dict | None, str, str]:
    """Paired comparison on the test items both versions predicted with the same gold answer."""
    from training.ml import evaluate
    from training.ml.challenger import from_jsonable

    mine, theirs = (candidate.metrics or {}).get("test_predictions"), (champion.metrics or {}).get("test_predictions")
    if not mine or not theirs:
        old = champion if not theirs else candidate
        return None, "", f"{old.name} was trained before test predictions were recorded; compare their reports instead"
    task = _TASKS[candidate.project.task_type]
    theirs_by_item = {item: (gold, predicted) for item, gold, predicted in zip(theirs["items"], theirs["gold"], theirs["predicted"])}
    gold, a, b = [], [], []
    for item, my_gold, my_predicted in zip(mine["items"], mine["gold"], mine["predicted"]):
        if item in theirs_by_item and theirs_by_item[item][0] == my_gold:
            gold.append(my_gold)
            a.append(my_predicted)
            b.append(theirs_by_item[item][1])
    basis = f"{len(gold)} test items both versions hold with the same answer"
    if len(gold) < MIN_SHARED_ITEMS:
        return None, basis, f"only {len(gold)} test items in common (at least {MIN_SHARED_ITEMS} needed)"
    labels = list(dict.fromkeys(list(candidate.metrics.get("labels") or []) + _labels_seen(task, gold)))
    if task == "spans":
        return None, basis, "span versions are compared on their reports (the item texts are not kept with the predictions)"
    gold, a, b = (from_jsonable(task, values) for values in (gold, a, b))
    return evaluate.paired_comparison(gold, a, b, labels, task=task), basis, ""


def _labels_seen(task: str, gold: list) -> list[str]:
    if task == "single_label":
        return sorted(set(gold))
    return sorted({label for value in gold for label in value})


def champion_verdict(*, candidate: ModelVersion) -> Verdict:
    """How ``candidate`` compares with what suggests labels in its project now, and whether activating it needs confirmation."""
    project = candidate.project
    degenerate, degenerate_reason = is_degenerate(candidate)
    kind, model = current_source(project=project, exclude=candidate)
    metrics = candidate.metrics or {}
    basis = (metrics.get("heldout") or {}).get("basis", "")
    comparison, champion_report, note = None, None, ""
    if kind == MODEL:
        name = model.name
        comparison, shared_basis, note = _versions_compared(candidate, model)
        basis = shared_basis or basis
        champion_report = heldout_report(model)
    else:
        name = _SOURCE_NAMES[kind]
        baseline = (metrics.get("baselines") or {}).get(kind)
        if baseline:
            comparison, champion_report = baseline.get("comparison"), baseline.get("report")
        elif kind != NONE:
            note = "this version was trained before baselines were measured" if "baselines" not in metrics else (
                f"{name} could not be measured on this version's data"
            )
    reasons = []
    if degenerate:
        reasons.append(f"the model is degenerate ({degenerate_reason})")
    if comparison is not None and comparison.get("verdict") == "worse":
        reasons.append(f"it scores worse than {name} with confidence")
    return Verdict(
        candidate=candidate,
        champion_kind=kind,
        champion_name=name,
        comparison=comparison,
        candidate_report=heldout_report(candidate),
        champion_report=champion_report,
        basis=basis,
        degenerate=degenerate,
        degenerate_reason=degenerate_reason,
        reasons=reasons,
        note=note,
    )
