"""The load benchmark's tables: latency and throughput beside Label Studio, what saturated, the targets."""


def _ratio(a, b) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def table(doc: dict) -> str:
    head = (
        "| rep | peer | annotators | cycles | errors | cycle p50 / p95 / p99 ms | ann/s | server next / submit p50 ms "
        "| server CPU ms per cycle | client CPU ms per cycle | machine cores busy (of 2) | load 1 min |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for level in doc["levels"]:
        for name in ("app", "label_studio"):
            p = level.get(name)
            if not p:
                continue
            c, probe, server = p["cycle"], p.get("probe", {}), p.get("server_time")
            cpu = probe.get("cpu_ms_per_cycle", {})
            own = (cpu.get("gunicorn") or 0) + (cpu.get("postgres") or 0) if name == "app" else cpu.get("label-studio")
            peer_name = "this app" if name == "app" else f"Label Studio {doc['meta'].get('label_studio_version', '')}"
            errors = f"{p['errors']} {p['errors_by_kind']}" if p["errors"] else "0"
            times = f"{server['next']['p50_ms']} / {server['submit']['p50_ms']}" if server else "-"
            rows.append(
                f"| {level['rep']} | {peer_name} | {p['annotators']} | {p['completed']:,} | {errors} "
                f"| {c['p50_ms']} / {c['p95_ms']} / {c['p99_ms']} | {p['annotations_per_s']} | {times} "
                f"| {round(own, 1) if own is not None else '-'} | {cpu.get('client', '-')} "
                f"| {probe.get('machine_cores_busy', '-')} | {' → '.join(map(str, probe.get('load_average_1m', [])))} |"
            )
    return "\n".join(rows)


def saturation_table(doc: dict) -> str:
    head = (
        "| rep | annotators | ann/s | cores: gunicorn / postgres / client | waiting for a core, ms per cycle: gunicorn / postgres "
        "| PG connections | PG active (mean) | of active: on CPU / audit lock (Lock:advisory) / row locks / WAL sync / other "
        "| audit lock held (share of samples) |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for level in doc["levels"]:
        p = level.get("app")
        if not p or "probe" not in p:
            continue
        probe = p["probe"]
        share = probe["pg_wait_share"]
        cpu = share.get("CPU (no wait event)", 0)
        advisory = share.get("Lock:advisory", 0)
        rowlocks = sum(v for k, v in share.items() if k in ("Lock:transactionid", "Lock:tuple"))
        wal = sum(v for k, v in share.items() if k.startswith("IO:WAL") or k == "LWLock:WALWrite")
        other = max(0.0, round(1 - cpu - advisory - rowlocks - wal, 3))
        cores, waited = probe["cores_used"], probe.get("cpu_wait_ms_per_cycle", {})
        rows.append(
            f"| {level['rep']} | {p['annotators']} | {p['annotations_per_s']} | {cores.get('gunicorn', 0)} / "
            f"{cores.get('postgres', 0)} / {cores.get('client', 0)} | {waited.get('gunicorn', '-')} / {waited.get('postgres', '-')} "
            f"| {probe['pg_connections_mean']} | {probe['pg_active_mean']} "
            f"| {cpu:.0%} / {advisory:.0%} / {rowlocks:.0%} / {wal:.0%} / {other:.0%} | {probe.get('audit_lock_held_share', '-')} |"
        )
    return "\n".join(rows)


def verdict(doc: dict) -> list[str]:
    lines = []
    for rep in sorted({level["rep"] for level in doc["levels"]}):
        by = {level["annotators"]: level for level in doc["levels"] if level["rep"] == rep}

        def fig(k, peer, key):
            p = by.get(k, {}).get(peer)
            return p and (p["cycle"][key] if key.startswith("p") else p[key])

        c1 = (fig(1, "label_studio", "p50_ms"), fig(1, "app", "p50_ms"))
        c8 = (fig(8, "label_studio", "p95_ms"), fig(8, "app", "p95_ms"))
        app64, app8 = by.get(64, {}).get("app"), by.get(8, {}).get("app")
        line = f"rep {rep}: 1 annotator p50 {_ratio(*c1)} Label Studio (target 10x); 8 annotators p95 {_ratio(*c8)} (target 30x)"
        if app64 and app8:
            line += (
                f"; 64 annotators: {app64['errors']} errors, {app64['annotations_per_s']} ann/s against "
                f"{app8['annotations_per_s']} with 8 ({'no collapse' if app64['annotations_per_s'] >= app8['annotations_per_s'] else 'BELOW the 8-annotator figure'})"
            )
        lines.append(line)
    return lines
