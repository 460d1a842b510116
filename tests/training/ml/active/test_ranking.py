import numpy as np
import pytest

from training.ml.active.control import control_mask
from training.ml.active.ranking import (
    LabelText,
    ModelScores,
    RankingInputs,
    pool_rank,
    scorer_choose,
)

# Labelled items 1-4 sit near "pos", 5-8 near "neg"; the pool is 9-13, with 11 halfway between.
POS, NEG, OTHER = np.eye(3)
IDS = np.arange(1, 14, dtype=np.int64)
X = np.array(
    [POS + 0.05 * OTHER * k for k in range(4)]
    + [NEG + 0.05 * OTHER * k for k in range(4)]
    + [POS + 0.1 * NEG, NEG + 0.1 * POS, POS + NEG, POS + 0.2 * NEG, NEG + 0.2 * POS]
)
POOL = np.arange(9, 14, dtype=np.int64)
LABELLED = {**{i: ("pos",) for i in range(1, 5)}, **{i: ("neg",) for i in range(5, 9)}}
LABELS = (LabelText("pos", "The writer is pleased."), LabelText("neg"))
BETWEEN = 11


def never(*args):
    raise AssertionError(
        f"a costly loader was called with {args}, yet this scorer does not need it"
    )


def rank(texts_of=never, encode=never, seed=0, **changes):
    base = {
        "ids": IDS,
        "embeddings": X,
        "pool": POOL,
        "labelled": LABELLED,
        "labels": LABELS,
        "strategy": "least_confidence",
        "control_fraction": 0.0,
        "salt": b"test-salt",
    }
    inputs = RankingInputs(**{**base, **changes})
    return pool_rank(inputs, texts_of=texts_of, encode=encode, rng=np.random.default_rng(seed))


def queue(ranking) -> list[int]:
    return ranking.pool_ids[ranking.order].tolist()


BASE_CHOICE = {
    "strategy": "margin",
    "spans": False,
    "has_model": False,
    "has_head": False,
    "has_keywords": False,
    "has_labels": True,
}


@pytest.mark.parametrize(
    "changes, scorer",
    [
        (
            {"strategy": "random", "has_model": True, "has_head": True, "has_keywords": True},
            "random",
        ),
        ({"has_model": True, "has_head": True, "has_keywords": True, "spans": True}, "model"),
        ({"spans": True, "has_head": True, "has_keywords": True}, "diversity"),
        ({"has_head": True, "has_keywords": True}, "head"),
        ({"has_keywords": True}, "keywords"),
        ({}, "zero_shot"),
        ({"has_labels": False}, "random"),
    ],
)
def test_the_scorer_is_the_first_rule_that_applies(changes, scorer):
    assert scorer_choose(**{**BASE_CHOICE, **changes}) == scorer


@pytest.mark.parametrize("strategy", ["least_confidence", "margin", "entropy", "diversity"])
def test_the_head_puts_the_item_between_the_labels_first(strategy):
    ranking = rank(strategy=strategy)

    assert (ranking.scored_by, ranking.by_model) == ("head", False)
    assert queue(ranking)[0] == BETWEEN and sorted(queue(ranking)) == POOL.tolist()
    assert ranking.labels == 8 and ranking.texts_read == 0
    assert list(ranking.phases) == ["fit", "score"]


def test_a_head_chooses_a_stop_set_once_and_predicts_it():
    first = rank()
    assert first.stop_set == POOL.tolist()
    assert first.stop_predictions.tolist() == [
        0,
        1,
        first.stop_predictions[2],
        0,
        1,
    ]  # columns: pos, neg

    # Item 9 was erased since: it leaves the stop set, which is not drawn again.
    later = rank(ids=IDS[IDS != 9], embeddings=X[IDS != 9], stop_set=first.stop_set)
    assert later.stop_set == [10, 11, 12, 13]


def test_the_control_slice_is_interleaved_and_measures_the_head_on_its_labels():
    ranking = rank(control_fraction=0.5)

    # With this salt, pool items 9 and 11 and labelled items 1, 3, 4, 5 and 7 are in the slice.
    assert ranking.control.tolist() == control_mask(POOL, fraction=0.5, salt=b"test-salt").tolist()
    assert ranking.control.tolist() == [True, False, True, False, False]
    assert ranking.control_labels == 5 and ranking.accuracy == 1.0
    assert ranking.control[ranking.order].tolist() == [False, True, False, True, False]


def test_the_active_models_stored_probabilities_rank_the_pool_and_unscored_items_count_as_unsure():
    scores = {
        9: {"pos": 0.9, "neg": 0.1},
        10: {"pos": 0.4, "neg": 0.6},
        12: {"pos": 0.99, "neg": 0.01},
    }
    ranking = rank(model=ModelScores("sentiment-v3", scores), labels=LABELS)

    assert (ranking.scored_by, ranking.by_model) == ("sentiment-v3", True)
    assert queue(ranking)[:2] in ([11, 13], [13, 11])  # never scored: uniform, the least certain
    assert queue(ranking)[2:] == [10, 9, 12]


