"""Labelling loop (next item + submit, 1 and 8 annotators) of this app beside Label Studio, same workload.

Creates an admin and 8 annotators with API tokens in the configured database, serves the app
with gunicorn on 127.0.0.1 the way production would (DEBUG off, persistent database connections),
drives it through bench/peer_adapter.py (the shared harness ../shared/peers/bench_peers.py, imported,
not copied), then stops the server. With ``--label-studio`` it first runs the same workload on
Label Studio through the harness's own scripts (``run_all.sh``), so both are measured in one run.

Prints one table (client-side cycle latency, server-side time per request from gunicorn's access
log, annotations per second, doubly assigned and lost annotations) and writes the JSON to --out.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_perf \\
        .venv/bin/python bench/labelling_loop.py --sizes 100000 --label-studio
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = ROOT.parent / "shared" / "peers"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# What production runs with; DEBUG would also keep every SQL statement in memory.
os.environ.setdefault("DEBUG", "0")

ANNOTATORS = 8
# gunicorn's access log: method, path, status, request time in microseconds.
ACCESS_FORMAT = '%(m)s %(U)s %(s)s %(D)s'
NEXT_PATH = re.compile(r"^/api/projects/(\d+)/next/$")
SUBMIT_PATH = re.compile(r"^/api/projects/(\d+)/items/\d+/annotations/$")


def accounts_create(count: int) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from governance.services.tokens import api_token_create

    User = get_user_model()

    def user(name, **extra):
        found = User.objects.filter(username=name).first()
        return found or User.objects.create_user(username=name, password=None, **extra)

    admin = user("bench-admin")
    admin.user_permissions.add(Permission.objects.get(codename="add_project"))
    tokens = {"admin": {"username": admin.username, "token": api_token_create(actor=admin, user=admin, name="bench")[1]}}
    tokens["annotators"] = []
    for index in range(1, count + 1):
        annotator = user(f"bench-annotator{index}")
        token = api_token_create(actor=annotator, user=annotator, name="bench")[1]
        tokens["annotators"].append({"username": annotator.username, "token": token})
    return tokens


def integrity(project_id: int) -> dict:
    """What the database holds after the run: annotations, items holding more than ``overlap``, chain."""
    from django.db.models import Count

    from annotation.models import Annotation, AnnotationStatus
    from governance.audit import audit_chain_verify
    from projects.models import Project

    project = Project.objects.get(pk=project_id)
    submitted = Annotation.objects.filter(project=project, status=AnnotationStatus.SUBMITTED)
    over = submitted.values("item_id").annotate(n=Count("id")).filter(n__gt=project.overlap).count()
    chain = audit_chain_verify()
    return {
        "overlap": project.overlap,
        "submitted_annotations": submitted.count(),
        "items_over_overlap": over,
        "audit_chain_intact": chain.ok,
        "audit_events_checked": chain.checked,
    }


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def server_times(log_path: Path, project_id: int, phases: list[tuple[str, int]]) -> dict:
    """Server-side milliseconds per labelling request, split into the phases in the order they ran."""
    entries = []
    for line in log_path.read_text().splitlines():
        parts = line.split()
        if len(parts) != 4 or parts[0] != "POST":
            continue
        path, status, micros = parts[1], parts[2], parts[3]
        for step, pattern in (("next", NEXT_PATH), ("submit", SUBMIT_PATH)):
            match = pattern.match(path)
            if match and int(match.group(1)) == project_id:
                entries.append((step, int(status), int(micros) / 1000))
    result = {}
    start = 0
    for phase, cycles in phases:
        chunk = entries[start : start + 2 * cycles]
        start += 2 * cycles
        result[phase] = {
            step: {
                "count": len(times),
                "p50_ms": _pct(times, 0.50),
                "p95_ms": _pct(times, 0.95),
                "p99_ms": _pct(times, 0.99),
                "mean_ms": round(statistics.fmean(times), 2) if times else None,
            }
            for step in ("next", "submit")
            for times in [[ms for s, code, ms in chunk if s == step and code < 400]]
        }
    return result


def _wait_up(port: int) -> None:
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the app did not answer on 127.0.0.1:{port}")


def run_app(args, out: Path) -> dict:
    tokens_file = Path(tempfile.gettempdir()) / "sensitive-annotator-bench-tokens.json"
    tokens_file.write_text(json.dumps(accounts_create(ANNOTATORS)))
    tokens_file.chmod(0o600)
    access_log = Path(tempfile.mkdtemp(prefix="labelling-loop-")) / "access.log"
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi",
            "--bind", f"127.0.0.1:{args.port}",
            "--workers", str(args.workers),
            "--threads", str(args.threads),
            # The harness imports N items in one synchronous request; let it finish.
            "--timeout", "900",
            "--log-level", "warning",
            "--access-logfile", str(access_log),
            "--access-logformat", ACCESS_FORMAT,
        ],
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        _wait_up(args.port)
        code = subprocess.call(
            [
                sys.executable, str(ROOT / "bench" / "peer_adapter.py"), "--peer", "sensitive-annotator",
                "--base-url", f"http://127.0.0.1:{args.port}", "--tokens-file", str(tokens_file),
                "--sizes", args.sizes, "--annotations", str(args.annotations), "--concurrency", "1,8",
                "--pid", f"web={server.pid}", "--out", str(out),
            ],
            cwd=ROOT,
        )
        if code != 0:
            raise SystemExit(f"peer_adapter.py exited with {code}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    doc = json.loads(out.read_text())
    doc["meta"]["server"] = {
        "gunicorn": f"{args.workers} workers x {args.threads} threads",
        "debug": os.environ.get("DEBUG"),
        "database": _database_vendor(),
    }
    for run in doc["runs"]:
        if "error" in run:
            continue
        phases = [(name, phase["completed"] + phase["errors"]) for name, phase in run["annotate"].items()]
        run["server_time"] = server_times(access_log, run["project_id"], phases)
        run["integrity"] = integrity(run["project_id"])
    out.write_text(json.dumps(doc, indent=1))
    return doc


def _database_vendor() -> str:
    from django.db import connection

    return f"{connection.vendor} {'.'.join(map(str, connection.get_database_version()))}"


def run_label_studio(args) -> list[dict]:
    """Label Studio through the shared harness's own install/start/run/stop scripts."""
    peers_dir = Path(args.peers_dir)
    # Label Studio is a Django app too: it must not see this app's settings module or database.
    kept = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env = {**kept, "PEERS_DIR": str(peers_dir), "SIZES": args.sizes, "PEERS": "ls", "ANNOTATIONS": str(args.annotations)}
    subprocess.call(["bash", str(PEERS_DIR / "run_all.sh")], env=env, cwd=peers_dir.parent)
    return _label_studio_results(args)


