"""The table of audit_scale.py: each figure at 100k and at 10M events, the ratio, its interval, within 10 % or not."""

import json
import platform
from datetime import UTC, datetime
from pathlib import Path


def _line(name: str, row: dict) -> str:
    low, high = row["ratio_95"]
    return (
        f"| {name} | {row['small_ms']:.1f} | {row['large_ms']:.1f} | {row['ratio']:.2f} | {low:.2f}–{high:.2f} "
        f"| {row['n'][0]}/{row['n'][1]} | {row['within_10_percent']} |"
    )


def markdown(result: dict) -> str:
    fill = result["fill"]
    sizes = {which: fill[which]["sizes"] for which in ("small", "large")}
    out = [
        f"# Audit trail at {sizes['small']['events']:,} and {sizes['large']['events']:,} events ({result['meta']['date']})",
        "",
        "ms; median (cycles: p50 and p95) of all samples pooled over the rounds; ratio = 10M / 100k with a "
        "paired bootstrap 95 % interval over rounds; within 10 %: yes (interval under 1.10), likely "
        "(point under, interval across), unclear (point over, interval across), NO (interval above 1.10).",
        "",
        "| figure | 100k ms | 10M ms | ratio | 95 % | n | within 10 % |",
        "|---|---|---|---|---|---|---|",
    ]
    out += [_line(name, row) for name, row in result["rows"].items()]
    out += ["", "Load per round (machine: " + result["meta"]["machine"] + "):", "",
            "| round | order | wall s | load 1m (start, end) | cores busy |", "|---|---|---|---|---|"]  # fmt: skip
    out += [f"| {r['round']} | {' then '.join(r['order'])} | {r['wall_s']} | {r['load_1m'][0]}, {r['load_1m'][1]} | {r['cores_busy']} / {r['cores']} |"
            for r in result["load"]]  # fmt: skip
    out += ["", "Trail on disk:", "", "| | events | table MiB | indexes MiB | total MiB |", "|---|---|---|---|---|"]
    out += [f"| {w} | {s['events']:,} | {s['table_mib']} | {s['indexes_mib']} | {s['total_mib']} |" for w, s in sizes.items()]
    history = fill["large"].get("history", {})
    if "total_s" in history:
        out += ["", f"Large fill: generate + COPY {history['generate_and_copy_s']} s, indexes {history['indexes_s']} s, "
                f"ANALYZE {history['analyze_s']} s."]  # fmt: skip
    out += ["", "EXPLAIN ANALYZE execution ms of each page's statement (100k / 10M):", ""]
    for name in result["explain"]["small"]:
        small, large = result["explain"]["small"][name], result["explain"]["large"][name]
        out.append(f"- {name}: {small['execution_ms']} / {large['execution_ms']}")
    return "\n".join(out) + "\n"


def report(result: dict, out: Path) -> None:
    result["meta"] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.processor() or platform.machine()}, shared with other work",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    text = markdown(result)
    out.with_suffix(".md").write_text(text)
    print(text)
