"""Item browser first page (one filter) and word search at N items, beside Label Studio's Data Manager.

This app: a project of N real texts (bench/_browser_corpus.py) imported through the real import
path on PostgreSQL, with answers by six annotators (overlap 2), suggestions, personal-data
findings and near-duplicate groups; the item browser's HTML page (``annotation:items``) and its
API (``api:items``), first page, timed in-process with Django's test Client as the project's
manager (server time: middleware, session, permission gate, queries, decryption, the audited
read, rendering; no HTTP exchange). Label Studio (through ../shared/peers): the same tasks,
answers and predictions, and the request its Data Manager makes for a tab's first page
(``/api/tasks/?view=…``), timed over loopback HTTP, less the median round trip of its ``/health``.

Cases, each with the same page size: no filter, status done, one annotator, and a word search
for a rare, a medium and a common word (ours: the word index, ``q=``; Label Studio: its text
"contains" filter). Repetitions are interleaved (every case once per round), after warm-up
requests that are not counted. The count each page states is shown, and every statement the
API page ran on a big table is EXPLAIN ANALYZEd: rows it read, and whether it scanned a table whole.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_browser DATA_DIR=/tmp/bench-browser-data \\
        .venv/bin/python bench/item_browser.py --sizes 10000,100000 --label-studio   # PEERS_DIR=/tmp/peers-browser
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")  # what production runs with

from bench import _browser_corpus as corpus  # noqa: E402

TARGET_MS, TARGET_RATIO = 300.0, 10.0
# This app's requests per case: the HTML page and the API's first page (rows, no count), the API
# page with its count (with_count=true: what Label Studio's page holds, its total), and the count
# the HTML page loads after its rows.
APP_KINDS = ("html", "api", "api_count", "html_count")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _summary(times: list[float]) -> dict:
    if not times:
        return {"n": 0}
    return {
        "n": len(times),
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(_pct(times, 0.95), 2),
        "min_ms": round(min(times), 2),
        "max_ms": round(max(times), 2),
    }


def _cases(words: list[dict], annotator_email: str) -> list[dict]:
    """What each case asks of each tool: our GET parameters, Label Studio's Data Manager filters."""
    from bench import _browser_ls as ls

    cases = [
        {"case": "first page, no filter", "params": {}, "ls_filters": lambda ids: []},
        {"case": "status = done", "params": {"status": "done"}, "ls_filters": lambda ids: [ls.done_filter()]},
        {"case": f"annotator = {annotator_email.split('@')[0]}", "params": {"annotator": None},
         "ls_filters": lambda ids: [ls.annotator_filter(ids[annotator_email])]},
    ]  # fmt: skip
    for word in words:
        w = word["word"]
        cases.append({"case": f"word search '{w}' ({word['items']:,} items)", "params": {"q": w}, "search": True,
                      "ls_filters": lambda ids, w=w: [ls.text_filter(w)]})  # fmt: skip
    return cases


def run(args) -> dict:
    import logging

    import django

    django.setup()
    logging_before = logging.root.manager.disable
    logging.disable(logging.INFO)  # presidio's and axes's start-up lines would bury the table
    try:
        return _run(args)
    finally:
        logging.disable(logging_before)


def _run(args) -> dict:
    from bench import _browser_app as app

    doc = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_before": os.getloadavg()},
           "args": {k: v for k, v in vars(args).items() if not callable(v)}, "sizes": []}  # fmt: skip
    doc["code"] = _code_state()
    doc["migrations_applied"] = app.migrate_if_needed()
    from django.db import connection

    doc["database"] = f"{connection.vendor} {'.'.join(map(str, connection.get_database_version()))}"
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    user = app.manager()
    ls_run = None
    if args.label_studio:
        from bench import _browser_ls

        ls_run = _browser_ls.label_studio_run(Path(args.peers_dir), args.import_timeout).__enter__()
    try:
        for n in args.sizes:
            doc["sizes"].append(run_size(args, n, user, work, ls_run))
            _write(args, doc)
    finally:
        if ls_run is not None and not args.leave_label_studio:
            ls_run.__exit__(None, None, None)
    doc["machine"]["load_after"] = os.getloadavg()
    return doc


