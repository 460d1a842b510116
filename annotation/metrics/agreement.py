"""Chance-corrected agreement between annotators, on plain dicts, with maintained libraries.

Ratings are ``{item_id: {annotator: value}}``. Single-label values are label names; multi-label
values are sets of names (scored per label as present/absent); span values are collections of
(start, end, label). Cohen's kappa comes from scikit-learn, Fleiss' kappa from statsmodels,
Krippendorff's alpha from the ``krippendorff`` package. A measure that is undefined for the
data (fewer than two items, one category only) is None, never a made-up number.

Spans also get a chance-corrected measure, ``span_alpha``: nominal Krippendorff's alpha over
the pieces each item is cut into by every annotator's span boundaries (see its docstring).
``task_agreement`` gathers the figures that suit a project's task type from its stored answers.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as _fleiss_kappa

Ratings = Mapping[Hashable, Mapping[Hashable, object]]


@dataclass(frozen=True)
class PairAgreement:
    first: Hashable
    second: Hashable
    items: int
    observed: float | None
    kappa: float | None


def _defined(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def cohen_kappa_pairs(ratings: Ratings) -> list[PairAgreement]:
    """Cohen's kappa for every pair of annotators, over the items both labelled."""
    annotators = sorted({a for by_annotator in ratings.values() for a in by_annotator}, key=str)
    pairs = []
    for first, second in combinations(annotators, 2):
        shared = [(r[first], r[second]) for r in ratings.values() if first in r and second in r]
        if len(shared) < 2:
            pairs.append(PairAgreement(first, second, len(shared), None, None))
            continue
        a, b = zip(*shared)
        observed = sum(x == y for x, y in shared) / len(shared)
        # sklearn returns nan (with a warning) when both raters used a single category.
        kappa = None if len(set(a) | set(b)) < 2 else _defined(cohen_kappa_score(a, b))
        pairs.append(PairAgreement(first, second, len(shared), observed, kappa))
    return pairs


def fleiss_kappa(ratings: Ratings) -> float | None:
    """Fleiss' kappa over the items rated by the most common number (two or more) of annotators.

    Fleiss' kappa needs the same number of ratings per item; items with another count are
    left out rather than padded. Krippendorff's alpha below uses every rating.
    """
    counts = Counter(len(r) for r in ratings.values() if len(r) >= 2)
    if not counts:
        return None
    raters = counts.most_common(1)[0][0]
    rows = [list(r.values()) for r in ratings.values() if len(r) == raters]
    categories = sorted({value for row in rows for value in row}, key=str)
    if len(rows) < 2 or len(categories) < 2:
        return None
    index = {category: i for i, category in enumerate(categories)}
    table = np.zeros((len(rows), len(categories)), dtype=int)
    for row_index, row in enumerate(rows):
        for value in row:
            table[row_index, index[value]] += 1
    return _defined(_fleiss_kappa(table, method="fleiss"))


def krippendorff_alpha(ratings: Ratings) -> float | None:
    """Nominal Krippendorff's alpha over all ratings; missing ratings are allowed."""
    annotators = sorted({a for r in ratings.values() for a in r}, key=str)
    categories = sorted({v for r in ratings.values() for v in r.values()}, key=str)
    pairable = [r for r in ratings.values() if len(r) >= 2]
    if len(pairable) < 2 or len(categories) < 2:
        return None
    code = {category: float(i) for i, category in enumerate(categories)}
    matrix = np.full((len(annotators), len(ratings)), np.nan)
    for column, by_annotator in enumerate(ratings.values()):
        for row, annotator in enumerate(annotators):
            if annotator in by_annotator:
                matrix[row, column] = code[by_annotator[annotator]]
    return _defined(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))


def multi_label_alpha(ratings: Mapping[Hashable, Mapping[Hashable, Iterable[str]]], labels: Iterable[str]) -> dict:
    """Krippendorff's alpha per label (present or absent), and their mean over defined labels."""
    per_label = {}
    for label in labels:
        binary = {item: {a: label in set(values) for a, values in r.items()} for item, r in ratings.items()}
        per_label[label] = krippendorff_alpha(binary)
    defined = [value for value in per_label.values() if value is not None]
    return {"per_label": per_label, "mean": sum(defined) / len(defined) if defined else None}


@dataclass(frozen=True)
class SpanPairF1:
    first: Hashable
    second: Hashable
    items: int
    exact_f1: float | None
    partial_f1: float | None


