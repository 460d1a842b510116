import numpy as np
import pytest

from training.ml.active.label_errors import label_issues, out_of_fold_proba

LABELS = ["a", "b", "c"]


def _separable(n_per: int = 100, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 16)) * 4
    X = np.vstack([centre + rng.normal(size=(n_per, 16)) for centre in centres])
    y = [label for label in LABELS for _ in range(n_per)]
    return X, y


def test_label_issues_finds_deliberately_flipped_labels():
    X, y = _separable()
    rng = np.random.default_rng(1)
    flipped = sorted(rng.choice(len(y), size=12, replace=False).tolist())
    noisy = list(y)
    for row in flipped:
        noisy[row] = LABELS[(LABELS.index(y[row]) + 1) % 3]
    found = label_issues(X, noisy, labels=LABELS, folds=5, seed=0)
    reported = [issue.index for issue in found]
    assert set(flipped) <= set(reported[:15])
    assert len(found) <= 20  # few false alarms on clean points
    for issue in found:
        if issue.index in flipped:
            assert issue.given == noisy[issue.index] and issue.suggested == y[issue.index]
            assert 0.0 <= issue.quality < 0.5
    qualities = [issue.quality for issue in found]
    assert qualities[0] <= qualities[-1] + 1e-9  # worst first


def test_out_of_fold_proba_never_sees_the_row_it_predicts():
    X, y = _separable(30)
    proba = out_of_fold_proba(X, y, labels=LABELS, folds=5)
    assert proba.shape == (90, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == np.repeat([0, 1, 2], 30)).mean() > 0.95


def test_label_issues_degrades_gracefully_on_small_data():
    X, y = _separable(3)
    # Three per label: fewer folds than asked, no crash.
    assert isinstance(label_issues(X, y, labels=LABELS, folds=5), list)
    # A label seen once cannot be cross-validated: its row is left out, the rest still checked.
    rows = [0, 1, 2, 3, 4, 5, 6]
    result = label_issues(X[rows], [y[row] for row in rows], labels=LABELS)
    assert all(issue.index != 6 for issue in result)
    # Only one label with two or more examples: nothing to compare.
    assert label_issues(X[:4], ["a", "a", "a", "b"], labels=LABELS) == []
    assert label_issues(X[:0], [], labels=LABELS) == []


def test_out_of_fold_proba_explains_what_cannot_be_cross_validated():
    X, y = _separable(3)
    with pytest.raises(ValueError, match=r"\['c'\] have fewer than 2"):
        out_of_fold_proba(X[:7], y[:7], labels=LABELS)
    with pytest.raises(ValueError, match="not one of"):
        out_of_fold_proba(X[:2], ["a", "z"], labels=LABELS)
