import pickle
import time

import numpy as np
import pytest

from training.ml.active.head import accuracy, head_fit

LABELS = ("sport", "politics", "science")


def _clusters(n_per: int, dim: int = 24, seed: int = 0, labels=LABELS):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(labels), dim)) * 3
    X = np.vstack([centre + rng.normal(size=(n_per, dim)) for centre in centres])
    y = [(label,) for label in labels for _ in range(n_per)]
    return X.astype(np.float32), y


def test_head_fit_is_none_on_cold_data():
    X, y = _clusters(5)
    assert head_fit(X[:0], [], labels=LABELS, multi_label=False) is None
    assert head_fit(X[:5], y[:5], labels=LABELS, multi_label=False) is None  # one label only
    assert head_fit(X[:3], [(), (), ()], labels=LABELS, multi_label=True) is None


def test_single_label_head_predicts_separable_clusters_with_rows_summing_to_one():
    X, y = _clusters(40)
    model = head_fit(X, y, labels=LABELS, multi_label=False, seed=0)
    proba = model.predict_proba(X)
    assert proba.shape == (120, 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert accuracy(model, X, y) > 0.95
    assert model.labels == LABELS and model.multi_label is False


def test_a_label_without_examples_gets_a_zero_column_in_its_place():
    X, y = _clusters(20)
    keep = [row for row, tags in enumerate(y) if tags[0] != "politics"]
    model = head_fit(X[keep], [y[row] for row in keep], labels=LABELS, multi_label=False)
    proba = model.predict_proba(X)
    assert np.all(proba[:, 1] == 0.0)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_head_model_survives_pickling():
    X, y = _clusters(10)
    model = head_fit(X, y, labels=LABELS, multi_label=False)
    again = pickle.loads(pickle.dumps(model))
    assert np.allclose(again.predict_proba(X), model.predict_proba(X))


def test_multi_label_head_gives_independent_probabilities_and_a_low_constant_for_unseen_labels():
    X, y = _clusters(30)
    # Items of the first cluster also carry "politics"; nobody ever marks "science".
    tags = [("sport", "politics") if t[0] == "sport" else (("politics",) if t[0] == "politics" else ()) for t in y]
    model = head_fit(X, tags, labels=LABELS, multi_label=True)
    proba = model.predict_proba(X)
    assert proba.shape == (90, 3)
    assert np.all(proba[:, 2] == proba[0, 2]) and proba[0, 2] < 0.05
    assert proba[:30, 0].min() > 0.5 and proba[30:, 0].max() < 0.5
    assert proba[:60, 1].min() > 0.5 and proba[60:, 1].max() < 0.5
    assert model.predict(X[:1]) == [("sport", "politics")]
    assert accuracy(model, X, tags) > 0.95


def test_head_fit_names_the_bad_row():
    X, y = _clusters(2)
    with pytest.raises(ValueError, match=r"y\[1\].*'weather'"):
        head_fit(X[:2], [("sport",), ("weather",)], labels=LABELS, multi_label=False)
    with pytest.raises(ValueError, match=r"y\[0\] is the string"):
        head_fit(X[:1], ["sport"], labels=LABELS, multi_label=False)
    with pytest.raises(ValueError, match="3 embeddings but 2"):
        head_fit(X[:3], y[:2], labels=LABELS, multi_label=False)


def test_accuracy_is_zero_without_a_model():
    X, y = _clusters(2)
    assert accuracy(None, X, y) == 0.0


def test_head_fits_and_scores_ten_thousand_embeddings_within_two_cpu_seconds():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(6, 384))
    assigned = rng.integers(0, 6, size=10_000)
    X = (centres[assigned] * 0.2 + rng.normal(size=(10_000, 384))).astype(np.float32)
    labels = [f"label{index}" for index in range(6)]
    y = [(labels[index],) for index in assigned]
    started = time.process_time()  # CPU time: other jobs on the machine do not count
    model = head_fit(X, y, labels=labels, multi_label=False)
    model.predict_proba(X)
    assert time.process_time() - started < 2.0