class _CpuMeter:
    """CPU milliseconds the server side has used so far: this app's process (the in-process page)
    plus its PostgreSQL backend; Label Studio's server process tree (SQLite runs inside it).

    Less sensitive than wall time to what else the shared cores run. The kernel counts backends and
    Label Studio in 10 ms ticks, so one request's figure is coarse; the mean over the rounds is not.
    """

    def __init__(self, pages, lsp):
        from django.db import connection

        from bench._io_peer import tree_cpu_s

        self.tree_cpu_s = tree_cpu_s
        self.backend = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend = cursor.fetchone()[0]
        self.ls_pid = lsp.pid_server if lsp is not None else None

    def read(self, tool: str) -> float:
        if tool == "ls":
            return self.tree_cpu_s(self.ls_pid) * 1000
        database = self.tree_cpu_s(self.backend) if self.backend else 0.0
        return (time.process_time() + database) * 1000


def _code_state() -> dict:
    """The commit measured, and the product files changed beside it (other work in the same tree)."""
    import subprocess

    def git(*words: str) -> str:
        done = subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = [
        line[3:]
        for line in git(
            "status", "--porcelain", "--", "annotation", "governance", "common"
        ).splitlines()
    ]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_product_files": changed}


def run_size(args, n: int, user, work: Path, ls_run) -> dict:
    from bench import _browser_app as app

    print(f"N={n:,}: texts and tasks ...", flush=True)
    texts = corpus.texts(n)
    tasks = corpus.tasks(texts)
    words = corpus.search_words(texts)
    out = {"n": n, "expected": corpus.expected(tasks), "words": words}
    print(f"  this app: project (import {'again' if args.rebuild else 'or reuse'}) ...", flush=True)
    out["app_project"] = built = app.project_build(user, n, tasks, work, rebuild=args.rebuild)
    print(f"  {built}", flush=True)
    pages = app.AppPages(built["project_id"], user, args.page_size)
    email = corpus.ANNOTATORS[args.annotator]
    username = app.annotator_username(pages.project, email)
    lsp = None
    if ls_run is not None:
        from bench import _browser_ls

        lsp = _browser_ls.LabelStudioPages(ls_run, args.page_size)
        print(f"  Label Studio {lsp.version}: project ...", flush=True)
        out["ls_project"] = lsp.project(n, tasks, args.ls_import_batch, args.import_timeout)
        print(f"  {out['ls_project']}", flush=True)
        ls_ids = lsp.user_ids()
        out["ls_version"] = lsp.version
    del tasks

    # Every request of the run: (tool, case, kind, url).
    requests_, missing = [], []
    for case in _cases(words, email):
        params = {k: (username if v is None else v) for k, v in case["params"].items()}
        for kind in APP_KINDS:
            url = pages.url(kind, params)
            if url is None:
                missing.append(f"{kind}: no such URL in this checkout")
                continue
            requests_.append({"tool": "app", "kind": kind, "case": case["case"], "url": url,
                              "search": case.get("search", False)})  # fmt: skip
        if lsp is not None:
            view = lsp.view(case["ls_filters"](ls_ids))
            requests_.append({"tool": "ls", "kind": "api", "case": case["case"], "url": lsp.url(view),
                              "search": case.get("search", False)})  # fmt: skip
    out["missing"] = sorted(set(missing))

    cpu = _CpuMeter(pages, lsp)

    def one(request) -> float:
        getter = pages.get if request["tool"] == "app" else lsp.get
        before = cpu.read(request["tool"])
        try:
            ms = getter(request["url"])[0]
        except Exception as failure:  # noqa: BLE001 - an error is a result, reported as such
            request["error"] = f"{type(failure).__name__}: {str(failure)[:300]}"
            return float("nan")
        request["cpu_ms"] = cpu.read(request["tool"]) - before
        return ms

    print(f"  warm-up ({args.warmup} each) and {args.reps} interleaved rounds of {len(requests_)} requests ...",
          flush=True)  # fmt: skip
    for request in requests_:
        request["times"], request["cpu"] = [], []
        for _ in range(args.warmup):
            one(request)
    started = time.perf_counter()
    for round_ in range(args.reps):
        for request in requests_:
            if request.get("error"):
                continue
            ms = one(request)
            if ms == ms:  # not NaN
                request["times"].append(ms)
                request["cpu"].append(request.pop("cpu_ms"))
        if args.budget_s and time.perf_counter() - started > args.budget_s:
            print(
                f"  stopped after {round_ + 1} rounds: --budget-s {args.budget_s} spent", flush=True
            )
            break
    if lsp is not None:
        out["ls_http_floor_ms"] = lsp.http_floor_ms()

    # What each page shows and states, and (ours, API) the plans of its statements.
    project_items = built["items"]
    for request in requests_:
        request.update(_summary(request.pop("times")))
        spent = request.pop("cpu")
        request["server_cpu_ms_mean"] = round(sum(spent) / len(spent), 1) if spent else None
        request.pop("cpu_ms", None)
        if request.get("error"):
            continue
        if request["tool"] == "app":
            described = pages.describe(request["kind"], request["url"])
            statements = described.pop("_sql")
            request.update(described)
            request["explain"] = app.explain(statements, project_items)
        else:
            request.update(lsp.describe(request["url"]))
    out["requests"] = requests_
    print(table_size(out), flush=True)
    return out


