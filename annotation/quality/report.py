"""Agreement and quality figures of one project, read from the database without writing."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import F

from annotation.metrics import agreement
from annotation.models import Annotation, AnnotationStatus, FinalAnnotation, FinalSource, Item
from annotation.quality.annotators import (
    AnnotatorFigures,
    AnswerRow,
    ModelVersionFigures,
    annotator_figures,
    hour_of,
    model_version_figures,
)
from governance.keyring import project_readable_check
from projects.models import Project, TaskType

# The throughput chart shows the latest hours in which anybody submitted.
THROUGHPUT_HOURS = 24


@dataclass(frozen=True)
class LabelFigures:
    name: str
    color: str
    annotated: int
    final: int
    agreement: float | None


@dataclass
class QualityReport:
    task_type: str
    # What a pair's score is: "cohen_kappa", "pooled_kappa" (multi-label) or "exact_f1" (spans).
    pair_measure: str
    annotators: list[str]
    items_compared: int
    submitted: int
    measures: list[agreement.Measure]
    pairs: list[agreement.PairScore]
    labels: list[LabelFigures]
    per_annotator: list[AnnotatorFigures]
    model_versions: list[ModelVersionFigures]
    hours: list[datetime]
    lead_time_median_ms: float | None

    @property
    def headline(self) -> agreement.Measure:
        return self.measures[0]

    def pair(self, first: str, second: str) -> agreement.PairScore | None:
        return next((p for p in self.pairs if {p.first, p.second} == {first, second}), None)


def _answer_rows(project: Project) -> list[AnswerRow]:
    """Every annotation of the project, values opened (one decryption per submitted annotation)."""
    username = f"annotator__{get_user_model().USERNAME_FIELD}"
    annotations = (
        Annotation.objects.filter(project=project)
        .only(
            "id",
            "project_id",
            "item_id",
            "annotator_id",
            "value_ct",
            "status",
            "lead_time_ms",
            "suggestion_outcome",
            "created_at",
        )
        .annotate(
            username=F(username),
            gold=F("item__is_gold"),
            version=F("prediction__model_version"),
            decision=F("review__decision"),
        )
        .order_by("id")
    )
    return [
        AnswerRow(
            item_id=a.item_id,
            annotator=a.username,
            status=a.status,
            # Skipped and sent-back answers take part in no figure that needs their value.
            value=a.value if a.status == AnnotationStatus.SUBMITTED else {},
            lead_time_ms=a.lead_time_ms,
            created_at=a.created_at,
            is_gold=a.gold,
            model_version=a.version,
            outcome=a.suggestion_outcome,
            decision=a.decision,
        )
        for a in annotations
    ]


def _label_names(value: dict) -> list[str]:
    if "spans" in value:
        return [span["label"] for span in value["spans"]]
    return list(value.get("labels", ()))


def quality_report(*, project: Project) -> QualityReport:
    """Agreement, label, annotator and suggestion figures; None wherever the data cannot say.

    Agreement uses submitted answers on ordinary items only: gold items, skipped answers and
    answers a reviewer sent back stay out. Item text is never opened; answers are.
    """
    project_readable_check(project=project)
    labels = list(project.labels.all())
    names = [label.name for label in labels]
    rows = _answer_rows(project)
    finals = list(
        FinalAnnotation.objects.filter(project=project).only(
            "item_id", "project_id", "value_ct", "source"
        )
    )
    # Annotators are scored against reviewers' decisions only: an agreement final is their own answer.
    reviewed = {
        final.item_id: final.value for final in finals if final.source == FinalSource.REVIEW
    }
    gold = {
        item.pk: item.gold_value
        for item in Item.objects.filter(project=project, is_gold=True).only(
            "id", "project_id", "gold_value_ct"
        )
    }

    ordinary = [row for row in rows if row.status == AnnotationStatus.SUBMITTED and not row.is_gold]
    ratings = defaultdict(dict)
    for row in ordinary:
        ratings[row.item_id][row.annotator] = row.value
    compared = {
        item: by_annotator for item, by_annotator in ratings.items() if len(by_annotator) >= 2
    }
    found = agreement.task_agreement(project.task_type, compared, names)

    annotated = Counter(name for row in ordinary for name in _label_names(row.value))
    in_finals = Counter(name for final in finals for name in _label_names(final.value))
    label_figures = [
        LabelFigures(
            label.name,
            label.color,
            annotated[label.name],
            in_finals[label.name],
            found.per_label.get(label.name),
        )
        for label in labels
    ]

    hours = sorted(
        {hour_of(row.created_at) for row in rows if row.status == AnnotationStatus.SUBMITTED}
    )
    hours = hours[-THROUGHPUT_HOURS:]
    per_annotator, median = annotator_figures(
        rows,
        pairs=found.pairs,
        finals=reviewed,
        gold=gold,
        is_spans=project.task_type == TaskType.SPANS,
        hours=hours,
    )
    return QualityReport(
        task_type=project.task_type,
        pair_measure=found.pair_measure,
        annotators=sorted({row.annotator for row in ordinary}),
        items_compared=len(compared),
        submitted=len(ordinary),
        measures=found.measures,
        pairs=found.pairs,
        labels=label_figures,
        per_annotator=per_annotator,
        model_versions=model_version_figures(rows),
        hours=hours,
        lead_time_median_ms=median,
    )
