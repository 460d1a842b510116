"""Readers for the labelled datasets in ../shared/datasets, used only by benchmarks."""

import csv
import os
import random
from pathlib import Path

from training.ml.batching import TrainingExample
from training.ml.spans import Span

# ../shared/datasets beside the checkout; BENCH_DATASETS points elsewhere (the tests use small slices in tests/bench/data).
DATASETS = Path(os.environ.get("BENCH_DATASETS") or Path(__file__).resolve().parent.parent.parent / "shared" / "datasets")
SST2_LABELS = ["negative", "positive"]


def sst2(split: str, limit: int | None = None, seed: int = 0) -> list[TrainingExample]:
    """SST-2 sentences from the UTF-8 TSV (header: sentence, label 0/1)."""
    with (DATASETS / "sst2" / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    examples = [TrainingExample(row["sentence"], labels=(SST2_LABELS[int(row["label"])],)) for row in rows]
    return _sample(examples, limit, seed)


def trec(split: str, limit: int | None = None, seed: int = 0) -> tuple[list[TrainingExample], list[str]]:
    """TREC questions with their 6 coarse labels (TSV header: text, coarse_label, fine_label)."""
    with (DATASETS / "trec" / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    examples = [TrainingExample(row["text"], labels=(row["coarse_label"],)) for row in rows]
    return _sample(examples, limit, seed), sorted({e.labels[0] for e in examples})


def conll(split: str, limit: int | None = None, seed: int = 0) -> tuple[list[TrainingExample], list[str]]:
    """CoNLL-2003 sentences joined with spaces, entities as character spans from IOB tags."""
    path = DATASETS / "conll2003" / f"{ {'dev': 'valid'}.get(split, split) }.txt"
    examples, words, tags = [], [], []

    def flush():
        if words:
            examples.append(_conll_example(words, tags))
        words.clear()
        tags.clear()

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("-DOCSTART-"):
            flush()
            continue
        parts = line.split()
        words.append(parts[0])
        tags.append(parts[-1])
    flush()
    labels = sorted({span.label for example in examples for span in example.spans})
    return _sample(examples, limit, seed), labels


def _conll_example(words: list[str], tags: list[str]) -> TrainingExample:
    text, spans, position, current = "", [], 0, None
    for word, tag in zip(words, tags):
        text += ("" if not text else " ") + word
        start = len(text) - len(word)
        position = len(text)
        prefix, _, label = tag.partition("-")
        if prefix == "B" or (prefix == "I" and (current is None or current[2] != label)):
            if current:
                spans.append(Span(*current))
            current = [start, position, label]
        elif prefix == "I":
            current[1] = position
        else:
            if current:
                spans.append(Span(*current))
            current = None
    if current:
        spans.append(Span(*current))
    return TrainingExample(text, spans=tuple(spans))


def _sample(examples, limit, seed):
    if limit is None or limit >= len(examples):
        return examples
    rng = random.Random(seed)
    return rng.sample(examples, limit)