def _row_for(out: dict, case: str, tool: str, kind: str) -> dict | None:
    return next(
        (
            r
            for r in out["requests"]
            if r["case"] == case and r["tool"] == tool and r["kind"] == kind
        ),
        None,
    )


def _count_text(request: dict) -> str:
    stated = request.get("stated_count") or {}
    if isinstance(stated, str):  # the HTML page's sentence
        return stated
    if request["tool"] == "ls":
        return f"{stated.get('total', '?'):,}" if isinstance(stated.get("total"), int) else "?"
    shown = {
        k: v for k, v in stated.items() if k in ("count", "count_capped", "capped", "total", "more")
    }
    return ", ".join(f"{k} {v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{k} {v}"
                     for k, v in shown.items()) or "-"  # fmt: skip


def _count_reads(request: dict | None) -> str:
    plans = [p for p in (request or {}).get("explain", []) if p["is_count"]]
    return ", ".join(f"{p['item_rows_read']:,} ({p['share_of_project_items']:.0%})"
                     + "".join(f", seq scan of {t}" for t in p["seq_scans"]) for p in plans) or "–"  # fmt: skip


def table_size(out: dict) -> str:
    floor = out.get("ls_http_floor_ms") or 0.0
    lines = [
        f"N = {out['n']:,} items; ms, median / p95 over the repetitions; this app in-process (server time), "
        f"Label Studio {out.get('ls_version', '')} over HTTP less its /health floor ({floor} ms)",
        "",
        "| case | this app HTML | this app API | this app API with count | HTML's count request "
        "| Label Studio task list | x LS (API, median) | x LS (API with count) | "
        "server CPU ms (HTML / API / API with count / LS) | reps | count stated (ours HTML's count; API with count / LS) | "
        "count query: item rows read (ours HTML's count; API with count) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in dict.fromkeys(r["case"] for r in out["requests"]):
        html, api, api_count, html_count, ls = (
            _row_for(out, case, t, k)
            for t, k in (("app", "html"), ("app", "api"), ("app", "api_count"),
                         ("app", "html_count"), ("ls", "api"))
        )  # fmt: skip

        def cell(r):
            if r is None:
                return "–"
            if r.get("error"):
                return f"error: {r['error'][:60]}"
            return f"{r['median_ms']:,.1f} / {r['p95_ms']:,.1f}"

        def ratio(ours):
            if ours and ls and not ours.get("error") and not ls.get("error") and ours.get("median_ms"):
                return f"{max(ls['median_ms'] - floor, 0.0) / ours['median_ms']:,.1f}"
            return "–"

        reps = max((r.get("n", 0) for r in (html, api, api_count, html_count, ls) if r), default=0)
        counts = (f"{_count_text(html_count) if html_count else '–'}; "
                  f"{_count_text(api_count) if api_count else '–'} / {_count_text(ls) if ls else '–'}")  # fmt: skip
        read = "; ".join(_count_reads(r) for r in (html_count, api_count))
        cpu = " / ".join(
            "–"
            if not r or r.get("server_cpu_ms_mean") is None
            else f"{r['server_cpu_ms_mean']:,.0f}"
            for r in (html, api, api_count, ls)
        )
        lines.append(
            f"| {case} | {cell(html)} | {cell(api)} | {cell(api_count)} | {cell(html_count)} | {cell(ls)} "
            f"| {ratio(api)} | {ratio(api_count)} | {cpu} | {reps} | {counts} | {read} |"
        )
    if out.get("missing"):
        lines += ["", "Not measured (missing in this checkout): " + "; ".join(out["missing"])]
    return "\n".join(lines)


def verdict(out: dict) -> list[str]:
    """The issue's targets, read off one size: 300 ms, 10x, no whole-table count."""
    floor = out.get("ls_http_floor_ms") or 0.0
    lines = []
    for case in dict.fromkeys(r["case"] for r in out["requests"]):
        if case == "first page, no filter":
            continue
        for kind in ("html", "api", "api_count"):
            ours = _row_for(out, case, "app", kind)
            ls = _row_for(out, case, "ls", "api")
            if not ours or ours.get("error"):
                continue
            ok_ms = ours["p95_ms"] <= TARGET_MS
            ratio = (
                (max(ls["median_ms"] - floor, 0.0) / ours["median_ms"])
                if ls and not ls.get("error")
                else None
            )
            ok_ratio = ratio is not None and ratio >= TARGET_RATIO
            lines.append(f"{case} ({kind}): p95 {ours['p95_ms']:.1f} ms {'<=' if ok_ms else '>'} 300"
                         + (f"; {ratio:.1f}x Label Studio ({'met' if ok_ratio else 'NOT met'})" if ratio else ""))  # fmt: skip
    return lines


def _write(args, doc: dict) -> None:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, default=str))
    out.with_suffix(".md").write_text(
        "\n\n".join(table_size(s) + "\n\n" + "\n".join(verdict(s)) for s in doc["sizes"]) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument(
        "--reps", type=int, default=15, help="timed requests per case and tool (interleaved rounds)"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="untimed requests per case and tool first"
    )
    parser.add_argument(
        "--budget-s",
        type=float,
        default=0,
        help="stop the rounds after this many seconds (0: never)",
    )
    parser.add_argument(
        "--page-size", type=int, default=50, help="rows per page, both tools (ours defaults to 50)"
    )
    parser.add_argument(
        "--annotator",
        type=int,
        default=0,
        help="which of the six annotators the filter names (0-5)",
    )
    parser.add_argument(
        "--label-studio", action="store_true", help="also Label Studio through ../shared/peers"
    )
    parser.add_argument(
        "--leave-label-studio", action="store_true", help="do not stop Label Studio at the end"
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="import again even if an earlier run's project is there",
    )
    parser.add_argument(
        "--ls-import-batch", type=int, default=20_000, help="tasks per Label Studio import POST"
    )
    parser.add_argument("--import-timeout", type=float, default=1800)
    parser.add_argument("--peers-dir", default=os.environ.get("PEERS_DIR", "/tmp/peers-browser"))
    parser.add_argument(
        "--work-dir", default=os.path.join(os.environ.get("DATA_DIR", "/tmp"), "browser-bench")
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "item_browser.json"))
    args = parser.parse_args(argv)
    args.sizes = [int(n) for n in args.sizes.split(",") if n]
    doc = run(args)
    _write(args, doc)
    for size in doc["sizes"]:
        print("\n".join([f"N = {size['n']:,}:"] + verdict(size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
