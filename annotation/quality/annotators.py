"""Per-annotator and per-model-version figures, counted from a project's answer rows."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from annotation.metrics import agreement
from annotation.models import AnnotationStatus, SuggestionOutcome
from annotation.services.annotations import value_key

# An annotator is flagged as possibly rubber-stamping the model when, over at least this many
# suggestions, they accept nearly all unchanged and do so far faster than the project's median.
RUBBER_STAMP_MIN_SHOWN = 20
RUBBER_STAMP_RATE = 0.95
RUBBER_STAMP_SPEED = 0.5


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class AnswerRow:
    """One annotation as the figures read it: its value opened, its review decision and model joined."""

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
        return share(self.finals_matched, self.finals_compared)

    @property
    def gold_accuracy(self) -> float | None:
        return share(self.gold_correct, self.gold_answered)

    @property
    def suggestions_shown(self) -> int:
        return self.suggestions_accepted + self.suggestions_modified + self.suggestions_rejected

    @property
    def acceptance_rate(self) -> float | None:
        return share(self.suggestions_accepted, self.suggestions_shown)


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
        return share(self.accepted, self.shown)


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def annotator_figures(
    rows: list[AnswerRow], *, pairs, finals, gold, is_spans: bool, hours: list[datetime]
):
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
        active[row.annotator][hour_of(row.created_at)] += 1
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
        who.per_active_hour = share(who.submitted, who.active_hours)
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


def model_version_figures(rows: list[AnswerRow]) -> list[ModelVersionFigures]:
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
