"""The rounds of audit_scale.py: both databases served, the cases timed alternately, the table and the JSON.

Each case runs on the small and the large database back to back, the order flipping every round,
so that a busy minute on the shared machine falls on both. A figure is the quantile of all the
round's samples pooled; its interval is a paired bootstrap over rounds (the same rounds drawn for
both databases), so a round that was slow for both does not make the ratio look uncertain.
"""

import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from argparse import Namespace
from pathlib import Path

import psutil

from bench import peer_adapter
from bench.audit_scale import DATABASES, ROOT, _server_url
from bench.labelling_loop import ACCESS_FORMAT, _wait_up

PORTS = {"small": 8761, "large": 8762}
PAGE_REPS = 3
CYCLES_ONE = 20
CYCLES_EACH_OF_EIGHT = 6
EXPORT_ROWS = 1000
LIMIT = 1.10
# Filters an auditor uses; each matches more than a page (100) of events in the small trail too.
BUSY_USER, QUIET_USER = "manager00", "annotator100"
HISTORIC_PROJECT = 250
# A user and a project with just over a page (103 events) in 2024 in the small trail (about 100 times as many in the large).
FULL_USER, FULL_PROJECT = "annotator049", 142
DATE_FROM, DATE_TO = "2024-06-01", "2024-06-30"
APPEND = "append alone (head + INSERT, in the database)"


def page_cases(project_id: int) -> list[tuple[str, str, dict]]:
    """(name, kind, query) of each auditor request; kind "page", "next", "export" or "fragment"."""
    return [
        ("trail, first page", "page", {}),
        ("filter: busy user", "page", {"user": BUSY_USER}),
        ("filter: quiet user", "page", {"user": QUIET_USER}),
        ("filter: the live project", "page", {"project": project_id}),
        ("filter: a historic project", "page", {"project": HISTORIC_PROJECT}),
        ("filter: action annotation.", "page", {"action": "annotation."}),
        ("filter: action export. (rare)", "page", {"action": "export."}),
        ("filter: action item (+ renamed)", "page", {"action": "item"}),
        ("filter: one month in 2024", "page", {"date_from": DATE_FROM, "date_to": DATE_TO}),
        ("filter: quiet user + month", "page", {"user": QUIET_USER, "date_from": "2024-01-01", "date_to": "2024-12-31"}),
        ("filter: busy user + month", "page", {"user": BUSY_USER, "date_from": DATE_FROM, "date_to": DATE_TO}),
        ("filter: historic project + year", "page", {"project": HISTORIC_PROJECT, "date_from": "2024-01-01", "date_to": "2024-12-31"}),
        # The combined filters above hold fewer than a page in the small trail's 2024 (59, 85, 22 events), so
        # their small pages render fewer rows; these two hold a page (103 events) in both trails.
        ("filter: user + year, a page in both", "page", {"user": FULL_USER, "date_from": "2024-01-01", "date_to": "2024-12-31"}),
        ("filter: project + year, a page in both", "page", {"project": FULL_PROJECT, "date_from": "2024-01-01", "date_to": "2024-12-31"}),
        ("next page (keyset)", "next", {}),
        ("next page, busy user", "next", {"user": BUSY_USER}),
        (f"CSV export, first {EXPORT_ROWS} rows", "export", {}),
        (f"CSV export busy user, first {EXPORT_ROWS}", "export", {"user": BUSY_USER}),
        # A year: more rows than two chunks in the small trail too, so both exports are still streaming.
        (f"CSV export 2024, first {EXPORT_ROWS}", "export", {"date_from": "2024-01-01", "date_to": "2024-12-31"}),
        ("verification fragment", "fragment", {}),
    ]


