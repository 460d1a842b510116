import pytest
import torch

from training.ml.batching import SPANS, LengthGroupedBatches, TrainingExample, collate, encode
from training.ml.spans import IGNORE_INDEX, Span, bio_tag_names, spans_to_tag_ids, tag_ids_to_spans

TEXT = "Ada Lovelace met Charles Babbage in London."
SPANS_GOLD = [Span(0, 12, "PER"), Span(17, 32, "PER"), Span(36, 42, "LOC")]
LABELS = ["PER", "LOC"]


def _offsets(tokenizer, text):
    return [tuple(pair) for pair in tokenizer(text, return_offsets_mapping=True)["offset_mapping"]]


def test_character_spans_survive_the_trip_to_bio_tags_and_back(tokenizer):
    names = bio_tag_names(LABELS)
    offsets = _offsets(tokenizer, TEXT)
    tags = spans_to_tag_ids(offsets, SPANS_GOLD, {name: i for i, name in enumerate(names)})
    assert tag_ids_to_spans(offsets, tags, names) == SPANS_GOLD


def test_special_tokens_are_ignored_by_the_loss_and_entities_start_with_b(tokenizer):
    names = bio_tag_names(LABELS)
    offsets = _offsets(tokenizer, TEXT)
    tags = [names[t] if t != IGNORE_INDEX else None for t in spans_to_tag_ids(offsets, SPANS_GOLD, {n: i for i, n in enumerate(names)})]
    assert tags[0] is None and tags[-1] is None
    assert tags[1:4] == ["B-PER", "I-PER", "I-PER"] or tags[1] == "B-PER"
    assert tags.count("B-PER") == 2 and tags.count("B-LOC") == 1


def test_every_sub_word_of_a_split_word_is_tagged_inside_the_entity(tokenizer):
    text = "Schwarzeneggerstrasse is long."
    offsets = _offsets(tokenizer, text)
    word_pieces = [o for o in offsets if o != (0, 0) and o[1] <= 21]
    assert len(word_pieces) > 1, "the test needs a word the tokenizer splits"
    names = bio_tag_names(["LOC"])
    tags = spans_to_tag_ids(offsets, [Span(0, 21, "LOC")], {n: i for i, n in enumerate(names)})
    tagged = [names[t] for t in tags if t != IGNORE_INDEX][: len(word_pieces)]
    assert tagged == ["B-LOC"] + ["I-LOC"] * (len(word_pieces) - 1)


def test_an_i_tag_without_a_matching_entity_starts_a_new_one():
    names = bio_tag_names(["PER", "LOC"])
    offsets = [(0, 0), (0, 3), (4, 8), (0, 0)]
    tags = [IGNORE_INDEX, names.index("I-PER"), names.index("I-LOC"), IGNORE_INDEX]
    assert tag_ids_to_spans(offsets, tags, names) == [Span(0, 3, "PER"), Span(4, 8, "LOC")]


def test_batches_are_padded_to_their_own_longest_row_only(tokenizer):
    examples = [TrainingExample("short", spans=()), TrainingExample("a somewhat longer sentence here", spans=())]
    rows = encode(tokenizer, examples, task=SPANS, labels=LABELS, max_length=64)
    batch = collate(rows[:1], task=SPANS, pad_token_id=0)
    assert batch["input_ids"].shape[1] == len(rows[0].input_ids)
    both = collate(rows, task=SPANS, pad_token_id=0)
    assert both["input_ids"].shape[1] == max(len(r.input_ids) for r in rows)
    assert (both["labels"][0, len(rows[0].input_ids):] == IGNORE_INDEX).all()
    assert both["attention_mask"].sum().item() == sum(len(r.input_ids) for r in rows)


def test_length_grouped_batches_cover_every_index_once_with_similar_lengths():
    lengths = [((i * 37) % 100) + 1 for i in range(1000)]
    batches = list(LengthGroupedBatches(lengths, batch_size=10, seed=1, group_factor=20))
    assert sorted(i for batch in batches for i in batch) == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 10, "batches should hold rows of similar length"


def test_length_grouped_batches_are_reproducible_per_seed_and_change_between_epochs():
    lengths = list(range(200))
    first, second = LengthGroupedBatches(lengths, batch_size=8, seed=3), LengthGroupedBatches(lengths, batch_size=8, seed=3)
    assert list(first) == list(second)
    assert list(first) != list(LengthGroupedBatches(lengths, batch_size=8, seed=3))


def test_a_single_label_example_without_exactly_one_label_is_refused(tokenizer):
    with pytest.raises(ValueError, match="exactly one label"):
        encode(tokenizer, [TrainingExample("x", labels=("a", "b"))], task="single_label", labels=["a", "b"], max_length=8)


def test_multi_label_targets_are_multi_hot_floats(tokenizer):
    rows = encode(tokenizer, [TrainingExample("x", labels=("b",))], task="multi_label", labels=["a", "b"], max_length=8)
    batch = collate(rows, task="multi_label", pad_token_id=0)
    assert batch["labels"].dtype == torch.float and batch["labels"].tolist() == [[0.0, 1.0]]