def _span_f1(first: list[tuple], second: list[tuple], *, partial: bool) -> tuple[int, int, int]:
    """(matches counted from the first's side, len(first), len(second)); F1 is symmetric."""
    if not partial:
        return len(set(first) & set(second)), len(first), len(second)
    matched = sum(
        any(label == other_label and start < other_end and other_start < end for other_start, other_end, other_label in second)
        for start, end, label in first
    )
    return matched, len(first), len(second)


def span_pair_f1(ratings: Mapping[Hashable, Mapping[Hashable, Iterable[tuple]]]) -> list[SpanPairF1]:
    """Pairwise entity F1 between annotators (one as reference, symmetric), exact and overlapping."""
    annotators = sorted({a for r in ratings.values() for a in r}, key=str)
    results = []
    for first, second in combinations(annotators, 2):
        shared = [(list(map(tuple, r[first])), list(map(tuple, r[second]))) for r in ratings.values() if first in r and second in r]
        scores = []
        for partial in (False, True):
            matched = total_first = total_second = 0
            for a, b in shared:
                m, n_a, n_b = _span_f1(a, b, partial=partial)
                # Overlap matching is not one-to-one; count it from the side with fewer spans.
                if partial:
                    m = min(m, _span_f1(b, a, partial=True)[0])
                matched, total_first, total_second = matched + m, total_first + n_a, total_second + n_b
            denominator = total_first + total_second
            scores.append(2 * matched / denominator if denominator else None)
        results.append(SpanPairF1(first, second, len(shared), scores[0] if shared else None, scores[1] if shared else None))
    return results


def multi_label_pair_kappa(
    ratings: Mapping[Hashable, Mapping[Hashable, Iterable[str]]], labels: Iterable[str]
) -> list[PairAgreement]:
    """Cohen's kappa per annotator pair over the pooled present/absent decisions on every (item, label).

    ``items`` counts shared items and ``observed`` is the share of them given exactly the same
    label set; the kappa itself pools every label's decisions, so frequent labels weigh more.
    """
    labels = list(labels)
    annotators = sorted({a for r in ratings.values() for a in r}, key=str)
    pairs = []
    for first, second in combinations(annotators, 2):
        shared = [(set(r[first]), set(r[second])) for r in ratings.values() if first in r and second in r]
        if len(shared) < 2 or not labels:
            pairs.append(PairAgreement(first, second, len(shared), None, None))
            continue
        observed = sum(a == b for a, b in shared) / len(shared)
        decisions_a = [label in a for a, _ in shared for label in labels]
        decisions_b = [label in b for _, b in shared for label in labels]
        single = len(set(decisions_a) | set(decisions_b)) < 2
        kappa = None if single else _defined(cohen_kappa_score(decisions_a, decisions_b))
        pairs.append(PairAgreement(first, second, len(shared), observed, kappa))
    return pairs


def _span_pieces(ratings: Mapping[Hashable, Mapping[Hashable, Iterable[tuple]]]) -> dict:
    """{(item, piece): {annotator: labels covering that piece}} for pieces someone marked.

    Each item with two or more annotators is cut at every start and end any of them chose;
    within a piece every annotator's labelling is constant.
    """
    pieces = {}
    for item, by_annotator in ratings.items():
        if len(by_annotator) < 2:
            continue
        spans = {annotator: [tuple(span) for span in value] for annotator, value in by_annotator.items()}
        cuts = sorted({offset for value in spans.values() for start, end, _ in value for offset in (start, end)})
        marks = {annotator: [set() for _ in cuts[1:]] for annotator in spans}
        for annotator, value in spans.items():
            for start, end, label in value:
                for piece in range(bisect_left(cuts, start), bisect_left(cuts, end)):
                    marks[annotator][piece].add(label)
        for piece in range(len(cuts) - 1):
            if any(marks[annotator][piece] for annotator in marks):
                pieces[(item, piece)] = {annotator: frozenset(marks[annotator][piece]) for annotator in marks}
    return pieces


def span_alpha(
    ratings: Mapping[Hashable, Mapping[Hashable, Iterable[tuple]]], labels: Iterable[str] = ()
) -> dict:
    """Chance-corrected span agreement: nominal Krippendorff's alpha over marked pieces of text.

    Every item that two or more annotators labelled is cut at all of their span boundaries; each
    piece that at least one of them marked is a unit, and an annotator's value for it is the set
    of labels they put on it (empty where they marked nothing). Text that nobody marked is left
    out: the offsets alone do not say how long it is, and counting it would inflate agreement on
    "nothing here". Each piece counts once whatever its length, much like an entity-level score.
    The result is {"alpha", "per_label", "mean"}: per label, alpha of "has this label or not" over
    the same pieces, and their mean over the labels where it is defined.
    """
    pieces = _span_pieces(ratings)
    overall = krippendorff_alpha(
        {unit: {a: tuple(sorted(marked)) for a, marked in by_annotator.items()} for unit, by_annotator in pieces.items()}
    )
    per_label = {
        label: krippendorff_alpha(
            {unit: {a: label in marked for a, marked in by_annotator.items()} for unit, by_annotator in pieces.items()}
        )
        for label in labels
    }
    defined = [value for value in per_label.values() if value is not None]
    return {"alpha": overall, "per_label": per_label, "mean": sum(defined) / len(defined) if defined else None}


