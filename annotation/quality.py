"""Agreement and quality figures of one project, and its gold items, read from the database without writing."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import F

from annotation.metrics import agreement
from annotation.models import (
    Annotation,
    AnnotationStatus,
    FinalAnnotation,
    FinalSource,
    Item,
    SuggestionOutcome,
)
from projects.models import Project, TaskType
from annotation.services.annotations import value_key
from governance.keyring import project_readable_check

# An annotator is flagged as possibly rubber-stamping the model when, over at least this many
# suggestions, they accept nearly all unchanged and do so far faster than the project's median.
RUBBER_STAMP_MIN_SHOWN = 20
RUBBER_STAMP_RATE = 0.95
RUBBER_STAMP_SPEED = 0.5
# The throughput chart shows the latest hours in which anybody submitted.
THROUGHPUT_HOURS = 24


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class LabelFigures:
    name: str
    color: str
    annotated: int
    final: int
    agreement: float | None


@dataclass
class AnnotatorFigures:
    username: str
    submitted: int = 0
    skipped: int = 0
    sent_back: int = 0
    lead_time_mean_ms: float | None = None
    lead_time_median_ms: float | None = None
    active_hours: int = 0
    per_active_hour: float | None = None
    hourly: list[int] = field(default_factory=list)
    agreement_with_others: float | None = None
    finals_compared: int = 0
    finals_matched: int = 0
    reviews_accepted: int = 0
    reviews_corrected: int = 0
    reviews_rejected: int = 0
    gold_answered: int = 0
    gold_correct: int = 0
    gold_f1: float | None = None
    suggestions_accepted: int = 0
    suggestions_modified: int = 0
    suggestions_rejected: int = 0
    accepted_lead_time_median_ms: float | None = None
    rubber_stamping: bool = False

    @property
    def finals_accuracy(self) -> float | None:
        return _share(self.finals_matched, self.finals_compared)

    @property
    def gold_accuracy(self) -> float | None:
        return _share(self.gold_correct, self.gold_answered)

    @property
    def suggestions_shown(self) -> int:
        return self.suggestions_accepted + self.suggestions_modified + self.suggestions_rejected

    @property
    def acceptance_rate(self) -> float | None:
        return _share(self.suggestions_accepted, self.suggestions_shown)


@dataclass(frozen=True)
class ModelVersionFigures:
    model_version: str
    accepted: int
    modified: int
    rejected: int

    @property
    def shown(self) -> int:
        return self.accepted + self.modified + self.rejected

    @property
    def accepted_share(self) -> float | None:
        return _share(self.accepted, self.shown)


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


@dataclass(frozen=True)
class _Row:
    item_id: int
    annotator: str
    status: str
    value: dict
    lead_time_ms: int
    created_at: datetime
    is_gold: bool
    model_version: str | None
    outcome: str
    decision: str | None


def _rows(project: Project) -> list[_Row]:
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
        _Row(
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


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _annotator_figures(rows, *, pairs, finals, gold, is_spans: bool, hours: list[datetime]):
    """Per annotator: work done, speed, agreement with others, with reviewers' finals and with gold."""
    people: dict[str, AnnotatorFigures] = {}
    lead_times, accepted_times, active = defaultdict(list), defaultdict(list), defaultdict(Counter)
    span_counts = defaultdict(lambda: [0, 0])  # matched spans, spans in both answers
    for row in rows:
        who = people.setdefault(row.annotator, AnnotatorFigures(row.annotator))
        if row.status == AnnotationStatus.SKIPPED:
            who.skipped += 1
            continue
        if row.decision:
            setattr(who, f"reviews_{row.decision}", getattr(who, f"reviews_{row.decision}") + 1)
        if row.outcome:
            setattr(
                who, f"suggestions_{row.outcome}", getattr(who, f"suggestions_{row.outcome}") + 1
            )
        if row.status == AnnotationStatus.REJECTED:
            who.sent_back += 1
            continue
        who.submitted += 1
        active[row.annotator][_hour(row.created_at)] += 1
        # Zero is what a client sends when it did not measure; it is no real lead time.
        if row.lead_time_ms > 0:
            lead_times[row.annotator].append(row.lead_time_ms)
            if row.outcome == SuggestionOutcome.ACCEPTED:
                accepted_times[row.annotator].append(row.lead_time_ms)
        if row.is_gold and gold.get(row.item_id) is not None:
            expected = gold[row.item_id]
            who.gold_answered += 1
            who.gold_correct += value_key(row.value) == value_key(expected)
            if is_spans:
                given, wanted = (
                    set(agreement.answer_spans(row.value)),
                    set(agreement.answer_spans(expected)),
                )
                span_counts[row.annotator][0] += 2 * len(given & wanted)
                span_counts[row.annotator][1] += len(given) + len(wanted)
        elif not row.is_gold and row.item_id in finals:
            who.finals_compared += 1
            who.finals_matched += value_key(row.value) == value_key(finals[row.item_id])

    everyone = [time for times in lead_times.values() for time in times]
    project_median = statistics.median(everyone) if everyone else None
    for name, who in people.items():
        times = lead_times[name]
        if times:
            who.lead_time_mean_ms = statistics.fmean(times)
            who.lead_time_median_ms = statistics.median(times)
        if accepted_times[name]:
            who.accepted_lead_time_median_ms = statistics.median(accepted_times[name])
        who.active_hours = len(active[name])
        who.per_active_hour = _share(who.submitted, who.active_hours)
        who.hourly = [active[name][hour] for hour in hours]
        who.agreement_with_others = agreement.mean_defined(
            p.score for p in pairs if name in (p.first, p.second)
        )
        matched, total = span_counts[name]
        who.gold_f1 = matched / total if is_spans and total else None
        who.rubber_stamping = (
            who.suggestions_shown >= RUBBER_STAMP_MIN_SHOWN
            and who.acceptance_rate >= RUBBER_STAMP_RATE
            and project_median is not None
            and who.accepted_lead_time_median_ms is not None
            and who.accepted_lead_time_median_ms < RUBBER_STAMP_SPEED * project_median
        )
    return sorted(people.values(), key=lambda who: who.username), project_median


