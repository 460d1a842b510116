import numpy as np
import pytest

from training.ml.active.strategies import STRATEGIES, select_order, token_uncertainty, uncertainty


def test_least_confidence_picks_the_flattest_row():
    proba = np.array([[0.9, 0.05, 0.05], [0.4, 0.3, 0.3], [0.6, 0.3, 0.1]])
    scores = uncertainty(proba, strategy="least_confidence", multi_label=False)
    assert np.argmax(scores) == 1
    assert scores == pytest.approx([0.1, 0.6, 0.4])


def test_margin_picks_the_closest_top_two():
    # Row 1 has the lower maximum, row 2 the closer top two: margin and least confidence disagree.
    proba = np.array([[0.8, 0.1, 0.1], [0.5, 0.25, 0.25], [0.55, 0.45, 0.0]])
    margin = uncertainty(proba, strategy="margin", multi_label=False)
    assert np.argmax(margin) == 2
    assert margin == pytest.approx([0.3, 0.75, 0.9])
    assert np.argmax(uncertainty(proba, strategy="least_confidence", multi_label=False)) == 1


def test_margin_scores_a_tie_as_one():
    scores = uncertainty(np.array([[0.4, 0.4, 0.2], [0.45, 0.45, 0.1]]), strategy="margin", multi_label=False)
    assert scores == pytest.approx([1.0, 1.0])


def test_select_order_breaks_ties_at_random_but_keeps_the_rest_sorted():
    scores = np.array([1.0, 0.2, 1.0, 1.0, 0.5])
    firsts = set()
    for seed in range(30):
        order = select_order(strategy="margin", scores=scores, embeddings=None, rng=np.random.default_rng(seed))
        assert set(order[:3]) == {0, 2, 3}
        assert list(order[3:]) == [4, 1]
        firsts.add(int(order[0]))
    assert firsts == {0, 2, 3}


def test_entropy_is_normalised_and_peaks_on_the_uniform_row():
    proba = np.array([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]])
    scores = uncertainty(proba, strategy="entropy", multi_label=False)
    assert scores == pytest.approx([0.0, 1.0, 0.6781], abs=1e-3)


def test_multi_label_uncertainty_averages_each_labels_binary_uncertainty():
    # Row 0 is sure of both labels, row 1 unsure of one, row 2 unsure of both.
    proba = np.array([[0.99, 0.01], [0.5, 0.01], [0.5, 0.5]])
    for strategy in ("least_confidence", "margin", "entropy"):
        scores = uncertainty(proba, strategy=strategy, multi_label=True)
        assert list(np.argsort(scores)) == [0, 1, 2], strategy
    assert uncertainty(proba, strategy="margin", multi_label=True)[2] == pytest.approx(1.0)
    assert uncertainty(proba, strategy="least_confidence", multi_label=True)[1] == pytest.approx(0.255)


def test_random_scores_every_item_the_same():
    proba = np.array([[0.9, 0.1], [0.5, 0.5]])
    assert list(uncertainty(proba, strategy="random", multi_label=False)) == [0.0, 0.0]


def test_diversity_scores_by_entropy():
    proba = np.array([[0.9, 0.1], [0.6, 0.4]])
    assert uncertainty(proba, strategy="diversity", multi_label=False) == pytest.approx(
        uncertainty(proba, strategy="entropy", multi_label=False)
    )


def test_unknown_strategy_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="least_confidence"):
        uncertainty(np.array([[0.5, 0.5]]), strategy="smallest", multi_label=False)


def test_token_mean_prefers_a_doubtful_sentence_and_max_a_single_doubtful_token():
    sure, unsure, half = [0.98, 0.01, 0.01], [0.34, 0.33, 0.33], [0.6, 0.3, 0.1]
    one_doubt = np.array([sure] * 9 + [unsure])  # one very uncertain token among sure ones
    evenly = np.array([half] * 4)  # every token a bit uncertain
    token_proba = [one_doubt, evenly]
    mean = token_uncertainty(token_proba, strategy="least_confidence", aggregate="mean")
    top = token_uncertainty(token_proba, strategy="least_confidence", aggregate="max")
    assert mean[1] > mean[0]
    assert top[0] > top[1]


def test_token_uncertainty_scores_a_document_without_tokens_zero():
    scores = token_uncertainty(
        [np.zeros((0, 3)), np.array([[0.5, 0.5, 0.0]])], strategy="entropy", aggregate="sum_top"
    )
    assert scores[0] == 0.0 and scores[1] > 0.0


def test_select_order_handles_an_empty_pool_and_no_scores():
    rng = np.random.default_rng(0)
    assert select_order(strategy="entropy", scores=np.zeros(0), embeddings=None, rng=rng).size == 0
    order = select_order(strategy="entropy", scores=None, embeddings=np.eye(4), rng=rng)
    assert sorted(order) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="pool"):
        select_order(strategy="random", scores=None, embeddings=None, rng=rng)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_returns_a_permutation_even_below_one_batch(strategy):
    rng = np.random.default_rng(1)
    embeddings = rng.normal(size=(7, 5))
    scores = rng.random(7)
    order = select_order(strategy=strategy, scores=scores, embeddings=embeddings, rng=rng, batch_size=50)
    assert sorted(order.tolist()) == list(range(7))


def test_random_order_follows_the_generator():
    a = select_order(strategy="random", scores=np.ones(20), embeddings=None, rng=np.random.default_rng(3))
    b = select_order(strategy="random", scores=np.ones(20), embeddings=None, rng=np.random.default_rng(3))
    assert list(a) == list(b) and list(a) != list(range(20))


def test_diversity_does_not_pick_two_near_duplicates_in_one_batch():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(6, 16))
    # Items 0 and 1 are near-duplicates and the two most uncertain; item 2 is distinct and
    # almost as uncertain. Uncertainty alone takes 0 and 1 together; diversity takes 0 and 2.
    embeddings = np.vstack([base[0], base[0] + 1e-3, base[1], base[2], base[3], base[4]])
    scores = np.array([0.95, 0.94, 0.93, 0.2, 0.1, 0.05])
    by_margin = select_order(strategy="margin", scores=scores, embeddings=embeddings, rng=rng, batch_size=2)
    assert set(by_margin[:2]) == {0, 1}
    diverse = select_order(strategy="diversity", scores=scores, embeddings=embeddings, rng=rng, batch_size=2)
    assert set(diverse[:2]) == {0, 2}
    assert sorted(diverse.tolist()) == list(range(6))
    assert diverse[2] == 1  # the rest follows by uncertainty


def test_diversity_spreads_a_batch_over_clusters():
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(5, 32)) * 5
    embeddings = np.vstack([centre + rng.normal(scale=0.05, size=(20, 32)) for centre in centres])
    scores = 0.8 + rng.random(100) * 0.1  # all similarly uncertain
    order = select_order(strategy="diversity", scores=scores, embeddings=embeddings, rng=rng, batch_size=5)
    assert sorted(int(index) // 20 for index in order[:5]) == [0, 1, 2, 3, 4]
