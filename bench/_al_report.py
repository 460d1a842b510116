"""Summaries, table, JSON, Markdown and learning-curve plots for the active-learning simulation."""

import json
from pathlib import Path

import numpy as np

TARGET_SHARE = 0.95


def _mean_sd(values) -> dict:
    values = [float(v) for v in values]
    return {"mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}


def _to_target(labels, scores, target):
    for count, score in zip(labels, scores):
        if score >= target:
            return int(count)
    return None


def dataset_summary(name, *, metric, full, runs, sizes, note, embed_seconds) -> dict:
    strategies = {}
    for strategy, seeds in runs.items():
        refresh = [seconds for run in seeds for seconds in run.refresh_s]
        strategies[strategy] = {
            "labels": seeds[0].labels,
            "curves": np.array([run.score for run in seeds]).round(4).tolist(),
            "refresh_seconds": {"mean": float(np.mean(refresh)) if refresh else None,
                                "max": float(np.max(refresh)) if refresh else None},
        }
    result = {"dataset": name, "metric": metric, "full_pool": full, "target": TARGET_SHARE * full,
              "sizes": sizes, "note": note, "embed_seconds": round(embed_seconds, 1),
              "strategies": strategies}
    return summary_derive(result)


def summary_derive(result) -> dict:
    """Everything computed from the stored curves, so a saved results.json can be re-reported."""
    target = result["target"]
    for summary in result["strategies"].values():
        labels, scores = summary["labels"], np.array(summary["curves"])
        span = labels[-1] - labels[0] or 1
        mean = scores.mean(axis=0)
        summary["curve_mean"] = mean.round(4).tolist()
        summary["curve_sd"] = (scores.std(axis=0, ddof=1) if len(scores) > 1 else 0 * mean).round(4).tolist()
        summary["aulc"] = _mean_sd([np.trapezoid(curve, labels) / span for curve in scores])
        summary["final"] = _mean_sd(scores[:, -1])
        summary["labels_to_target"] = [_to_target(labels, curve, target) for curve in scores]
        # The mean curve's first crossing: every seed counts, also those that never got there.
        summary["mean_curve_to_target"] = _to_target(labels, mean, target)
    random = result["strategies"].get("random")
    for summary in result["strategies"].values():
        summary["vs_random"] = _versus(summary, random)
        # Labels after which the mean curve matches what random reached with the whole budget.
        summary["to_random_final"] = (
            _to_target(summary["labels"], summary["curve_mean"], random["curve_mean"][-1]) if random else None
        )
    return result


def _versus(summary, random) -> str:
    """Labels the mean curve needs to reach the target, relative to random's (lower is better)."""
    if random is None:
        return ""
    if summary is random:
        return "1.00x" if random["mean_curve_to_target"] is not None else "-"
    mine, theirs = summary["mean_curve_to_target"], random["mean_curve_to_target"]
    if mine is None:
        return "not reached"
    if theirs is None:
        return f"reached; random not by {random['labels'][-1]}"
    return f"{mine / theirs:.2f}x"


def _labels_text(reached, budget) -> str:
    got = [r for r in reached if r is not None]
    if not got:
        return f"not reached (>{budget})"
    text = f"{np.mean(got):.0f} ± {np.std(got, ddof=1) if len(got) > 1 else 0:.0f}"
    if len(got) < len(reached):
        text += f" ({len(got)}/{len(reached)} seeds; rest >{budget})"
    return text


def _rows(result):
    for strategy, summary in result["strategies"].items():
        budget = summary["labels"][-1]
        yield (
            strategy,
            f"{summary['aulc']['mean']:.3f} ± {summary['aulc']['sd']:.3f}",
            str(summary["mean_curve_to_target"] or f">{budget}"),
            _labels_text(summary["labels_to_target"], budget),
            summary["vs_random"] or "-",
            str(summary["to_random_final"] or f">{budget}"),
            f"{summary['final']['mean']:.3f} ± {summary['final']['sd']:.3f}",
            f"{summary['refresh_seconds']['mean'] or 0:.2f}",
        )


HEADER = ("strategy", "AULC", "mean curve to 95%", "per seed to 95%", "vs random",
          "to random's final", "final score", "refresh s")


def _heading(result) -> str:
    sizes = result["sizes"]
    return (f"{result['dataset']} ({result['metric']}; pool {sizes['pool']}, test {sizes['test']}; "
            f"full pool {result['full_pool']:.3f}, target {result['target']:.3f})")


def table_print(results, meta) -> None:
    print(f"\nActive learning simulation, encoder {meta['encoder']}, {meta['seeds']} seeds ({meta['span_seeds']} for CoNLL), seed set "
          f"{meta['seed_size']}, batch {meta['batch']}, control {meta['control_fraction']:.0%}")
    widths = (16, 13, 17, 34, 26, 17, 13, 9)
    for result in results:
        print(f"\n{_heading(result)}")
        print("| " + " | ".join(f"{h:<{w}}" for h, w in zip(HEADER, widths)) + " |")
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in _rows(result):
            print("| " + " | ".join(f"{c:<{w}}" for c, w in zip(row, widths)) + " |")


def json_write(results, meta, path: Path) -> None:
    path.write_text(json.dumps({"meta": meta, "datasets": results}, indent=1))


def markdown_write(results, meta, path: Path) -> None:
    lines = [
        "# Active learning simulation (`bench/active_learning_sim.py`)", "",
        f"Encoder {meta['encoder']}; {meta['seeds']} seeds ({meta['span_seeds']} for CoNLL); seed set {meta['seed_size']} random labels; "
        f"batch {meta['batch']}; budget {meta['budget']} labels ({meta['span_budget']} sentences for "
        f"CoNLL); {meta['control_fraction']:.0%} of every batch from the random control slice; "
        f"{meta['seconds']:.0f} s on {meta['cpu_count']} CPU cores.",
        "AULC: mean score over the budget (trapezoid area / label range), mean ± sd over seeds. "
        "Target: 95 % of the score of the head fitted on the whole pool. Mean curve to 95 %: labels "
        "at which the learning curve averaged over seeds first reaches the target. Per seed: the "
        "same for each seed's own curve, mean ± sd over the seeds that reached it (a mean over only "
        "the seeds that got there flatters the strategy that reached it less often). vs random: "
        "mean-curve labels relative to random's (lower is better). To random's final: labels after "
        "which the mean curve reaches random's mean score at the end of the budget. "
        "Refresh: head fit + pool scoring + queue order, mean seconds per round.", "",
    ]
    for result in results:
        lines += [f"## {_heading(result)}", "", result["note"], "",
                  "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(row) + " |" for row in _rows(result)]
        lines += ["", f"![{result['dataset']}]({result['dataset']}.png)", ""]
    path.write_text("\n".join(lines))


def plot_write(result, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for strategy, summary in result["strategies"].items():
        labels = np.array(summary["labels"])
        mean, sd = np.array(summary["curve_mean"]), np.array(summary["curve_sd"])
        axis.plot(labels, mean, label=strategy, linewidth=2 if strategy == "random" else 1.4,
                  color="black" if strategy == "random" else None)
        axis.fill_between(labels, mean - sd, mean + sd, alpha=0.15,
                          color="black" if strategy == "random" else axis.lines[-1].get_color())
    axis.axhline(result["target"], linestyle="--", color="grey", linewidth=1,
                 label=f"95% of full pool ({result['target']:.3f})")
    axis.set_xlabel("labels" if result["dataset"] != "conll2003" else "labelled sentences")
    axis.set_ylabel(result["metric"])
    axis.set_title(_heading(result), fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
