import numpy as np
import pytest

from training.ml.active.control import control_mask, interleave


def test_control_mask_takes_about_the_fraction_of_ten_thousand_ids():
    mask = control_mask(np.arange(1, 10_001), fraction=0.1, salt=b"project-7")
    assert 0.09 <= mask.mean() <= 0.11


def test_control_mask_is_deterministic_per_salt_and_id():
    ids = np.arange(5_000)
    first = control_mask(ids, fraction=0.2, salt=b"a")
    assert np.array_equal(first, control_mask(ids, fraction=0.2, salt=b"a"))
    # The same id keeps its answer whatever else is in the pool.
    assert np.array_equal(first[::-1], control_mask(ids[::-1], fraction=0.2, salt=b"a"))
    assert not np.array_equal(first, control_mask(ids, fraction=0.2, salt=b"b"))


def test_control_mask_grows_monotonically_with_the_fraction():
    ids = np.arange(2_000)
    small = control_mask(ids, fraction=0.05, salt=b"s")
    large = control_mask(ids, fraction=0.3, salt=b"s")
    assert np.all(large[small])


def test_control_mask_edges_and_bad_input():
    ids = np.arange(100)
    assert not control_mask(ids, fraction=0.0, salt=b"s").any()
    assert control_mask(ids, fraction=1.0, salt=b"s").all()
    assert control_mask(ids, fraction=0.5, salt=b"x" * 200).shape == (100,)
    with pytest.raises(ValueError, match="fraction"):
        control_mask(ids, fraction=1.5, salt=b"s")
    with pytest.raises(ValueError, match="bytes"):
        control_mask(ids, fraction=0.1, salt="text")


def test_interleave_keeps_the_control_share_in_every_prefix():
    ranked = np.arange(0, 90)
    control = np.arange(100, 110)
    merged = interleave(ranked, control, fraction=0.1, rng=np.random.default_rng(0))
    assert sorted(merged.tolist()) == sorted(ranked.tolist() + control.tolist())
    is_control = merged >= 100
    for length in range(1, merged.shape[0] + 1):
        assert int(is_control[:length].sum()) == int(length * 0.1 + 1e-9)
    assert list(merged[~is_control]) == list(ranked)  # ranked order is kept
    assert list(merged[is_control]) != list(control)  # control comes in random order


def test_interleave_appends_the_leftover_of_either_list():
    rng = np.random.default_rng(0)
    few_control = interleave(np.arange(50), np.array([100]), fraction=0.25, rng=rng)
    assert few_control[3] == 100 and list(few_control[4:]) == list(range(3, 50))
    few_ranked = interleave(np.array([0, 1]), np.arange(100, 105), fraction=0.1, rng=rng)
    assert list(few_ranked[:2]) == [0, 1] and sorted(few_ranked[2:]) == list(range(100, 105))


def test_interleave_counts_an_index_in_both_lists_once_as_control():
    merged = interleave(np.array([0, 1, 2, 3]), np.array([2]), fraction=0.5, rng=np.random.default_rng(0))
    assert list(merged) == [0, 2, 1, 3]
