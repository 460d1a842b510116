import pickle

import numpy as np
import pytest
from datasketch import MinHash

from annotation.pipeline.neardup import (
    MemoryKeeperStore,
    NearDupConfig,
    NearDupIndex,
    NearDupMatch,
    neardup_groups,
)

KEY = b"project-7-neardup-key-0123456789"

BASE = "The delivery arrived two days late and the box was completely crushed."
VARIANTS = [
    "the delivery arrived two days late and the box was completely crushed!!",  # case, punctuation
    "The delivery arived two days late and the box was completely crushed.",  # typo
    "The delivery arrived two days late and the box was completely crushed. Sad.",  # appended word
]
UNRELATED = [
    "Customer service answered quickly and refunded me within the hour.",
    "The delivery was on time and the packaging was perfect.",
    "I would like to change the address on my account, please.",
]


def index(**config) -> NearDupIndex:
    return NearDupIndex(NearDupConfig(**config), hash_key=KEY)


def test_near_identical_sentences_are_linked_to_the_first_one_as_keeper():
    idx = index()
    matches = idx.add_many([(1, BASE), *((10 + i, text) for i, text in enumerate(VARIANTS))])
    assert matches[0] == NearDupMatch(1, 1, 1.0)
    assert [m.keeper for m in matches[1:]] == [1, 1, 1]
    assert all(m.similarity >= idx.config.threshold and not m.is_keeper for m in matches[1:])


def test_different_sentences_each_start_their_own_group():
    idx = index()
    matches = idx.add_many([(1, BASE), *((20 + i, text) for i, text in enumerate(UNRELATED))])
    assert all(m.is_keeper for m in matches)
    assert len(idx) == 4


def test_texts_added_one_at_a_time_are_grouped_like_a_batch():
    idx = index()
    idx.add("a", BASE)
    assert idx.add("b", UNRELATED[0]).is_keeper
    assert idx.add("c", VARIANTS[1]).keeper == "a"


def test_groups_report_lists_the_linked_keys_under_their_keeper():
    idx = index()
    matches = idx.add_many([(1, BASE), (2, UNRELATED[0]), (3, VARIANTS[0]), (4, VARIANTS[2])])
    assert neardup_groups(matches) == {1: [3, 4]}


def test_word_shingles_group_a_replaced_word_and_keep_unrelated_apart():
    idx = index(shingle="word", ngram=1, threshold=0.7)
    matches = idx.add_many(
        [
            (1, BASE),
            (2, BASE.replace("crushed", "damaged")),
            (3, UNRELATED[1]),
        ]
    )
    assert [m.keeper for m in matches] == [1, 1, 3]


def test_a_higher_threshold_separates_what_a_lower_one_groups():
    pair = [(1, BASE), (2, BASE.replace("completely crushed", "slightly dented"))]
    assert index(threshold=0.5).add_many(pair)[1].keeper == 1
    assert index(threshold=0.95).add_many(pair)[1].is_keeper


def test_signatures_equal_datasketch_minhash_of_the_same_shingle_hashes():
    idx = index(num_perm=64)
    texts = [BASE, UNRELATED[0], "x"]
    ours = idx.signatures(texts)
    for text, signature in zip(texts, ours, strict=True):
        reference = MinHash(num_perm=64, seed=1, hashfunc=int)
        reference.update_batch(idx._shingle_hashes(text).tolist())
        assert np.array_equal(signature, reference.hashvalues)


def test_signatures_depend_on_the_project_key():
    first = NearDupIndex(hash_key=KEY).signatures([BASE])[0]
    again = NearDupIndex(hash_key=KEY).signatures([BASE])[0]
    other = NearDupIndex(hash_key=b"another-project-key-987654321000").signatures([BASE])[0]
    assert np.array_equal(first, again)
    assert (first == other).mean() < 0.2


def test_a_text_without_word_characters_is_its_own_group_and_not_indexed():
    idx = index()
    assert idx.add(1, "!!! ...") == NearDupMatch(1, 1, 1.0)
    assert idx.add(2, "?? !!").is_keeper
    assert len(idx) == 0