class Served:
    """One database behind its own gunicorn, with the auditor's session and the annotators' tokens."""

    def __init__(self, which: str, fill: dict, work: Path, data_dir: str):
        import requests

        self.which = which
        setup = fill["setup"]
        self.project_id = setup["project_id"]
        self.verification_id = setup["verification_id"]
        self.base = f"http://127.0.0.1:{PORTS[which]}"
        tokens_file = work / f"tokens-{which}.json"
        tokens_file.write_text(json.dumps(setup["tokens"]))
        tokens_file.chmod(0o600)
        self.access_log = work / f"access-{which}.log"
        env = {**os.environ, "DATABASE_URL": f"{_server_url()}/{DATABASES[which]}", "DATA_DIR": data_dir}
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{PORTS[which]}",
             "--workers", "2", "--threads", "4", "--timeout", "120", "--log-level", "warning",
             "--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        _wait_up(PORTS[which])
        self.peer = peer_adapter.SensitiveAnnotator(self.base, Namespace(tokens_file=str(tokens_file), keepalive=False))
        self.auditor = requests.Session()
        self.auditor.cookies.set("sessionid", setup["auditor_session"], domain="127.0.0.1")
        self.next_before: dict[str, int] = {}

    def stop(self) -> None:
        os.killpg(self.server.pid, signal.SIGTERM)
        self.server.wait(timeout=30)

    def url(self, kind: str, query: dict) -> str:
        from urllib.parse import urlencode

        if kind == "fragment":
            return f"{self.base}/governance/audit/verify/{self.verification_id}/"
        if kind == "export":
            return f"{self.base}/governance/audit/export.csv?{urlencode(query)}"
        if kind == "next":
            key = json.dumps(query, sort_keys=True)
            if key not in self.next_before:
                first = self.auditor.get(f"{self.base}/governance/audit/?{urlencode(query)}", timeout=120)
                first.raise_for_status()
                self.next_before[key] = int(re.search(r"before=(\d+)", first.text).group(1))
            query = {**query, "before": self.next_before[key]}
        return f"{self.base}/governance/audit/?{urlencode(query)}"

    def get(self, kind: str, query: dict) -> float:
        """Seconds for the whole response (the export: its first EXPORT_ROWS rows)."""
        url = self.url(kind, query)
        t0 = time.perf_counter()
        if kind == "export":
            with self.auditor.get(url, stream=True, timeout=120) as response:
                response.raise_for_status()
                lines = 0
                for _ in response.iter_lines():
                    lines += 1
                    if lines > EXPORT_ROWS:
                        break
            return time.perf_counter() - t0
        response = self.auditor.get(url, timeout=120)
        response.raise_for_status()
        if kind != "fragment" and "audit-events" not in response.text:
            raise RuntimeError(f"{url}: no events table in the page")
        return time.perf_counter() - t0

    def cycles(self, annotators: int, each: int, offset: int) -> list[float]:
        """``annotators`` sessions each doing ``each`` next + submit cycles at once; seconds per cycle."""
        sessions = self.peer.annotator_sessions(self.project_id, annotators)
        took: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(annotators)

        def run(index: int, session) -> None:
            start.wait()
            for count in range(each):
                t0 = time.perf_counter()
                try:
                    self.peer.annotate_one(session, self.project_id, offset + index * 1000 + count, {})
                except Exception as error:  # reported after the phase: a failed cycle is no figure
                    with lock:
                        errors.append(f"{type(error).__name__}: {str(error)[:160]}")
                    continue
                with lock:
                    took.append(time.perf_counter() - t0)

        threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(sessions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise RuntimeError(f"{self.which}: {len(errors)} cycles failed, e.g. {errors[0]}")
        return took


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def compare(rounds: list[dict[str, list[float]]], q: float, draws: int = 2000) -> dict:
    """Figure (ms) at each size, the ratio large/small and its paired bootstrap 95 % interval over rounds."""
    small = [v for r in rounds for v in r["small"]]
    large = [v for r in rounds for v in r["large"]]
    fig_small, fig_large = 1000 * _quantile(small, q), 1000 * _quantile(large, q)
    rng = random.Random(5790)
    ratios = []
    for _ in range(draws):
        picked = [rounds[rng.randrange(len(rounds))] for _ in rounds]
        s = [v for r in picked for v in r["small"]]
        big = [v for r in picked for v in r["large"]]
        ratios.append(_quantile(big, q) / _quantile(s, q))
    low, high = _quantile(ratios, 0.025), _quantile(ratios, 0.975)
    ratio = fig_large / fig_small
    verdict = "yes" if high <= LIMIT else ("NO" if low > LIMIT else ("likely" if ratio <= LIMIT else "unclear"))
    return {
        "small_ms": round(fig_small, 2), "large_ms": round(fig_large, 2), "ratio": round(ratio, 3),
        "ratio_95": [round(low, 3), round(high, 3)], "n": [len(small), len(large)],
        "round_min_max_ms": {w: [round(1000 * min(statistics.median(r[w]) for r in rounds), 2),
                                 round(1000 * max(statistics.median(r[w]) for r in rounds), 2)] for w in ("small", "large")},
        "within_10_percent": verdict,
    }  # fmt: skip


def explain_in_subprocess(which: str, project_id: int, data_dir: str, work: Path) -> dict:
    out = work / f"explain-{which}.json"
    env = {**os.environ, "DATABASE_URL": f"{_server_url()}/{DATABASES[which]}", "DATA_DIR": data_dir}
    subprocess.run([sys.executable, "-m", "bench._audit_explain", str(project_id), str(out)], env=env, cwd=ROOT, check=True)
    return json.loads(out.read_text())


def measure_and_report(args, fills: dict, work: Path, data_dir: str) -> None:
    served = {which: Served(which, fills[which], work, data_dir) for which in ("small", "large")}
    try:
        result = _rounds(args, served)
    finally:
        for one in served.values():
            one.stop()
    result["fill"] = {which: {k: v for k, v in fill.items() if k != "setup"} for which, fill in fills.items()}
    result["explain"] = {which: explain_in_subprocess(which, fills[which]["setup"]["project_id"], data_dir, work) for which in served}
    from bench._audit_report import report

    report(result, args.out)


def _rounds(args, served: dict) -> dict:
    cases = page_cases(served["small"].project_id)
    if served["small"].project_id != served["large"].project_id:
        raise SystemExit("the bench project has different ids in the two databases: --rebuild")
    samples: dict[str, list[dict]] = {name: [] for name, _, _ in cases}
    for label in ("cycle, 1 annotator", "cycle, 8 annotators", APPEND):
        samples[label] = []
    import psycopg

    from bench._audit_append import appends

    databases = {which: psycopg.connect(f"{_server_url()}/{DATABASES[which]}") for which in served}
    rng = random.Random(19)
    load: list[dict] = []
    # Warm-up, not counted: the first request of each kind pays for imports, plans and cold pages.
    for one in served.values():
        for _, kind, query in cases:
            one.get(kind, query)
        one.cycles(1, 2, 900_000)
    for index in range(args.rounds):
        order = ["small", "large"] if index % 2 == 0 else ["large", "small"]
        busy0, load0, t0 = psutil.cpu_times(), os.getloadavg(), time.monotonic()
        for name, kind, query in cases:
            got = {which: [served[which].get(kind, query) for _ in range(PAGE_REPS)] for which in order}
            samples[name].append(got)
        got = {which: served[which].cycles(1, CYCLES_ONE, index * 10_000) for which in order}
        samples["cycle, 1 annotator"].append(got)
        got = {which: served[which].cycles(8, CYCLES_EACH_OF_EIGHT, index * 10_000 + 5000) for which in order}
        samples["cycle, 8 annotators"].append(got)
        samples[APPEND].append({which: appends(databases[which], 22, rng)[2:] for which in order})
        busy1, wall = psutil.cpu_times(), time.monotonic() - t0
        used = sum(getattr(busy1, f) - getattr(busy0, f) for f in ("user", "system", "nice", "irq", "softirq"))
        load.append({"round": index + 1, "order": order, "wall_s": round(wall, 1), "load_1m": [round(load0[0], 2), round(os.getloadavg()[0], 2)],
                     "cores_busy": round(used / wall, 2), "cores": psutil.cpu_count()})  # fmt: skip
        print(f"round {index + 1}/{args.rounds}: {load[-1]}", flush=True)
    rows = {}
    for name, rounds in samples.items():
        if name.startswith("cycle") or name == APPEND:
            rows[f"{name}, p50"] = compare(rounds, 0.5)
            rows[f"{name}, p95"] = compare(rounds, 0.95)
        else:
            rows[name] = compare(rounds, 0.5)
    return {"rows": rows, "load": load, "raw_s": samples, "cases": [[n, k, q] for n, k, q in cases]}
