"""Load: 1, 8, 32 and 64 concurrent annotators for a bounded time, this app beside Label Studio in one run.

Each annotator is its own account with its own API token and loops "next item + submit" for
``--seconds`` per level, one new TCP connection per request (the shared harness's default).
This app is served by gunicorn on PostgreSQL with a 100,000-item project; Label Studio 1.23.2
is started through ../shared/peers (``ls_start.sh`` with 64 annotator accounts) on a project of
the same 100,000 texts. The same adapters as ``labelling_loop.py`` drive both
(``peer_adapter.SensitiveAnnotator`` and the harness's ``LabelStudio``); the levels alternate
between the two peers, so each pair of figures comes from the same minutes.

Per level and peer: cycle p50/p95/p99 (client), annotations per second, errors by kind, server
CPU per cycle (gunicorn's workers and the bench database's PostgreSQL backends; Label Studio's
process tree), and for this app what the server waited on (``_load_probe.py``: PostgreSQL's
wait events, sampled, and the CPU of each process). At the end: every acknowledged answer stored
exactly once, no item over its overlap, the audit chain verified (Label Studio: from its export).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load DATA_DIR=/tmp/bench-load \\
        .venv/bin/python bench/load_annotators.py --label-studio --peers-dir /tmp/peers-load
"""

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from argparse import Namespace
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import peer_adapter  # noqa: E402  (puts ../shared/peers on the path)
from bench._load_ls import ANNOTATORS, LabelStudio, remembering  # noqa: E402
from bench._load_probe import Probe  # noqa: E402
from bench._load_report import saturation_table, table, verdict  # noqa: E402
from bench.labelling_loop import (  # noqa: E402
    ACCESS_FORMAT,
    NEXT_PATH,
    ROOT,
    SUBMIT_PATH,
    _database_vendor,
    _pct,
    _wait_up,
    accounts_create,
)

bench_peers = peer_adapter.bench_peers  # the shared harness, imported from ../shared/peers
PROJECT_NAME = "load-bench N={n}"
# A request that takes longer counts as an error ("timeout"); it also bounds how far a phase
# can run past its deadline.
REQUEST_TIMEOUT_S = 30
bench_peers.SMALL_TIMEOUT = peer_adapter.SMALL_TIMEOUT = REQUEST_TIMEOUT_S


def _error_kind(error: Exception) -> str:
    import requests

    if isinstance(error, requests.HTTPError) and error.response is not None:
        path = error.response.request.path_url
        step = "next" if "next" in path else "submit"
        return f"HTTP {error.response.status_code} on {step}"
    if isinstance(error, requests.Timeout):
        return f"timeout (> {REQUEST_TIMEOUT_S} s)"
    if isinstance(error, requests.ConnectionError):
        return "connection refused or reset"
    return type(error).__name__


def phase(peer, sessions, project_id: int, seconds: float, probe: Probe | None = None) -> dict:
    """Every session loops next + submit until ``seconds`` have passed; each finishes its cycle."""
    lock = threading.Lock()
    cycles, steps, acked, errors = [], {"next": [], "submit": []}, [], Counter()
    samples: list[str] = []
    start = threading.Barrier(len(sessions) + 1)
    deadline = [0.0]

    def annotator(index: int, session) -> None:
        start.wait()
        count = 0
        while time.monotonic() < deadline[0]:
            timings: dict = {}
            t0 = time.perf_counter()
            try:
                item_id = peer.annotate_one(session, project_id, index * 100_000 + count, timings)
                annotation_id = session.last_response.json()["id"]
            except Exception as error:  # counted; the loop is bounded by the deadline
                with lock:
                    errors[_error_kind(error)] += 1
                    if len(samples) < 5:
                        samples.append(f"{type(error).__name__}: {str(error)[:160]}")
                time.sleep(0.05)
                continue
            finally:
                count += 1
            took = time.perf_counter() - t0
            with lock:
                cycles.append(took)
                for step, value in timings.items():
                    steps.setdefault(step, []).append(value)
                acked.append((index, item_id, annotation_id))

    threads = [threading.Thread(target=annotator, args=(i, s), daemon=True) for i, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    with probe if probe is not None else nullcontext():
        deadline[0] = time.monotonic() + seconds
        t0 = time.perf_counter()
        start.wait()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - t0
    items = Counter(item for _, item, _ in acked)
    return {
        "annotators": len(sessions),
        "seconds": seconds,
        "wall_s": round(wall, 2),
        "completed": len(cycles),
        "annotations_per_s": round(len(cycles) / wall, 1),
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors),
        "error_samples": samples,
        "cycle": bench_peers.lat_summary(cycles),
        "steps": {step: bench_peers.lat_summary(values) for step, values in steps.items()},
        "items_handed_to_two": sum(1 for n in items.values() if n > 1),
        "acknowledged": acked,
    }


