"""The pure encryption primitives: sealing, key wrapping, derivation, the blind index and word tokens."""

import hmac

import pytest

from governance.crypto import (
    FORMAT_V1,
    DecryptionError,
    FieldCipher,
    data_key_unwrap,
    data_key_wrap,
    key_fingerprint,
    key_generate,
    text_normalise,
    text_words,
)


@pytest.fixture
def cipher():
    return FieldCipher.from_data_key(project_id=7, data_key=key_generate())


def test_a_sealed_text_opens_with_the_same_context(cipher):
    context = cipher.context("item.text", "abc")
    blob = cipher.seal_text("Ünïcode text, 42", context)
    assert cipher.open_text(blob, context) == "Ünïcode text, 42"


def test_json_values_round_trip(cipher):
    value = {"labels": ["positive"], "nested": {"n": 1, "s": "é"}}
    context = cipher.context("annotation.value", 1, 2)
    assert cipher.open_json(cipher.seal_json(value, context), context) == value


def test_ciphertexts_start_with_the_format_byte_and_never_repeat(cipher):
    context = cipher.context("item.meta")
    first, second = cipher.seal_text("same", context), cipher.seal_text("same", context)
    assert first[:1] == second[:1] == FORMAT_V1
    assert first != second, "a fresh random nonce must make every ciphertext different"
    assert b"same" not in first


def test_a_tampered_ciphertext_fails_to_open(cipher):
    context = cipher.context("item.text", "x")
    blob = bytearray(cipher.seal_text("secret", context))
    blob[-5] ^= 0x01
    with pytest.raises(DecryptionError):
        cipher.open_text(bytes(blob), context)


def test_an_unknown_format_byte_is_refused(cipher):
    context = cipher.context("item.text", "x")
    blob = cipher.seal_text("secret", context)
    with pytest.raises(DecryptionError, match="known format"):
        cipher.open_text(b"\x09" + blob[1:], context)
    with pytest.raises(DecryptionError):
        cipher.open_text(b"\x01short", context)


@pytest.mark.parametrize(
    "other",
    [
        ("item.meta", "x"),  # another column
        ("item.text", "y"),  # another row
    ],
)
def test_a_ciphertext_does_not_open_in_another_column_or_row(cipher, other):
    blob = cipher.seal_text("secret", cipher.context("item.text", "x"))
    with pytest.raises(DecryptionError):
        cipher.open_text(blob, cipher.context(*other))


def test_a_ciphertext_does_not_open_in_another_project_even_under_the_same_data_key():
    data_key = key_generate()
    mine = FieldCipher.from_data_key(project_id=1, data_key=data_key)
    theirs = FieldCipher.from_data_key(project_id=2, data_key=data_key)
    blob = mine.seal_text("secret", mine.context("item.meta"))
    with pytest.raises(DecryptionError):
        theirs.open_text(blob, theirs.context("item.meta"))


def test_a_data_key_unwraps_only_with_its_master_key_and_project():
    master, data_key = key_generate(), key_generate()
    wrapped = data_key_wrap(master_key=master, data_key=data_key, project_id=3)
    assert data_key not in wrapped
    assert data_key_unwrap(master_key=master, wrapped=wrapped, project_id=3) == data_key
    with pytest.raises(DecryptionError):
        data_key_unwrap(master_key=key_generate(), wrapped=wrapped, project_id=3)
    with pytest.raises(DecryptionError):
        data_key_unwrap(master_key=master, wrapped=wrapped, project_id=4)


def test_the_blind_index_matches_equal_normalised_texts_only(cipher):
    assert cipher.blind_index("Café  au\tlait ") == cipher.blind_index("Cafe\u0301 au lait")
    assert cipher.blind_index("Café au lait") != cipher.blind_index("café au lait")
    assert len(cipher.blind_index("x")) == 64 and "Café" not in cipher.blind_index("Café")


def test_the_blind_index_differs_between_projects():
    one = FieldCipher.from_data_key(project_id=1, data_key=key_generate())
    two = FieldCipher.from_data_key(project_id=2, data_key=key_generate())
    assert one.blind_index("same text") != two.blind_index("same text")


def test_text_normalise_collapses_whitespace_and_composes_accents():
    assert text_normalise("  a\n\n b  ") == "a b"
    assert text_normalise("e\u0301") == "\u00e9"


def test_a_key_fingerprint_is_short_stable_and_distinct():
    key = key_generate()
    assert key_fingerprint(key) == key_fingerprint(key)
    assert len(key_fingerprint(key)) == 16
    assert key_fingerprint(key) != key_fingerprint(key_generate())


def test_word_tokens_are_equal_across_case_width_and_compatibility_forms(cipher):
    assert cipher.word_tokens("Parcel LATE") == cipher.word_tokens("ｌａｔｅ, parcel!")
    assert cipher.word_tokens("ﬁne STRASSE") == cipher.word_tokens("fine straße")
    assert cipher.word_tokens("late") != cipher.word_tokens("later"), "no prefix matching"


def test_word_tokens_are_the_distinct_words_hashed_with_hmac_sha256(cipher):
    tokens = cipher.word_tokens("the cat and the hat")
    assert len(tokens) == 4
    expected = hmac.digest(cipher.word_key, b"cat", "sha256")[:8]
    assert int.from_bytes(expected, "big", signed=True) in tokens
    assert all(-(2**63) <= token < 2**63 for token in tokens)


def test_word_tokens_differ_between_projects():
    one = FieldCipher.from_data_key(project_id=1, data_key=key_generate())
    other = FieldCipher.from_data_key(project_id=2, data_key=key_generate())
    assert one.word_tokens("parcel") != other.word_tokens("parcel")


def test_the_word_key_is_its_own(cipher):
    keys = [cipher.index_key, cipher.pseudonym_key, cipher.neardup_key, cipher.word_key]
    assert len(set(keys)) == 4
    assert cipher.word_tokens("parcel") != {
        int.from_bytes(bytes.fromhex(cipher.blind_index("parcel"))[:8], "big", signed=True)
    }


def test_text_words_split_unspaced_scripts_into_characters_and_pairs():
    assert text_words("北京大学") == {"北", "京", "大", "学", "北京", "京大", "大学"}
    assert text_words("我在北京。Hello, 世界") == {
        "我", "在", "北", "京", "我在", "在北", "北京", "hello", "世", "界", "世界",
    }  # fmt: skip
    assert text_words("ok_go 42 — x") == {"ok_go", "42", "x"}


def test_a_chinese_query_finds_its_characters_side_by_side(cipher):
    text = cipher.word_tokens("我的包裹晚到了三天")
    assert cipher.word_tokens("包裹") <= text
    assert cipher.word_tokens("晚到") <= text
    assert not cipher.word_tokens("裹包") <= text, "the pair must be side by side, in order"
