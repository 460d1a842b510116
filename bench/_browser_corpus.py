"""The item-browser benchmark's project: real texts, with answers, suggestions and personal data.

Texts are real sentences read at run time from ../shared/datasets (GoEmotions, SST-2, TREC,
AG News, CoNLL-2003; never copied into the repository), shuffled with a fixed seed; past the
~92,000 distinct ones, sentences of words drawn from those texts fill up to N (BENCH_DATASETS
points elsewhere: the test runs on the TREC slices in tests/bench/data; missing files are left out).
On top:

- ~4 % carry an e-mail address or a phone number (the import's scan files personal-data findings);
- ~1 % repeat an earlier text with one word changed (near-duplicate groups);
- 12 % are answered by two of six annotators (done, with the project's overlap of 2), 8 % by one
  (in progress); the annotators are drawn with unequal weights, so filtering by one selects
  between ~1 % and ~8 % of the items;
- 40 % have a model's suggestion (one of two model versions, a confidence between 0.3 and 1).

Both tools get the same tasks, in Label Studio's JSON import format; annotators are named by
e-mail, which Label Studio maps to its accounts and this app to one placeholder account each.
"""

import csv
import functools
import json
import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from bench import _io_corpus

SEED = 20261207
DATASETS = Path(os.environ.get("BENCH_DATASETS") or _io_corpus.DATASETS)
LABELS = _io_corpus.LABELS
ANNOTATORS = tuple(f"annotator{i}@bench.local" for i in range(1, 7))
ANNOTATOR_WEIGHTS = (0.30, 0.25, 0.18, 0.13, 0.09, 0.05)
MODEL_VERSIONS = ("topic-v1", "topic-v2")
TWO_ANSWERS, ONE_ANSWER, SUGGESTED, PII_SHARE, NEAR_SHARE = 0.12, 0.08, 0.40, 0.04, 0.01
_WORD = re.compile(r"\w+")


def _normalised(text: str) -> str:
    return " ".join(text.split())


def _existing(folder: str, names: tuple[str, ...]) -> list[Path]:
    return [path for path in (DATASETS / folder / name for name in names) if path.exists()]


def _goemotions() -> Iterator[str]:
    for path in _existing("goemotions", ("train.tsv", "dev.tsv", "test.tsv")):
        with path.open(encoding="utf-8", newline="") as handle:
            yield from (row[0] for row in csv.reader(handle, delimiter="\t") if row)


def _tsv_column(folder: str, splits: tuple[str, ...], column: str) -> Iterator[str]:
    for path in _existing(folder, tuple(f"{split}.tsv" for split in splits)):
        with path.open(encoding="utf-8", newline="") as handle:
            yield from (
                row[column]
                for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            )


def _ag_news() -> Iterator[str]:
    for path in _existing("ag_news", ("test.csv",)):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                yield f"{row[1]}: {row[2]}".replace("\\n", " ").replace("\\", " ")


def _conll() -> Iterator[str]:
    for path in _existing("conll2003", ("train.txt", "valid.txt", "test.txt")):
        words: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("-DOCSTART-"):
                words.append(line.split()[0])
                continue
            if len(words) >= 5:
                yield " ".join(words)
            words = []


@functools.cache
def _pool() -> tuple[str, ...]:
    """Every distinct real text of the five datasets (about 97,000), in a fixed shuffled order."""
    seen, pool = set(), []
    sources = (
        _goemotions(),
        _tsv_column("sst2", ("train", "dev", "test"), "sentence"),
        _tsv_column("trec", ("train", "test"), "text"),
        _ag_news(),
        _conll(),
    )
    for source in sources:
        for text in source:
            key = _normalised(text)
            if len(key) >= 12 and key not in seen:
                seen.add(key)
                pool.append(key)
    if not pool:
        raise SystemExit(f"no texts under {DATASETS} (set BENCH_DATASETS to the datasets folder)")
    random.Random(SEED).shuffle(pool)
    return tuple(pool)


