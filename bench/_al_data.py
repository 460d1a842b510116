"""Pools, test slices and cached MiniLM embeddings for the active-learning simulation.

Texts never leave ../shared/datasets: only their embeddings are cached, under bench/.cache/
(git-ignored), keyed by dataset, slice and encoder version.
"""

import csv
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench._data import DATASETS, sst2, trec

CACHE = Path(__file__).resolve().parent / ".cache" / "active_learning"
AG_NEWS_LABELS = ["World", "Sports", "Business", "Sci/Tech"]


@dataclass
class ClassificationSet:
    name: str
    labels: list[str]
    pool_texts: list[str]
    pool_y: list
    test_texts: list[str]
    test_y: list  # a label per item, or a tuple of labels when multi_label
    note: str
    multi_label: bool = False


def _cap(texts, y, limit, seed):
    rows = list(range(len(texts)))
    if limit is not None and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)
    return [texts[row] for row in rows], [y[row] for row in rows]


def classification_set(name: str, *, pool: int, test: int, seed: int = 0) -> ClassificationSet:
    if name == "sst2":
        train, held = sst2("train"), sst2("test")
        pool_texts, pool_y = _cap([e.text for e in train], [e.labels[0] for e in train], pool, seed)
        test_texts, test_y = _cap([e.text for e in held], [e.labels[0] for e in held], test, seed)
        return ClassificationSet(name, ["negative", "positive"], pool_texts, pool_y, test_texts, test_y,
                                 "pool: train split, test: test split")
    if name == "trec":
        (train, labels), (held, _) = trec("train"), trec("test")
        pool_texts, pool_y = _cap([e.text for e in train], [e.labels[0] for e in train], pool, seed)
        test_texts, test_y = _cap([e.text for e in held], [e.labels[0] for e in held], test, seed)
        return ClassificationSet(name, labels, pool_texts, pool_y, test_texts, test_y,
                                 "6 coarse labels; pool: train split, test: test split (500)")
    if name == "ag_news":
        texts, y = _ag_news()
        rows = list(range(len(texts)))
        random.Random(seed).shuffle(rows)
        test_rows, pool_rows = rows[:test], rows[test : test + pool]
        return ClassificationSet(
            name, AG_NEWS_LABELS,
            [texts[row] for row in pool_rows], [y[row] for row in pool_rows],
            [texts[row] for row in test_rows], [y[row] for row in test_rows],
            "only the official test.csv exists: split with a fixed seed into test and pool",
        )
    if name == "goemotions":
        labels = (DATASETS / "goemotions" / "emotions.txt").read_text(encoding="utf-8").split()
        pool_texts, pool_y = _cap(*_goemotions("train", labels), pool, seed)
        test_texts, test_y = _cap(*_goemotions("test", labels), test, seed)
        return ClassificationSet(name, labels, pool_texts, pool_y, test_texts, test_y,
                                 "multi-label, 28 labels; pool: train split, test: test split; "
                                 "score: micro-F1 at P >= 0.5", multi_label=True)
    raise SystemExit(f"unknown dataset {name!r}; expected sst2, trec, ag_news or goemotions")


def _goemotions(split: str, labels: list[str]) -> tuple[list[str], list[tuple[str, ...]]]:
    texts, y = [], []
    with (DATASETS / "goemotions" / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
        for text, ids, _ in csv.reader(handle, delimiter="\t"):
            texts.append(text)
            y.append(tuple(labels[int(index)] for index in ids.split(",")))
    return texts, y


def _ag_news() -> tuple[list[str], list[str]]:
    texts, y = [], []
    with (DATASETS / "ag_news" / "test.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            label, title, description = row
            texts.append(f"{title}. {description}".replace("\\n", " ").replace("\\", " "))
            y.append(AG_NEWS_LABELS[int(label) - 1])
    return texts, y


def conll_sentences(split: str, *, limit: int, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """(words, IOB2 tags) per sentence, a fixed random sample of ``limit`` sentences."""
    path = DATASETS / "conll2003" / f"{ {'dev': 'valid'}.get(split, split) }.txt"
    sentences, words, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip() or line.startswith("-DOCSTART-"):
            if words:
                sentences.append((words, tags))
            words, tags = [], []
            continue
        parts = line.split()
        words.append(parts[0])
        tags.append(parts[-1])
    if limit < len(sentences):
        sentences = random.Random(seed).sample(sentences, limit)
    return sentences


def _digest(parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def embeddings_cached(encoder, key: str, texts: list[str]) -> np.ndarray:
    """Sentence embeddings for ``texts``, computed once per (key, texts, encoder) and kept as .npy."""
    path = CACHE / f"{key}-{_digest([encoder.model_version, *texts])}.npy"
    if path.exists():
        return np.load(path)
    vectors = encoder.encode(texts, batch_size=64)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def word_vectors_cached(encoder, key: str, sentences: list[list[str]]) -> list[np.ndarray]:
    """Per word, the encoder's last hidden state at its first sub-token (rows = words)."""
    path = CACHE / f"{key}-{_digest([encoder.model_version, *(' '.join(s) for s in sentences)])}.npz"
    if path.exists():
        with np.load(path) as stored:
            flat, lengths = stored["flat"], stored["lengths"]
        return np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
    import torch

    rows: list[np.ndarray] = [np.zeros((0, encoder.dimension), dtype=np.float32)] * len(sentences)
    order = sorted(range(len(sentences)), key=lambda index: len(sentences[index]))
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            indices = order[start : start + 64]
            batch = encoder.tokenizer(
                [sentences[index] for index in indices], is_split_into_words=True, padding=True,
                truncation=True, max_length=encoder.max_length, return_tensors="pt",
            ).to(encoder.device)
            hidden = encoder.model(**batch).last_hidden_state.float().cpu().numpy()
            for position, index in enumerate(indices):
                out = np.zeros((len(sentences[index]), encoder.dimension), dtype=np.float32)
                seen = set()
                for token, word in enumerate(batch.word_ids(position)):
                    if word is not None and word not in seen:
                        seen.add(word)
                        out[word] = hidden[position, token]
                rows[index] = out
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, flat=np.concatenate(rows) if rows else np.zeros((0, encoder.dimension)),
             lengths=np.array([len(row) for row in rows]))
    return rows