def _label_studio_results(args) -> list[dict]:
    found = []
    for n in args.sizes.split(","):
        path = Path(args.peers_dir) / "results" / f"label-studio-{int(n)}.json"
        if path.exists():
            found.append(json.loads(path.read_text()))
    return found


def _cycle(phase: dict) -> str:
    c = phase["cycle"]
    return f"{c['p50_ms']} / {c['p95_ms']} / {c['p99_ms']}"


def table(app: dict, peers: list[dict]) -> str:
    head = (
        "| peer | N | annotators | cycle p50 / p95 / p99 ms (client) | server next p50 / p95 ms | "
        "server submit p50 / p95 ms | ann/s | doubly assigned | errors |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for doc in [app, *peers]:
        name = f"{doc['meta']['peer']} {doc['meta'].get('peer_version', '')}".strip()
        for run in doc["runs"]:
            if "error" in run:
                rows.append(f"| {name} | {run['n']:,} | failed: {run['error'][:80]} |" + " |" * 6)
                continue
            for phase_name, phase in run["annotate"].items():
                server = run.get("server_time", {}).get(phase_name)
                nxt = f"{server['next']['p50_ms']} / {server['next']['p95_ms']}" if server else "-"
                sub = f"{server['submit']['p50_ms']} / {server['submit']['p95_ms']}" if server else "-"
                rows.append(
                    f"| {name} | {run['n']:,} | {phase['concurrency']} | {_cycle(phase)} | {nxt} | {sub} | "
                    f"{phase['annotations_per_s']} | {phase['tasks_annotated_more_than_once']} | {phase['errors']} |"
                )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--annotations", type=int, default=200)
    parser.add_argument("--port", type=int, default=18100)
    # One process per core; threads overlap the waits on the database, row locks and the audit chain.
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (1: sync workers)")
    parser.add_argument("--label-studio", action="store_true", help="run Label Studio first, same workload")
    parser.add_argument("--peers-dir", default=os.environ.get("PEERS_DIR", "/tmp/peers-work"),
                        help="the harness's working folder (venvs, results); Label Studio's results are read here")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "labelling_loop.json"))
    args = parser.parse_args()

    peers = run_label_studio(args) if args.label_studio else _label_studio_results(args)
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    app = run_app(args, out)
    if peers:
        doc = json.loads(out.read_text())
        doc["label_studio"] = peers
        out.write_text(json.dumps(doc, indent=1))
    print(table(app, peers))
    for run in app["runs"]:
        if "integrity" in run:
            completed = sum(phase["completed"] for phase in run["annotate"].values())
            check = run["integrity"]
            print(
                f"\nN={run['n']:,}: {completed} cycles completed, {check['submitted_annotations']} annotations "
                f"stored, {run['export']['annotations']} exported (lost: "
                f"{completed - check['submitted_annotations']}), items over overlap "
                f"{check['overlap']}: {check['items_over_overlap']}, audit chain intact: {check['audit_chain_intact']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