@functools.cache
def _vocabulary() -> tuple[str, ...]:
    """Every word of the pool, repeats kept: drawing from it keeps the texts' word frequencies."""
    return tuple(word for text in _pool() for word in text.split() if word.isalpha())


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_vocabulary()) for _ in range(rng.randint(8, 24))]
    return " ".join(words).capitalize() + "."


def texts(n: int) -> list[str]:
    """N distinct texts, the same for every run and both tools."""
    rng = random.Random(SEED + 1)
    pool, out, seen = _pool(), [], set()
    fill = random.Random(SEED + 2)
    position = 0
    while len(out) < n:
        if out and rng.random() < NEAR_SHARE:
            words = rng.choice(out[-1000:]).split(" ")
            if len(words) < 4:
                continue
            words[rng.randrange(1, len(words))] = rng.choice(_vocabulary())
            text = " ".join(words)
        elif position < len(pool):
            text, position = pool[position], position + 1
            if rng.random() < PII_SHARE:
                first, last = rng.choice(_io_corpus.FIRST), rng.choice(_io_corpus.LAST)
                text += (
                    f" Write to {first.lower()}.{last.lower()}@example.org."
                    if rng.random() < 0.5
                    else f" Call {first} on +44 20 7946 {rng.randint(0, 9999):04d}."
                )
        else:
            text = _sentence(fill)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def _result(label: str) -> list[dict]:
    return [
        {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}
    ]


def tasks(texts_: list[str]) -> list[dict]:
    """Label Studio tasks: the text, its annotations (by e-mail) and its suggestion."""
    rng = random.Random(SEED + 3)
    out = []
    for text in texts_:
        task: dict = {"data": {"text": text}}
        roll = rng.random()
        answers = 2 if roll < TWO_ANSWERS else 1 if roll < TWO_ANSWERS + ONE_ANSWER else 0
        annotators: list[str] = []
        while len(annotators) < answers:
            who = rng.choices(ANNOTATORS, weights=ANNOTATOR_WEIGHTS)[0]
            if who not in annotators:
                annotators.append(who)
        if annotators:
            task["annotations"] = [
                {"result": _result(rng.choice(LABELS)), "completed_by": {"email": email}}
                for email in annotators
            ]
        if rng.random() < SUGGESTED:
            task["predictions"] = [
                {
                    "model_version": rng.choice(MODEL_VERSIONS),
                    "score": round(rng.uniform(0.3, 1.0), 3),
                    "result": _result(rng.choice(LABELS)),
                }
            ]
        out.append(task)
    return out


def tasks_write(path: Path, tasks_: list[dict]) -> Path:
    """The tasks as one Label Studio JSON file (a JSON array), what this app's import reads."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(tasks_), encoding="utf-8")
    partial.rename(path)
    return path


def expected(tasks_: list[dict]) -> dict:
    """What a filter should select: items per annotator, done (two answers), suggested."""
    per_annotator = Counter(
        a["completed_by"]["email"] for t in tasks_ for a in t.get("annotations", [])
    )
    return {
        "items": len(tasks_),
        "done": sum(len(t.get("annotations", [])) >= 2 for t in tasks_),
        "in_progress": sum(len(t.get("annotations", [])) == 1 for t in tasks_),
        "suggested": sum(bool(t.get("predictions")) for t in tasks_),
        "per_annotator": dict(sorted(per_annotator.items())),
    }


def _words_of(text: str) -> set[str]:
    try:  # the word index's own tokenizer, when it is there
        from governance.crypto import text_words

        return text_words(text)
    except ImportError:
        return set(_WORD.findall(text.casefold()))


def search_words(
    texts_: list[str], shares: tuple[float, ...] = (0.0005, 0.005, 0.03)
) -> list[dict]:
    """Words of at least five letters whose share of the items is closest to each of ``shares``."""
    frequency = Counter(
        word for text in texts_ for word in _words_of(text) if len(word) >= 5 and word.isalpha()
    )
    chosen = []
    for share in shares:
        target = max(1, round(share * len(texts_)))
        word, items = min(frequency.items(), key=lambda pair: (abs(pair[1] - target), pair[0]))
        chosen.append({"word": word, "items": items, "target_share": share})
    return chosen