def test_a_model_that_stored_nothing_for_the_pool_leaves_the_ranking_to_the_head():
    ranking = rank(model=ModelScores("sentiment-v3", {}))

    assert (ranking.scored_by, ranking.by_model) == ("head", False)


def test_a_span_model_ranks_by_the_largest_token_entropy_and_unread_documents_get_the_mean():
    scores = {
        9: {"token_entropy_max": 0.1},
        10: {"token_entropy_max": 0.9},
        12: {"token_entropy_max": 0.3},
    }
    ranking = rank(
        model=ModelScores("ner-v1", scores), spans=True, labels=(LabelText("PER"), LabelText("ORG"))
    )

    assert ranking.scored_by == "ner-v1" and ranking.stop_set == [] and ranking.accuracy is None
    assert queue(ranking)[0] == 10 and queue(ranking)[-1] == 9  # 11 and 13 sit at the mean, 0.43


def test_spans_without_a_model_spread_the_first_picks_over_the_embedding_space():
    # Items 9 and 12 become near-duplicates: the second of them adds nothing new.
    embeddings = X.copy()
    embeddings[IDS == 12] = embeddings[IDS == 9] + 0.001
    ranking = rank(spans=True, embeddings=embeddings, labels=(LabelText("PER"), LabelText("ORG")))

    assert ranking.scored_by == "diversity" and ranking.stop_predictions is None
    # Each pick is the item farthest from those before it: one of the duplicates comes last.
    assert queue(ranking)[-1] in (9, 12)


def test_seed_keywords_read_only_the_ranked_pool_texts_and_put_matches_first():
    labels = (LabelText("pos", keywords=("lovely",)), LabelText("neg", keywords=("refund", "scam")))
    texts = {
        10: "A lovely shop.",
        11: "My refund never came.",
        12: "Fine.",
        13: "The train leaves at noon.",
    }
    asked = []

    def texts_of(ids):
        asked.append(list(ids))
        return {i: texts[i] for i in ids}

    # With this salt, item 9 is the control slice at 0.4: its text is not needed.
    ranking = rank(labelled={}, labels=labels, texts_of=texts_of, control_fraction=0.4)

    assert ranking.scored_by == "keywords"
    assert asked == [[10, 11, 12, 13]] and ranking.texts_read == 4
    assert set(queue(ranking)[:2]) == {10, 11} and queue(ranking)[2] == 9


def test_blank_seed_keywords_do_not_read_texts():
    labels = (LabelText("pos", keywords=(" ",)), LabelText("neg"))
    ranking = rank(labelled={}, labels=labels, encode=lambda prompts: np.array([POS, NEG]))

    assert ranking.scored_by == "zero_shot" and ranking.texts_read == 0


def test_zero_shot_encodes_the_label_names_with_their_descriptions():
    encoded = []

    def encode(prompts):
        encoded.append(prompts)
        return np.array([POS, NEG])

    ranking = rank(labelled={}, encode=encode)

    assert encoded == [("pos: The writer is pleased.", "neg")]
    assert ranking.scored_by == "zero_shot" and queue(ranking)[0] == BETWEEN
    assert ranking.stop_set == [] and ranking.accuracy is None


def test_a_single_label_has_no_head_and_is_ranked_zero_shot():
    ranking = rank(labels=(LabelText("pos"),), encode=lambda prompts: np.array([POS]))

    assert ranking.scored_by == "zero_shot" and ranking.stop_predictions is None


def test_without_labels_the_pool_is_shuffled():
    ranking = rank(labelled={}, labels=())

    assert ranking.scored_by == "random" and sorted(queue(ranking)) == POOL.tolist()
    assert queue(ranking) == queue(
        rank(labelled={}, labels=())
    )  # the same generator, the same order


def test_the_random_strategy_ignores_the_model_yet_still_fits_the_head_for_the_curve():
    ranking = rank(
        strategy="random", model=ModelScores("sentiment-v3", {9: {"pos": 0.5, "neg": 0.5}})
    )

    assert (ranking.scored_by, ranking.by_model) == ("random", False)
    assert ranking.stop_set == POOL.tolist()


def test_nothing_embedded_yet_ranks_nothing_and_counts_what_is_missing():
    ranking = rank(ids=np.zeros(0, dtype=np.int64), embeddings=np.zeros((0, 3)))

    assert ranking.scored_by == "" and ranking.order.size == 0 and ranking.pool_ids.size == 0
    assert (ranking.missing_embeddings, ranking.labels, ranking.phases) == (5, 8, {})


def test_pool_items_without_embeddings_are_left_out_and_counted():
    ranking = rank(pool=np.array([9, 10, 11, 40, 41], dtype=np.int64))

    assert sorted(queue(ranking)) == [9, 10, 11] and ranking.missing_embeddings == 2
