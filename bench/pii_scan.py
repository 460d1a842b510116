"""Rates of the import-time text steps: cleaning, personal-data scan and near-duplicate grouping.

Short texts come from GoEmotions and SST-2 (../shared/datasets, read here, never copied),
repeated and lightly edited up to --rows so near duplicates exist; --pii-share of them get an
email, a phone number, a card number or an IBAN. Each step runs alone on one core, as the
import job would call it, and the table gives texts per second. Writes JSON under results/.

    .venv/bin/python bench/pii_scan.py --rows 100000
"""

import argparse
import csv
import json
import platform
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotation.pipeline.cleaning import CleaningPolicy, text_clean  # noqa: E402
from annotation.pipeline.neardup import NearDupConfig, NearDupIndex, neardup_groups  # noqa: E402
from bench._data import DATASETS  # noqa: E402
from governance.pii import PiiConfig, pii_detect, pii_mask  # noqa: E402

PII_SNIPPETS = [
    "mail me at {name}@example.com",
    "call {digits3}-555-{digits4}",
    "card 4111 1111 1111 1111",
    "IBAN GB82 WEST 1234 5698 7654 32",
]


def corpus(rows: int, pii_share: float, seed: int) -> list[str]:
    with (DATASETS / "goemotions" / "train.tsv").open(encoding="utf-8", newline="") as handle:
        texts = [row[0] for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]
    with (DATASETS / "sst2" / "train.tsv").open(encoding="utf-8", newline="") as handle:
        texts += [row["sentence"] for row in csv.DictReader(handle, delimiter="\t")]
    rnd = random.Random(seed)
    out = []
    for i in range(rows):
        text = texts[i % len(texts)]
        if i >= len(texts) and rnd.random() < 0.5:
            text = text.upper() if rnd.random() < 0.5 else text + " lol"  # a near duplicate
        if rnd.random() < pii_share:
            snippet = rnd.choice(PII_SNIPPETS).format(
                name=f"user{i}",
                digits3=rnd.randint(201, 989),
                digits4=f"{rnd.randint(0, 9999):04d}",
            )
            text = f"{text} {snippet}"
        out.append(text)
    return out


def rate(label: str, texts: list[str], step) -> dict:
    step("warm up: mail a@b.org, call 212-555-0199")  # builds engines, loads models
    started, cpu_started = time.perf_counter(), time.process_time()
    extra = [step(text) for text in texts]
    return timing(label, len(texts), started, cpu_started, extra)


def timing(label: str, count: int, started: float, cpu_started: float, out) -> dict:
    # CPU time too: on a shared machine, wall time also counts other people's work.
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "step": label,
        "texts": count,
        "seconds": seconds,
        "per_second": count / seconds,
        "per_cpu_second": count / cpu_seconds,
        "out": out,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pii-share", type=float, default=0.1)
    parser.add_argument("--pii-rows", type=int, default=20_000, help="PII scan is slower: a sample")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    texts = corpus(args.rows, args.pii_share, args.seed)
    plain = corpus(min(args.rows, args.pii_rows), 0.0, args.seed)
    sample = texts[: args.pii_rows]
    full_policy = CleaningPolicy(
        fix_unicode=True, strip_html=True, whitespace="collapse", max_length=500
    )
    results = [
        rate("clean, default policy (NFC)", texts, lambda t: text_clean(t).rejected),
        rate(
            "clean, unicode fix + html + whitespace",
            texts,
            lambda t: text_clean(t, full_policy).rejected,
        ),
        rate(
            "clean, + language detection (en)",
            texts[: args.pii_rows],
            lambda t: text_clean(t, CleaningPolicy(languages=("en",))).rejected,
        ),
        rate("PII scan, no PII in the texts", plain, lambda t: len(pii_detect(t))),
        rate(f"PII scan, {args.pii_share:.0%} with PII", sample, lambda t: len(pii_detect(t))),
        rate(
            f"PII scan, {args.pii_share:.0%} with PII, no context words",
            sample,
            lambda t: len(pii_detect(t, config=PiiConfig(context_words=False))),
        ),
        rate(
            f"PII scan + mask, {args.pii_share:.0%} with PII",
            sample,
            lambda t: pii_mask(t, pii_detect(t)),
        ),
    ]
    for config in (
        NearDupConfig(),
        NearDupConfig(shingle="word", ngram=1),
        NearDupConfig(num_perm=128),
    ):
        index = NearDupIndex(config, hash_key=b"bench-key-0123456789abcdef")
        started, cpu_started = time.perf_counter(), time.process_time()
        matches = index.add_many(enumerate(texts))
        label = f"near-dup {config.shingle} {config.ngram}-grams, {config.num_perm} perm"
        row = timing(label, len(texts), started, cpu_started, None)
        linked = sum(len(keys) for keys in neardup_groups(matches).values())
        row["out"] = f"{len(index):,} keepers, {linked:,} linked"
        results.append(row)

    print(f"\n{'step':<48} {'texts':>8} {'texts/s':>9} {'/CPU s':>9}  result")
    for row in results:
        out = row.pop("out")
        if isinstance(out, list):
            out = f"{sum(1 for value in out if value):,} texts flagged/changed"
        row["result"] = out
        print(
            f"{row['step']:<48} {row['texts']:>8,} {row['per_second']:>9,.0f}"
            f" {row['per_cpu_second']:>9,.0f}  {out}"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of the whole run: {peak_mb:,.0f} MB")
    target = Path(__file__).resolve().parent / "results" / "pii_scan.json"
    target.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "args": vars(args),
                "peak_mb": peak_mb,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
