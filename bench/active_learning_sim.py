"""Active learning simulated on labelled datasets: each query strategy against random order.

Runs the product's own code (training.ml.active: head_fit, uncertainty / token_uncertainty,
select_order, control_mask + interleave with the product's 10 % control slice) with
../shared/datasets as the oracle: SST-2, TREC (6 coarse labels), AG News (its test.csv split
with a fixed seed into pool and test) and CoNLL-2003 for spans (token-level head over BIO tags,
entity F1 by seqeval); GoEmotions (28 labels, multi-label, micro-F1) when asked for with
--datasets goemotions. Start from a random seed set, label a batch per round, refit, score the
held-out slice. Pools are capped to keep the 2-core machine usable; the caps are in the output.

Reports per dataset and strategy: normalised area under the learning curve (mean score over the
budget), labels needed to reach 95 % of the full-pool score (the head fitted on the whole pool),
final score, mean ± sd over seeds. Writes JSON + Markdown + one PNG per dataset to --out-dir.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/active_learning_sim.py              # all, 3 seeds
    HF_HUB_OFFLINE=1 .venv/bin/python bench/active_learning_sim.py --datasets trec --seeds 5
    HF_HUB_OFFLINE=1 .venv/bin/python bench/active_learning_sim.py --dataset my.csv \
        --text-column text --label-column label               # any labelled CSV, TSV or JSONL

Results (JSON, Markdown) are written before the plots, so a missing matplotlib costs the plots only.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

# One thread each: the benchmark shares a small machine; set before numpy/torch load BLAS.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench._al_data import (  # noqa: E402
    classification_set,
    conll_sentences,
    embeddings_cached,
    word_vectors_cached,
)
from bench._al_file import file_set  # noqa: E402
from bench._al_loop import (  # noqa: E402
    Settings,
    classification_run,
    full_pool_accuracy,
    full_pool_span_f1,
    span_run,
)
from bench._al_report import (  # noqa: E402
    dataset_summary,
    json_write,
    markdown_write,
    plot_write,
    summary_derive,
    table_print,
)
from training.ml.active.strategies import STRATEGIES  # noqa: E402
from training.ml.spans import bio_tag_names  # noqa: E402

CLASSIFICATION = ("sst2", "trec", "ag_news", "goemotions")


def _encoder(threads: int):
    import torch

    from training.ml.encoder import encoder_load

    torch.set_num_threads(threads)
    return encoder_load()


def _runs(run_one, strategies, seeds, label: str) -> dict:
    runs = {}
    for strategy in strategies:
        started = time.perf_counter()
        runs[strategy] = [run_one(strategy, seed) for seed in range(seeds)]
        print(f"  {label} {strategy:<17} {len(runs[strategy])} seeds in {time.perf_counter() - started:5.1f} s",
              flush=True)
    return runs


def classification_bench(data, encoder, args, settings) -> dict:
    name = data.name
    started = time.perf_counter()
    X_pool = embeddings_cached(encoder, f"{name}-pool", data.pool_texts)
    X_test = embeddings_cached(encoder, f"{name}-test", data.test_texts)
    embed_s = time.perf_counter() - started
    full = full_pool_accuracy(data, X_pool, X_test)
    print(f"{name}: pool {len(data.pool_y)}, test {len(data.test_y)}, full-pool score {full:.3f}", flush=True)
    runs = _runs(lambda strategy, seed: classification_run(data, X_pool, X_test, strategy, seed, settings),
                 args.strategies, args.seeds, name)
    return dataset_summary(
        name, metric="micro-F1" if data.multi_label else "accuracy", full=full, runs=runs,
        sizes={"pool": len(data.pool_y), "test": len(data.test_y), "labels": len(data.labels)},
        note=data.note, embed_seconds=embed_s,
    )


def conll_bench(encoder, args, settings) -> dict:
    pool_sentences = conll_sentences("train", limit=args.span_pool)
    test_sentences = conll_sentences("test", limit=args.span_test)
    started = time.perf_counter()
    pool_vectors = word_vectors_cached(encoder, "conll-train", [words for words, _ in pool_sentences])
    test_vectors = word_vectors_cached(encoder, "conll-test", [words for words, _ in test_sentences])
    embed_s = time.perf_counter() - started
    entity_types = sorted({tag[2:] for _, tags in pool_sentences for tag in tags if tag != "O"})
    tag_names = bio_tag_names(entity_types)
    # Diversity compares sentences: the mean of their word vectors.
    sentence_vectors = np.stack([v.mean(axis=0) if len(v) else np.zeros(v.shape[1]) for v in pool_vectors])
    pool = (pool_vectors, [tags for _, tags in pool_sentences], sentence_vectors)
    test = (test_vectors, [tags for _, tags in test_sentences])
    full = full_pool_span_f1(pool, test, tag_names)
    print(f"conll2003: pool {len(pool_vectors)} sentences, test {len(test_vectors)}, "
          f"full-pool entity F1 {full:.3f}", flush=True)
    runs = _runs(lambda strategy, seed: span_run(pool, test, tag_names, strategy, seed, settings),
                 args.strategies, args.span_seeds or args.seeds, "conll2003")
    return dataset_summary(
        "conll2003", metric="entity F1", full=full, runs=runs,
        sizes={"pool": len(pool_vectors), "test": len(test_vectors), "labels": len(tag_names),
               "pool_words": int(sum(len(v) for v in pool_vectors))},
        note=f"sentences as the unit of labelling; word vectors = last hidden state at the first "
             f"sub-token; token uncertainty aggregated per sentence by '{settings.span_aggregate}'",
        embed_seconds=embed_s,
    )


def plots_write(results, out_dir: Path) -> list[Path]:
    """One learning-curve PNG per dataset; none, said so, when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("\nno plots: matplotlib is not installed (.venv/bin/pip install -e '.[bench]', or pip "
              "install matplotlib); the results above are saved, and --rereport draws them later.")
        return []
    paths = []
    for result in results:
        paths.append(out_dir / f"{result['dataset']}.png")
        plot_write(result, paths[-1])
    return paths


