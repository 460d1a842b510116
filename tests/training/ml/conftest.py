"""A tiny randomly initialised BERT with the bundled tokenizer: fine-tuning tests in seconds."""

import pytest
from transformers import AutoTokenizer, BertConfig, BertModel

from training.ml.encoder import default_model_path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(default_model_path(), local_files_only=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tokenizer():
    return AutoTokenizer.from_pretrained(default_model_path(), local_files_only=True)
