"""Evaluation reports that say how far to trust them: each score with a 95 % interval and its item count.

Classification is scored by macro-F1 (every class counts the same, so a model that ignores a rare
class cannot hide behind accuracy); spans by entity F1 (seqeval's CoNLL rules over whitespace
words). Every report also says whether its split is **too small** to tell models apart and whether
the model is **degenerate** (it learned nothing: one answer for everything, or never finds a class
the data has). Callers show both flags beside the numbers; this module only computes them.

Intervals are percentile bootstraps over items (texts for spans): ``resamples`` resamples with
replacement from a fixed ``seed``, all computed at once from per-item true/false positive and false
negative counts, so 1,000 resamples of 5,000 items cost a few matrix products. Accuracy gets the
Wilson score interval instead, which stays inside [0, 1] and is not empty at 0/n or n/n.

Pure numpy, scikit-learn and seqeval: no Django, no torch.

The package: `counts` (per-item counts, F1 from counts, bootstrap and Wilson intervals),
`reports` (the three reports and their flags), `comparison` (two models on the same items, and
the multi-label threshold). Callers import from here.
"""

from training.ml.evaluate.comparison import best_threshold, paired_comparison
from training.ml.evaluate.counts import (
    CONFIDENCE,
    DEGENERATE_MIN_SUPPORT,
    MIN_ITEMS,
    MIN_PER_CLASS,
    MULTI_LABEL,
    RESAMPLES,
    SINGLE_LABEL,
    SPANS,
    wilson_interval,
    word_bio,
)
from training.ml.evaluate.reports import (
    multi_label_metrics,
    primary_metric_name,
    report,
    single_label_metrics,
    span_metrics,
)

__all__ = [
    "CONFIDENCE",
    "DEGENERATE_MIN_SUPPORT",
    "MIN_ITEMS",
    "MIN_PER_CLASS",
    "MULTI_LABEL",
    "RESAMPLES",
    "SINGLE_LABEL",
    "SPANS",
    "best_threshold",
    "multi_label_metrics",
    "paired_comparison",
    "primary_metric_name",
    "report",
    "single_label_metrics",
    "span_metrics",
    "wilson_interval",
    "word_bio",
]