def test_an_index_over_a_filled_store_keeps_grouping_against_its_keepers():
    store = MemoryKeeperStore()
    NearDupIndex(hash_key=KEY, store=store).add_many([(1, BASE), (2, UNRELATED[0])])
    later = NearDupIndex(hash_key=KEY, store=store)
    assert len(later) == 2
    assert later.add(3, VARIANTS[1]).keeper == 1
    assert later.add(4, UNRELATED[2]).is_keeper


def test_band_keys_hold_neither_the_text_nor_the_key_and_depend_on_the_key():
    idx = index()
    signatures = np.stack(idx.signatures([BASE, "Reach me at alice.martin@example.org"]))
    keys = idx.band_keys(signatures)
    assert keys.dtype == np.int64 and keys.shape == (2, 8)  # threshold 0.7, 64 perms: 8 bands
    other = NearDupIndex(hash_key=b"another-project-key-987654321000")
    assert not set(keys.ravel()) & set(other.band_keys(signatures).ravel())
    for secret in (b"delivery", b"alice", KEY):
        assert secret not in keys.tobytes()


def test_equal_values_in_two_bands_give_two_different_keys():
    idx = index()
    keys = idx.band_keys(np.zeros((1, 64), dtype=np.uint32))
    assert len(set(keys[0])) == 8


def test_a_store_returning_extra_candidates_changes_nothing():
    class Noisy(MemoryKeeperStore):
        def candidates(self, band_keys):
            found = super().candidates(band_keys)
            every = [key for keys in self._buckets.values() for key in keys]
            return {key: found.get(key, []) + every for key in band_keys}

    matches = NearDupIndex(hash_key=KEY, store=Noisy()).add_many(
        [(1, BASE), (2, UNRELATED[0]), (3, VARIANTS[0]), (4, UNRELATED[1])]
    )
    assert [m.keeper for m in matches] == [1, 2, 1, 4]


def test_the_key_check_tells_keys_apart_without_revealing_them():
    check = index().key_check()
    assert check == index().key_check()
    assert check != NearDupIndex(hash_key=b"another-project-key-987654321000").key_check()
    assert KEY.hex() not in check


def test_pickling_is_refused_because_it_would_carry_the_key():
    with pytest.raises(TypeError, match="hash key"):
        pickle.dumps(index())


@pytest.mark.parametrize("key", [b"bytes-id", ("tuple",), 1.5, True])
def test_keys_must_be_int_or_str_ids(key):
    with pytest.raises(TypeError, match="key must be an int or str id"):
        index().add(key, BASE)


def test_a_whole_text_as_key_is_refused():
    with pytest.raises(ValueError, match="at most 255 characters"):
        index().add(BASE * 5, BASE)


def test_adding_a_keeper_key_twice_is_refused():
    idx = index()
    idx.add(1, BASE)
    with pytest.raises(ValueError, match="key 1 is already a keeper"):
        idx.add(1, UNRELATED[0])


def test_short_hash_keys_are_refused():
    with pytest.raises(ValueError, match="hash_key must be at least 16"):
        NearDupIndex(hash_key=b"short")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0}, "threshold must be in"),
        ({"num_perm": 8}, "num_perm must be between"),
        ({"shingle": "sentence"}, "shingle must be"),
        ({"ngram": 0}, "ngram must be between"),
    ],
)
def test_invalid_configs_are_refused_with_the_setting_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NearDupConfig(**kwargs)


def test_texts_shorter_than_one_shingle_are_compared_whole():
    matches = index().add_many([(1, "ok"), (2, "OK!"), (3, "no")])
    assert [m.keeper for m in matches] == [1, 1, 3]


def test_a_lone_surrogate_from_broken_input_is_hashed_like_any_character():
    idx = index()
    assert idx.add(1, "broken \ud800 input from a JSON escape").is_keeper
    assert idx.add(2, "broken \ud800 input from a JSON escape!").keeper == 1
