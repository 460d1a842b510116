"""The import/export benchmark's corpus: short texts from a fixed seed, written straight to disk.

Words are drawn from AG News (../shared/datasets), the topic the peer harness's labels name.
Realistic enough to give every import stage work: about 5% of the texts carry an e-mail address
or a phone number (the PII scan and masking), about 1% repeat an earlier text exactly (the blind
index), about 2% repeat one with a word changed (MinHash near-duplicates). Texts are generated
one at a time, so a 1,000,000-row file costs no more memory to write than a 1,000-row one.
"""

import csv
import functools
import json
import random
from collections import deque
from collections.abc import Iterator
from pathlib import Path

SEED = 20261122
LABELS = ["World", "Sports", "Business", "SciTech"]
DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
FIRST = ("Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Katja", "Liam")
LAST = ("Smith", "Jones", "Garcia", "Muller", "Rossi", "Dubois", "Novak", "Tanaka", "Silva", "Haddad")
EXACT_SHARE, NEAR_SHARE, PII_SHARE = 0.01, 0.02, 0.05


@functools.cache
def _words() -> tuple[str, ...]:
    """Every alphabetic word of the 7,600 AG News articles, repeats kept: drawing from it gives a
    news text's word frequencies and a vocabulary of ~30,000 words, so unrelated texts share few
    character 4-grams, as real ones do."""
    with (DATASETS / "ag_news" / "test.csv").open(encoding="utf-8", newline="") as handle:
        return tuple(
            word for row in csv.reader(handle) for word in f"{row[1]} {row[2]}".split() if word.isalpha()
        )


def _sentence(rng: random.Random) -> str:
    vocabulary = _words()
    words = [rng.choice(vocabulary) for _ in range(rng.randint(12, 26))]
    words[0] = words[0].capitalize()
    # No digits of its own: a run of four digits sends a text through the full PII scan, and
    # most short texts (reviews, posts, questions) have none.
    text = " ".join(words) + "."
    if rng.random() < PII_SHARE:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        if rng.random() < 0.5:
            text += f" Contact {first.lower()}.{last.lower()}@example.org for details."
        else:
            text += f" Call {first} on +44 20 7946 {rng.randint(0, 9999):04d} before Friday."
    return text


def texts(n: int, seed: int = SEED) -> Iterator[str]:
    """N texts, the same for every run and every tool; duplicates refer back at most 1,000 rows."""
    rng = random.Random(seed)
    recent: deque[str] = deque(maxlen=1000)
    for _ in range(n):
        roll = rng.random()
        if recent and roll < EXACT_SHARE:
            text = rng.choice(recent)
        elif recent and roll < EXACT_SHARE + NEAR_SHARE:
            words = rng.choice(recent).split(" ")
            position = rng.randrange(2, len(words))
            words[position] = rng.choice(_words())
            text = " ".join(words)
        else:
            text = _sentence(rng)
        recent.append(text)
        yield text


def jsonl_write(path: Path, n: int) -> Path:
    """One {"text": ...} object per line: what the app and Label Studio are both given."""
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for text in texts(n):
            out.write(json.dumps({"text": text}) + "\n")
    partial.rename(path)
    return path


def labelled_task(text: str, index: int) -> dict:
    """A Label Studio task with one single-choice annotation (the export benchmark's input)."""
    choice = LABELS[index % len(LABELS)]
    result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [choice]}}]
    return {"data": {"text": text}, "annotations": [{"result": result, "completed_by": 1}]}


def labelled_write(path: Path, n: int) -> Path:
    """N distinct texts, each with one annotation, as a Label Studio JSON export (a JSON array)."""
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for index in range(n):
            rng = random.Random(SEED + index)
            task = labelled_task(_sentence(rng), index)
            out.write(("," if index else "") + json.dumps(task) + "\n")
        out.write("]\n")
    partial.rename(path)
    return path
