import os
import subprocess
import sys
from pathlib import Path

import pytest

from training.ml.encoder import encoder_load
from training.ml.preannotate import (
    LOGISTIC_REGRESSION,
    ZERO_SHOT,
    Example,
    LabelSpec,
    method_choose,
    preannotate,
    preannotator_build,
)

SENTIMENT = [
    LabelSpec("positive", "The writer is pleased, happy or approving."),
    LabelSpec("negative", "The writer is unhappy, angry or critical."),
]
COOKING = [
    "Stir the onions into the pan and let them brown slowly.",
    "Knead the dough for ten minutes before it rises.",
    "Season the soup with salt, pepper and fresh basil.",
    "Bake the cake at 180 degrees for forty minutes.",
    "Chop the garlic finely and fry it in olive oil.",
]
FOOTBALL = [
    "The striker scored twice in the second half.",
    "The goalkeeper saved a penalty in the final minute.",
    "The referee showed a red card to the defender.",
    "The team won the league after a long season.",
    "The coach changed the formation at half time.",
]


@pytest.fixture(scope="module")
def encoder():
    return encoder_load(device="cpu")


def test_zero_shot_picks_positive_for_an_obviously_positive_sentence(encoder):
    result = preannotate(["What a fantastic day, I am so happy with this!"], encoder=encoder, labels=SENTIMENT)
    assert result.method == ZERO_SHOT
    assert result.suggestions[0].labels == ("positive",)
    assert 0.5 < result.suggestions[0].score <= 1.0


def test_zero_shot_proposes_one_label_per_text_with_a_probability_like_score(encoder):
    texts = ["The parcel arrived broken.", "I love it.", "It rained."]
    result = preannotate(texts, encoder=encoder, labels=SENTIMENT, multi_label=True)
    assert len(result.suggestions) == 3
    for suggestion in result.suggestions:
        assert len(suggestion.labels) == 1 and suggestion.labels[0] in {"positive", "negative"}
        assert 0.0 <= suggestion.score <= 1.0


def test_the_logistic_head_waits_until_two_labels_have_enough_examples():
    names = ["a", "b", "c"]
    few = [Example("x", ("a",))] * 5 + [Example("y", ("b",))] * 4
    assert method_choose(examples=few, label_names=names, min_examples_per_label=5) == ZERO_SHOT
    enough = few + [Example("y", ("b",))]
    assert method_choose(examples=enough, label_names=names, min_examples_per_label=5) == LOGISTIC_REGRESSION


def test_examples_of_deleted_labels_do_not_count_towards_the_head():
    examples = [Example("x", ("a",))] * 5 + [Example("y", ("gone",))] * 5
    assert method_choose(examples=examples, label_names=["a", "b"], min_examples_per_label=5) == ZERO_SHOT


def test_the_logistic_head_learns_a_separable_case_that_label_names_give_no_hint_of(encoder):
    labels = [LabelSpec("A"), LabelSpec("B"), LabelSpec("C")]
    examples = [Example(text, ("A",)) for text in COOKING] + [Example(text, ("B",)) for text in FOOTBALL]
    result = preannotate(
        ["Whisk the eggs with sugar until pale.", "The midfielder passed the ball to the winger."],
        encoder=encoder,
        labels=labels,
        examples=examples,
        min_examples_per_label=5,
    )
    assert result.method == LOGISTIC_REGRESSION
    assert result.examples_used == 10
    assert [suggestion.labels for suggestion in result.suggestions] == [("A",), ("B",)]
    assert all(suggestion.score > 0.5 for suggestion in result.suggestions)


def test_the_multi_label_head_proposes_every_label_at_or_above_one_half(encoder):
    labels = [LabelSpec("food"), LabelSpec("sport")]
    examples = (
        [Example(text, ("food",)) for text in COOKING]
        + [Example(text, ("sport",)) for text in FOOTBALL]
        + [Example(f"{a} {b}", ("food", "sport")) for a, b in zip(COOKING, FOOTBALL)]
    )
    preannotator = preannotator_build(
        encoder=encoder, labels=labels, examples=examples, multi_label=True, min_examples_per_label=5
    )
    [food_only, both] = preannotator.predict(
        [
            "Roast the chicken with lemon and thyme.",
            "After the match the players ate pasta with tomato sauce and grilled fish.",
        ]
    )
    assert preannotator.method == LOGISTIC_REGRESSION
    assert food_only.labels == ("food",)
    assert set(both.labels) == {"food", "sport"} and both.score >= 0.5


def test_a_project_without_labels_is_refused(encoder):
    with pytest.raises(ValueError, match="no labels"):
        preannotator_build(encoder=encoder, labels=[])


def test_the_ml_core_imports_without_django():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import sys, training.ml.encoder, training.ml.preannotate; "
        "assert 'django' not in sys.modules, sorted(m for m in sys.modules if m.startswith('django'))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
