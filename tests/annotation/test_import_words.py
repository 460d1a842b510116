"""The import's cache of word tokens: the same keyed hashes as the cipher's, so imported items are found by word."""

import io
import json
from pathlib import Path

import pytest

from annotation.models import ItemWord
from annotation.selectors.search import item_ids_matching_words
from annotation.services.imports import WordTokens, items_import
from governance.keyring import project_cipher

pytestmark = pytest.mark.django_db

SST2_QUOTES = Path(__file__).parent / "pipeline" / "files" / "sst2_quotes.tsv"


def _texts() -> list[str]:
    lines = SST2_QUOTES.read_text(encoding="utf-8").splitlines()[1:]
    texts = [line.split("\t", 1)[1] for line in lines if "\t" in line]
    # Words in other scripts and forms: full-width, ligatures, case, Chinese runs.
    return texts + ["Ｆｕｌｌ width ﬁle CAFÉ café", "我们喜欢这个电影 very much", "x" * 300]


def test_the_cached_tokens_equal_the_ciphers_own_for_every_text(project):
    cipher = project_cipher(project.pk)
    tokens = WordTokens(cipher)
    texts = _texts()
    assert len(texts) > 20
    for _ in range(2):  # the second round reads every word from the cache
        assert [tokens(text) for text in texts] == [cipher.word_tokens(text) for text in texts]


def test_an_imported_item_is_found_by_each_of_its_words(project, manager):
    content = json.dumps({"id": "w", "text": "Zorblat QUIXOTIC vellums, frobnicated"}).encode() + b"\n"
    items_import(actor=manager, project=project, stream=io.BytesIO(content), filename="w.jsonl")
    item = project.items.get(external_id="w")
    assert ItemWord.objects.filter(item=item).count() == 4
    for query in ("zorblat", "quixotic frobnicated", "VELLUMS"):
        assert list(item_ids_matching_words(project=project, query=query)) == [item.pk]
