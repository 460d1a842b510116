import numpy as np
import pytest

from training.ml.active.stopping import has_stopped, prediction_agreement


def test_agreement_is_one_for_identical_predictions_even_constant_ones():
    assert prediction_agreement(np.array([1, 1, 1]), np.array([1, 1, 1])) == 1.0
    assert prediction_agreement(np.array(["a", "b"]), np.array(["a", "b"])) == 1.0


def test_agreement_is_cohens_kappa_otherwise():
    previous = np.array([0, 0, 1, 1])
    current = np.array([0, 1, 1, 1])
    assert prediction_agreement(previous, current) == pytest.approx(0.5)
    assert prediction_agreement(np.zeros(3), np.ones(3)) == 0.0


def test_agreement_compares_multi_label_predictions_label_by_label():
    previous = np.array([[1, 0], [0, 1]])
    assert prediction_agreement(previous, previous.copy()) == 1.0
    assert prediction_agreement(previous, np.array([[1, 0], [0, 0]])) < 1.0
    with pytest.raises(ValueError, match="shape"):
        prediction_agreement(previous, np.array([1, 0]))


def test_has_stopped_needs_a_full_window_above_the_threshold():
    assert not has_stopped([0.995, 0.999], threshold=0.99, window=3)
    assert not has_stopped([0.5, 0.995, 0.98, 0.999, 0.999], threshold=0.99, window=3)
    assert has_stopped([0.5, 0.98, 0.995, 0.999, 0.991], threshold=0.99, window=3)
    assert not has_stopped([], window=1)