def settle(pids: list[int], limit_s: float = 120) -> float:
    """Wait until the server trees are idle (under 5 % of a core over a second); seconds waited.

    A request the client gave up on (a timeout) keeps running in the server: Label Studio at 64
    annotators leaves dozens behind, which would otherwise eat into the next phase's cores.
    """
    import psutil

    def used() -> float:
        total = 0.0
        for pid in pids:
            try:
                root = psutil.Process(pid)
                for process in [root, *root.children(recursive=True)]:
                    times = process.cpu_times()
                    total += times.user + times.system
            except psutil.Error:
                pass
        return total

    t0 = time.monotonic()
    before = used()
    while time.monotonic() - t0 < limit_s:
        time.sleep(1)
        now = used()
        if now - before < 0.05:
            break
        before = now
    return round(time.monotonic() - t0, 1)


# ------------------------------------------------------------------------------------ this app


class App:
    """gunicorn + PostgreSQL, the 100,000-item project, the 64 annotators' sessions."""

    def __init__(self, args):
        import django

        django.setup()
        from bench._browser_app import migrate_if_needed

        self.args = args
        self.migrated = migrate_if_needed()
        tokens = accounts_create(ANNOTATORS)
        self.tokens_file = Path(tempfile.mkdtemp(prefix="load-annotators-")) / "tokens.json"
        self.tokens_file.write_text(json.dumps(tokens))
        self.tokens_file.chmod(0o600)
        self.access_log = self.tokens_file.parent / "access.log"
        self.server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "config.wsgi",
                "--bind", f"127.0.0.1:{args.port}",
                "--workers", str(args.workers), "--threads", str(args.threads),
                "--timeout", "120", "--log-level", "warning",
                "--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT,
            ],
            cwd=ROOT,
            start_new_session=True,
        )  # fmt: skip
        try:
            self._setup(args)
        except BaseException:
            self.stop()
            raise

    def _setup(self, args) -> None:
        _wait_up(args.port)
        self.peer = peer_adapter.SensitiveAnnotator(
            f"http://127.0.0.1:{args.port}", Namespace(tokens_file=str(self.tokens_file), keepalive=False)
        )
        self.pid_of_server = self.server.pid
        self.project_id, self.setup = self._project(args.items)
        self.setup["active_learning"] = self._active_learning(args.active_learning)
        from annotation.models import Annotation

        self.annotation_before = Annotation.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def _project(self, n: int) -> tuple[int, dict]:
        """An earlier run's project of the same N (more than enough items stay open), else a new one."""
        from annotation.models import ImportJob, Item
        from annotation.services.import_jobs import import_job_create, import_job_run
        from common.jobs.models import JobStatus
        from projects.models import Project

        name = PROJECT_NAME.format(n=n)
        earlier = Project.objects.filter(name=name).order_by("-id").first()
        if earlier and Item.objects.filter(project=earlier).count() == n:
            return earlier.pk, {"reused": True, "analyze_s": peer_adapter._statistics_refresh()}
        project_id = self.peer.create_project(name)
        project = Project.objects.get(pk=project_id)
        path = self.tokens_file.parent / "tasks.jsonl"
        path.write_text("".join(json.dumps({"text": text}) + "\n" for text in bench_peers.make_texts(n)))
        t0 = time.perf_counter()
        with path.open("rb") as stream:
            job = import_job_create(actor=project.created_by, project=project, stream=stream, filename=path.name)
        # The service the Celery task runs, here in this process: no worker runs during the load.
        import_job_run(job_id=job.pk)
        job = ImportJob.objects.get(pk=job.pk)
        if job.status != JobStatus.SUCCEEDED:
            raise SystemExit(f"the import of {n} items ended {job.status}: {job.error}")
        return project_id, {"reused": False, "import_s": round(time.perf_counter() - t0, 1), "analyze_s": peer_adapter._statistics_refresh()}

    def _active_learning(self, wanted: str) -> str:
        """The loop as a new project has it ("new-project"), or off; the strategy the run had.

        No Celery worker runs during the load, so a refresh once asked for stays queued: each
        submit still counts its label on the project's ActiveLearning row and, past
        ``refresh_every``, finds the queued refresh under that row's lock, as it does in
        production while a refresh runs.
        """
        from projects.models import Project
        from training.models.active import Strategy, new_project_strategy
        from training.services.active_learning import active_learning_config, active_learning_update

        project = Project.objects.get(pk=self.project_id)
        strategy = Strategy.OFF if wanted == "off" else new_project_strategy(project.task_type)
        if active_learning_config(project=project).strategy != strategy:
            active_learning_update(actor=project.created_by, project=project, strategy=strategy)
        return str(strategy)

    def sessions(self, k: int) -> list:
        return [remembering(s) for s in self.peer.annotator_sessions(self.project_id, k)]

    def holds_vacuum(self) -> float | None:
        """VACUUM (ANALYZE) the queue's holds, as autovacuum (off on this machine) keeps doing.

        Every cycle inserts a hold and deletes it: without vacuum the small table fills with dead
        rows, the planner (statistics saying "empty") probes it through the holder index, and each
        "next" pays ~0.2 ms per held item it walks past: 13.6 ms against 0.9 ms with 63 holds
        after 11,000 dead rows (EXPLAIN ANALYZE, bench/RESULTS.md).
        """
        from django.db import connection

        if connection.vendor != "postgresql":
            return None
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) annotation_itemlock")
        return round(time.perf_counter() - t0, 3)

    def probe(self) -> Probe:
        from django.conf import settings

        return Probe(os.environ.get("DATABASE_URL"), settings.DATABASES["default"]["NAME"], {"gunicorn": [self.server.pid]})

    def log_offset(self) -> int:
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def server_times(self, start: int, end: int) -> dict:
        """The server's own ms per request (gunicorn's %(D)s) between two offsets of its access log."""
        with self.access_log.open("rb") as log:
            log.seek(start)
            lines = log.read(end - start).decode().splitlines()
        found: dict[str, list[float]] = {"next": [], "submit": []}
        for line in lines:
            parts = line.split()
            if len(parts) != 4 or parts[0] != "POST" or int(parts[2]) >= 400:
                continue
            for step, pattern in (("next", NEXT_PATH), ("submit", SUBMIT_PATH)):
                if pattern.match(parts[1]):
                    found[step].append(int(parts[3]) / 1000)
        return {step: {"p50_ms": _pct(v, 0.5), "p95_ms": _pct(v, 0.95), "count": len(v)} for step, v in found.items()}

    def integrity(self, acked: list[tuple[int, int, int]]) -> dict:
        """Every acknowledged answer stored once, nothing over the overlap, the chain intact."""
        from django.db.models import Count

        from annotation.models import Annotation, AnnotationStatus
        from governance.audit import audit_chain_verify
        from projects.models import Project

        project = Project.objects.get(pk=self.project_id)
        ids = [annotation for _, _, annotation in acked]
        stored = 0
        for chunk in range(0, len(ids), 5000):
            stored += Annotation.objects.filter(
                pk__in=ids[chunk : chunk + 5000], project=project, status=AnnotationStatus.SUBMITTED
            ).count()
        run = Annotation.objects.filter(project=project, id__gt=self.annotation_before, status=AnnotationStatus.SUBMITTED)
        twice = run.values("annotator_id", "item_id").annotate(n=Count("id")).filter(n__gt=1).count()
        submitted = Annotation.objects.filter(project=project, status=AnnotationStatus.SUBMITTED)
        over = submitted.values("item_id").annotate(n=Count("id")).filter(n__gt=project.overlap).count()
        t0 = time.perf_counter()
        chain = audit_chain_verify()
        return {
            "acknowledged": len(ids),
            "acknowledged_distinct": len(set(ids)),
            "acknowledged_stored": stored,
            "lost": len(set(ids)) - stored,
            "stored_in_run": run.count(),
            "stored_not_acknowledged": run.count() - stored,
            "same_annotator_item_twice": twice,
            "overlap": project.overlap,
            "items_over_overlap": over,
            "audit_chain_intact": chain.ok,
            "audit_events_checked": chain.checked,
            "audit_verify_s": round(time.perf_counter() - t0, 1),
            "audit_chain_reason": chain.reason,
        }

    def stop(self) -> None:
        os.killpg(self.server.pid, signal.SIGTERM)
        self.server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--levels", default="1,8,32,64", help="concurrent annotators, comma-separated (at most 64)")
    parser.add_argument("--seconds", type=float, default=30, help="how long each level runs, per peer")
    parser.add_argument("--repeat", type=int, default=1, help="run the levels this many times (peer order alternates)")
    parser.add_argument("--port", type=int, default=18101)
    # Two cores: one process per core, threads to overlap each request's waits on PostgreSQL.
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--active-learning", choices=("new-project", "off"), default="new-project",
                        help="this app's loop: as a new project starts (the default) or off")
    parser.add_argument("--label-studio", action="store_true", help="also drive Label Studio, same levels, same run")
    parser.add_argument("--peers-dir", default=os.environ.get("PEERS_DIR", "/tmp/peers-load"))
    parser.add_argument("--ls-port", type=int, default=int(os.environ.get("LS_PORT", 18080)))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "load_annotators.json"))
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x]
    if max(levels) > ANNOTATORS:
        parser.error(f"at most {ANNOTATORS} annotators")

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    doc = {
        "meta": {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit,
            "command": " ".join(sys.argv), "items": args.items, "levels": levels, "seconds": args.seconds,
            "gunicorn": f"{args.workers} workers x {args.threads} threads", "cpus": os.cpu_count(),
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
            "request_timeout_s": REQUEST_TIMEOUT_S,
        },
        "levels": [],
    }  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    app = ls = None
    acked: dict[str, list] = {"app": [], "label_studio": []}
    try:
        app = App(args)
        doc["meta"].update(database=_database_vendor(), app_project=app.project_id, app_setup=app.setup)
        if args.label_studio:
            ls = LabelStudio(args)
            doc["meta"].update(label_studio_version=ls.version, ls_project=ls.project_id, ls_setup=ls.setup)
        peers = {"app": app, **({"label_studio": ls} if ls else {})}
        for name, peer in peers.items():  # warm-up: caches, connections, the first plans
            acked[name] += phase(peer.peer, peer.sessions(1), peer.project_id, 3)["acknowledged"]
        for rep in range(1, args.repeat + 1):
            for k in levels:
                level = {"rep": rep, "annotators": k}
                order = list(peers) if rep % 2 else list(reversed(peers))
                for name in order:
                    peer = peers[name]
                    sessions = peer.sessions(k)
                    vacuum_s = app.holds_vacuum() if name == "app" else None
                    offset = app.log_offset()
                    probe = peer.probe()
                    result = phase(peer.peer, sessions, peer.project_id, args.seconds, probe)
                    result["probe"] = probe.report(result["completed"])
                    if name == "app":
                        result["server_time"] = app.server_times(offset, app.log_offset())
                    acked[name] += result.pop("acknowledged")
                    result["holds_vacuum_s"] = vacuum_s
                    result["settle_s"] = settle([peer.pid_of_server])
                    level[name] = result
                    print(
                        f"rep {rep} {name} x{k}: {result['completed']} cycles, {result['errors']} errors, "
                        f"{result['annotations_per_s']}/s, p50 {result['cycle']['p50_ms']} p95 {result['cycle']['p95_ms']} ms, "
                        f"load {result['probe']['load_average_1m']}, idle again after {result['settle_s']} s",
                        file=sys.stderr, flush=True,
                    )  # fmt: skip
                doc["levels"].append(level)
                out.write_text(json.dumps(doc, indent=1))
        doc["integrity"] = {"app": app.integrity(acked["app"])}
        if ls:
            doc["integrity"]["label_studio"] = ls.integrity(acked["label_studio"])
    finally:
        for peer in (app, ls):
            if peer is not None:
                peer.stop()
        doc["meta"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        out.write_text(json.dumps(doc, indent=1))
    print(table(doc))
    print()
    print(saturation_table(doc))
    print()
    print("\n".join(verdict(doc)))
    print(json.dumps(doc["integrity"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