# --- all figures of one task type, on the stored answer shapes --------------------------------

# Landis & Koch (1977): the usual plain-language reading of kappa-like values (upper bounds).
BANDS = ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"))


def agreement_band(value: float | None) -> str | None:
    """The Landis & Koch band of a kappa or alpha value: poor, slight, ... almost_perfect."""
    if value is None:
        return None
    if value < 0:
        return "poor"
    return next((band for upper, band in BANDS if value <= upper), "almost_perfect")


def mean_defined(values) -> float | None:
    defined = [value for value in values if value is not None]
    return sum(defined) / len(defined) if defined else None


@dataclass(frozen=True)
class Measure:
    key: str
    value: float | None
    chance_corrected: bool = True

    @property
    def band(self) -> str | None:
        return agreement_band(self.value) if self.chance_corrected else None


@dataclass(frozen=True)
class PairScore:
    first: str
    second: str
    items: int
    score: float | None
    observed: float | None = None
    partial_f1: float | None = None


@dataclass(frozen=True)
class TaskAgreement:
    pair_measure: str
    measures: list[Measure]
    pairs: list[PairScore]
    per_label: dict


def answer_spans(value: Mapping) -> list[tuple]:
    return [(span["start"], span["end"], span["label"]) for span in value.get("spans", ())]


def task_agreement(task_type: str, ratings: Mapping, names: list[str]) -> TaskAgreement:
    """Every agreement figure of one task type, from ``{item: {annotator: answer}}``.

    Answers are the stored values, ``{"labels": [...]}`` or ``{"spans": [{start, end, label}]}``;
    ``task_type`` is "single_label", "multi_label" or "spans". Pairs score with Cohen's kappa,
    with the pooled kappa over labels (multi-label) or with exact-match F1 (spans).
    """
    if task_type == "spans":
        spans = {item: {a: answer_spans(v) for a, v in r.items()} for item, r in ratings.items()}
        f1 = span_pair_f1(spans)
        alpha = span_alpha(spans, names)
        pairs = [
            PairScore(p.first, p.second, p.items, p.exact_f1, partial_f1=p.partial_f1) for p in f1
        ]
        measures = [
            Measure("span_alpha", alpha["alpha"]),
            Measure("span_label_alpha_mean", alpha["mean"]),
            Measure("exact_f1_mean", mean_defined(p.exact_f1 for p in f1), chance_corrected=False),
            Measure("partial_f1_mean", mean_defined(p.partial_f1 for p in f1), chance_corrected=False),
        ]
        return TaskAgreement("exact_f1", measures, pairs, alpha["per_label"])
    if task_type == "multi_label":
        sets = {
            item: {a: set(v.get("labels", ())) for a, v in r.items()} for item, r in ratings.items()
        }
        kappas = multi_label_pair_kappa(sets, names)
        alpha = multi_label_alpha(sets, names)
        pairs = [
            PairScore(p.first, p.second, p.items, p.kappa, observed=p.observed) for p in kappas
        ]
        measures = [
            Measure("label_alpha_mean", alpha["mean"]),
            Measure("pooled_kappa_mean", mean_defined(p.kappa for p in kappas)),
        ]
        return TaskAgreement("pooled_kappa", measures, pairs, alpha["per_label"])
    single = {
        item: {a: (v.get("labels") or [None])[0] for a, v in r.items()}
        for item, r in ratings.items()
    }
    kappas = cohen_kappa_pairs(single)
    pairs = [PairScore(p.first, p.second, p.items, p.kappa, observed=p.observed) for p in kappas]
    measures = [
        Measure("krippendorff_alpha", krippendorff_alpha(single)),
        Measure("fleiss_kappa", fleiss_kappa(single)),
        Measure("cohen_kappa_mean", mean_defined(p.kappa for p in kappas)),
    ]
    # One label against the rest: how reliably annotators tell each label apart from the others.
    one_vs_rest = multi_label_alpha(
        {item: {a: {label} for a, label in r.items()} for item, r in single.items()}, names
    )
    return TaskAgreement("cohen_kappa", measures, pairs, one_vs_rest["per_label"])
