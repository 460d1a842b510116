"""Chance-corrected agreement between annotators, on plain dicts, with maintained libraries.

Ratings are ``{item_id: {annotator: value}}``. Single-label values are label names; multi-label
values are sets of names (scored per label as present/absent); span values are collections of
(start, end, label). Cohen's kappa comes from scikit-learn, Fleiss' kappa from statsmodels,
Krippendorff's alpha from the ``krippendorff`` package. A measure that is undefined for the
data (fewer than two items, one category only) is None, never a made-up number.
"""

from __future__ import annotations

import math
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
