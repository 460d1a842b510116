"""The rows of several audit_scale.py runs on the same databases, their rounds pooled.

Each run's rounds alternate the two databases already; pooling the rounds of consecutive runs
narrows the intervals on a shared machine. Rows missing from a run are pooled over the runs that
have them (their n says how many samples).

    .venv/bin/python -m bench._audit_pool bench/results/audit_scale.json other.json ... > pooled.md
"""

import json
import sys

from bench._audit_measure import APPEND, compare


def pooled_rows(results: list[dict]) -> dict[str, dict]:
    names: list[str] = []
    for result in results:
        names += [name for name in result["raw_s"] if name not in names]
    rows = {}
    for name in names:
        rounds = [r for result in results for r in result["raw_s"].get(name, [])]
        if name.startswith("cycle") or name == APPEND:
            rows[f"{name}, p50"] = compare(rounds, 0.5)
            rows[f"{name}, p95"] = compare(rounds, 0.95)
        else:
            rows[name] = compare(rounds, 0.5)
    return rows


if __name__ == "__main__":
    from bench._audit_report import _line

    results = [json.loads(open(path).read()) for path in sys.argv[1:]]
    print(f"Pooled: {', '.join(r['meta']['date'] for r in results)}; {sum(len(r['load']) for r in results)} rounds\n")
    print("| figure | 100k ms | 10M ms | ratio | 95 % | n | within 10 % |\n|---|---|---|---|---|---|---|")
    for name, row in pooled_rows(results).items():
        print(_line(name, row))