def results_write(results, meta, out_dir: Path) -> None:
    table_print(results, meta)
    json_write(results, meta, out_dir / "results.json")
    markdown_write(results, meta, out_dir / "results.md")
    print(f"\nwritten: {out_dir}/results.json, results.md", flush=True)
    for path in plots_write(results, out_dir):
        print(f"written: {path}")


def rereport(out_dir: Path) -> None:
    stored = json.loads((out_dir / "results.json").read_text())
    results_write([summary_derive(result) for result in stored["datasets"]], stored["meta"], out_dir)


def datasets_load(args) -> list:
    """The data sets asked for: built-in names, then --dataset files; each one read before any runs."""
    loaded = []
    for name in args.datasets:
        if name in CLASSIFICATION:
            loaded.append(classification_set(name, pool=args.pool, test=args.test))
        elif name == "conll2003":
            loaded.append(name)
        else:
            raise SystemExit(f"unknown dataset {name!r}; expected some of "
                             f"{', '.join(CLASSIFICATION + ('conll2003',))}, or a file with --dataset")
    for path in args.dataset:
        loaded.append(file_set(Path(path), text_column=args.text_column, label_column=args.label_column,
                               label_separator=args.label_separator, quoting=args.quoting,
                               pool=args.pool, test=args.test))
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", help="built-in data sets (default: sst2,trec,ag_news,conll2003, "
                        "or none when --dataset is given)")
    parser.add_argument("--dataset", action="append", default=[], metavar="PATH",
                        help="a labelled .csv, .tsv or .jsonl file of your own (repeatable)")
    parser.add_argument("--text-column", default="text", help="the text field of --dataset files")
    parser.add_argument("--label-column", default="label", help="the label field of --dataset files")
    parser.add_argument("--label-separator", help="splits a --dataset label field into several labels "
                        "(multi-label); JSON lists are multi-label by themselves")
    parser.add_argument("--quoting", choices=("standard", "none"),
                        help="quote characters in --dataset CSV/TSV files: 'standard' (quoted fields) or "
                        "'none' (a quote is a character); default standard for .csv, none for .tsv")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pool", type=int, default=4000, help="pool cap per classification set")
    parser.add_argument("--test", type=int, default=1000, help="test cap per classification set")
    parser.add_argument("--seed-size", type=int, default=10)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--budget", type=int, default=1500)
    parser.add_argument("--control", type=float, default=0.1, help="random control share of the queue")
    parser.add_argument("--span-pool", type=int, default=2000)
    parser.add_argument("--span-test", type=int, default=500)
    parser.add_argument("--span-budget", type=int, default=600)
    parser.add_argument("--span-aggregate", default="max")
    parser.add_argument("--span-seeds", type=int, help="seeds for CoNLL (default: --seeds)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rereport", action="store_true",
                        help="only re-derive the table, Markdown and plots from --out-dir/results.json")
    parser.add_argument("--out-dir", default=str(ROOT / "bench" / "results" / "active_learning"))
    args = parser.parse_args()
    args.strategies = [s for s in args.strategies.split(",") if s]
    if "random" not in args.strategies:
        args.strategies.insert(0, "random")  # every comparison is against random
    unknown = [s for s in args.strategies if s not in STRATEGIES]
    if unknown:
        raise SystemExit(f"unknown strategies {unknown}; expected some of {', '.join(STRATEGIES)}")
    if args.datasets is None:
        args.datasets = "" if args.dataset else "sst2,trec,ag_news,conll2003"
    args.datasets = [d for d in args.datasets.split(",") if d]
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.rereport:
        return rereport(out_dir)

    datasets = datasets_load(args)
    encoder = _encoder(args.threads)
    started = time.perf_counter()
    results = []
    for data in datasets:
        if data == "conll2003":
            settings = Settings(args.seed_size, args.batch, args.span_budget, args.control, args.span_aggregate)
            results.append(conll_bench(encoder, args, settings))
        else:
            settings = Settings(args.seed_size, args.batch, args.budget, args.control)
            results.append(classification_bench(data, encoder, args, settings))
    meta = {
        "encoder": encoder.model_version,
        "seeds": args.seeds, "span_seeds": args.span_seeds or args.seeds, "seed_size": args.seed_size, "batch": args.batch,
        "budget": args.budget, "span_budget": args.span_budget, "control_fraction": args.control,
        "strategies": args.strategies, "torch_threads": args.threads,
        "cpu_count": os.cpu_count(), "seconds": round(time.perf_counter() - started, 1),
    }
    results_write(results, meta, out_dir)


if __name__ == "__main__":
    main()