def _model_versions(rows) -> list[ModelVersionFigures]:
    counts = defaultdict(Counter)
    for row in rows:
        if row.outcome and row.status != AnnotationStatus.SKIPPED:
            # A deleted prediction leaves the outcome without its version: reported as "".
            counts[row.model_version or ""][row.outcome] += 1
    return [
        ModelVersionFigures(
            version,
            counts[version][SuggestionOutcome.ACCEPTED],
            counts[version][SuggestionOutcome.MODIFIED],
            counts[version][SuggestionOutcome.REJECTED],
        )
        for version in sorted(counts)
    ]


def quality_report(*, project: Project) -> QualityReport:
    """Agreement, label, annotator and suggestion figures; None wherever the data cannot say.

    Agreement uses submitted answers on ordinary items only: gold items, skipped answers and
    answers a reviewer sent back stay out. Item text is never opened; answers are.
    """
    project_readable_check(project=project)
    labels = list(project.labels.all())
    names = [label.name for label in labels]
    rows = _rows(project)
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
        {_hour(row.created_at) for row in rows if row.status == AnnotationStatus.SUBMITTED}
    )
    hours = hours[-THROUGHPUT_HOURS:]
    per_annotator, median = _annotator_figures(
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
        model_versions=_model_versions(rows),
        hours=hours,
        lead_time_median_ms=median,
    )


# Gold items


@dataclass(frozen=True)
class GoldItemFigures:
    item: Item
    value: dict
    answered: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return _share(self.correct, self.answered)


def gold_item_list(*, project: Project) -> list[GoldItemFigures]:
    """The project's gold items with their answers, how many annotators met each and how many got it right."""
    project_readable_check(project=project)
    items = list(Item.objects.filter(project=project, is_gold=True).order_by("id"))
    answers = defaultdict(list)
    for annotation in Annotation.objects.filter(
        project=project, item__is_gold=True, status=AnnotationStatus.SUBMITTED
    ).only("item_id", "annotator_id", "project_id", "value_ct"):
        answers[annotation.item_id].append(value_key(annotation.value))
    figures = []
    for item in items:
        expected = value_key(item.gold_value)
        given = answers[item.pk]
        figures.append(
            GoldItemFigures(
                item, item.gold_value, len(given), sum(key == expected for key in given)
            )
        )
    return figures


def gold_candidates(*, project: Project, limit: int = 20) -> list[FinalAnnotation]:
    """The most recently finalised items, whose final answers a manager may promote to gold."""
    project_readable_check(project=project)
    finals = FinalAnnotation.objects.filter(project=project, item__is_gold=False).select_related(
        "item"
    )
    return list(finals.order_by("-updated_at", "-id")[:limit])


def item_by_reference(*, project: Project, reference: str) -> Item | None:
    """The project's item with this external id or, failing that, this numeric id."""
    reference = reference.strip()
    if not reference:
        return None
    items = Item.objects.filter(project=project)
    item = items.filter(external_id=reference).first()
    if item is None and reference.isdigit():
        item = items.filter(pk=int(reference)).first()
    return item
