"""Stopping hint: the model has stopped changing its predictions on a fixed unlabelled sample.

Bloodgood & Vijay-Shanker (2009), "A method for stopping active learning based on
stabilizing predictions": stop once Cohen's kappa between successive models' predictions on
a stop set stays above a threshold for a few rounds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import cohen_kappa_score


def prediction_agreement(previous: np.ndarray, current: np.ndarray) -> float:
    """Cohen's kappa between two models' predictions on the same stop set.

    Multi-label predictions (2-D, items x labels) are compared label by label. Identical
    predictions score 1.0, even when constant (where kappa itself is undefined).
    """
    previous, current = np.asarray(previous), np.asarray(current)
    if previous.shape != current.shape:
        raise ValueError(f"predictions differ in shape: {previous.shape} and {current.shape}.")
    previous, current = previous.reshape(-1), current.reshape(-1)
    if previous.shape[0] == 0 or np.array_equal(previous, current):
        return 1.0
    kappa = cohen_kappa_score(previous, current)
    # Both constant but different: no agreement beyond chance can be claimed.
    return 0.0 if np.isnan(kappa) else float(kappa)


def has_stopped(history: Sequence[float], *, threshold: float = 0.99, window: int = 3) -> bool:
    """True when the last ``window`` agreements all reach ``threshold``."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}.")
    recent = list(history)[-window:]
    return len(recent) == window and all(value >= threshold for value in recent)
