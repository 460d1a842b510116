import numpy as np
import pytest

from training.ml.active.coldstart import keyword_order, keyword_proba, zero_shot_proba

LABELS = ["sport", "politics", "science"]


def test_zero_shot_puts_most_mass_on_the_nearest_label():
    label_vectors = np.eye(3, 8)
    X = np.array([[0.9, 0.1, 0, 0, 0, 0, 0, 0], [0, 0.2, 1.0, 0, 0, 0, 0, 0]])
    proba = zero_shot_proba(X, label_vectors, multi_label=False)
    assert list(proba.argmax(axis=1)) == [0, 2]
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_zero_shot_multi_label_marks_labels_closer_than_average():
    label_vectors = np.eye(3, 4)
    X = np.array([[1.0, 1.0, 0.0, 0.1]])
    proba = zero_shot_proba(X, label_vectors, multi_label=True)
    assert proba[0, 0] > 0.5 and proba[0, 1] > 0.5 and proba[0, 2] < 0.5


def test_zero_shot_refuses_mismatched_dimensions():
    with pytest.raises(ValueError, match="dimensions"):
        zero_shot_proba(np.ones((2, 4)), np.ones((3, 5)), multi_label=False)


def test_keyword_proba_matches_whole_words_case_insensitively():
    texts = ["The FOOTBALL final", "footballer wins", "Parliament votes on football", "nothing here"]
    proba = keyword_proba(texts, {"sport": ["football"], "politics": ["parliament", "prime minister"]}, LABELS)
    assert list(proba[0]) == [1.0, 0.0, 0.0]
    assert np.allclose(proba[1], 1 / 3)  # "footballer" is not the word "football"
    assert list(proba[2]) == [0.5, 0.5, 0.0]
    assert np.allclose(proba[3], 1 / 3)
    phrase = keyword_proba(["the Prime\n minister spoke"], {"politics": ["prime minister"]}, LABELS)
    assert phrase[0, 1] == 1.0


def test_keyword_proba_is_none_without_keywords_and_names_unknown_labels():
    assert keyword_proba(["a"], {}, LABELS) is None
    assert keyword_proba(["a"], {"sport": ["", " "]}, LABELS) is None
    with pytest.raises(ValueError, match="weather"):
        keyword_proba(["a"], {"weather": ["rain"]}, LABELS)


def test_keyword_order_puts_seeded_items_first_taking_turns_between_labels():
    texts = ["goal", "goal goal", "vote", "nothing", "goal", "experiment", "plain"]
    proba = keyword_proba(
        texts, {"sport": ["goal"], "politics": ["vote"], "science": ["experiment"]}, LABELS
    )
    order = keyword_order(proba, rng=np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(7))
    first_round = [int(proba[index].argmax()) for index in order[:3]]
    assert sorted(first_round) == [0, 1, 2]
    assert set(order[:5]) == {0, 1, 2, 4, 5}
    assert set(order[5:]) == {3, 6}
