"""Label Studio's side of the import/export benchmark, through the shared peer harness.

The harness (../shared/peers/) is imported and its scripts are called, never copied: ls_start.sh
and stop_peers.sh start and stop the server, bench_peers.LabelStudio drives it (project creation,
its documented bulk import, its export). Label Studio is another Django app, so it is started with
none of this app's environment. Its memory is the resident set of its process tree, sampled.
"""

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace

PEERS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "peers"


def tree_memory_kib(pid: int) -> int:
    """Memory of a process and its descendants, from /proc (no psutil in this venv).

    Each process counts its proportional set size (PSS: pages shared with others split between
    them), so forked children that share their parent's pages are not counted twice, as a sum of
    RSS would; for a lone process PSS is its RSS less its share of the shared libraries.
    """
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                total += next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack += [int(child) for child in children.read().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants so far, from /proc."""
    total, stack, tick = 0, [pid], os.sysconf("SC_CLK_TCK")
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack += [int(child) for child in children.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / tick


class PeakSampler:
    """Samples a process tree's memory (PSS, see tree_memory_kib) every ``interval`` seconds in a thread; keeps the peak.

    With ``progress`` (a callable returning rows done so far), every ``timeline_every``-th sample
    also records (seconds, rows, MiB): how memory moves as the file is read.
    """

    def __init__(self, pid: int, interval: float = 0.2, progress=None, timeline_every: int = 10):
        self.pid, self.interval, self.peak_kib, self.samples = pid, interval, 0, 0
        self.progress, self.timeline_every, self.timeline = progress, timeline_every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.is_set():
            rss = tree_memory_kib(self.pid)
            self.peak_kib = max(self.peak_kib, rss)
            if self.progress is not None and self.samples % self.timeline_every == 0:
                self.timeline.append([round(time.perf_counter() - start, 1), self.progress(), round(rss / 1024, 1)])
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, tree_memory_kib(self.pid))


class LabelStudioRun:
    """Start Label Studio with the harness's script; stop it (by its pid file) on exit."""

    def __init__(self, peers_dir: Path, import_timeout: float, export_timeout: float, import_batch: int):
        self.peers_dir = peers_dir
        kept = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
        self.env = {name: value for name, value in os.environ.items() if name in kept}
        self.env["PEERS_DIR"] = str(peers_dir)
        # Another run on this machine may hold the harness's default port: LS_PORT picks another.
        self.port = int(os.environ.get("LS_PORT", "18080"))
        self.env["LS_PORT"] = str(self.port)
        self.args = SimpleNamespace(
            keepalive=False, tokens_file=str(peers_dir / "ls-tokens.json"), token=None,
            annotator_tokens=None, ls_import_batch=import_batch,
            import_timeout=import_timeout, export_timeout=export_timeout,
        )
        self.peer = None
        self.pid = None

    def __enter__(self):
        import sys

        if not (self.peers_dir / "ls-venv" / "bin" / "label-studio").exists():
            subprocess.run(["bash", str(PEERS_DIR / "install_peers.sh"), "ls"], env=self.env, check=True)
        subprocess.run(["bash", str(PEERS_DIR / "ls_start.sh")], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)
        self.pid = int((self.peers_dir / "run" / "ls.pid").read_text())
        sys.path.insert(0, str(PEERS_DIR))
        import bench_peers

        self.harness = bench_peers
        self.peer = bench_peers.LabelStudio(f"http://127.0.0.1:{self.port}", self.args)
        return self

    def __exit__(self, *exc):
        subprocess.run(["bash", str(PEERS_DIR / "stop_peers.sh"), "ls"], env=self.env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def version(self) -> str:
        return self.peer.version()

    def import_texts(self, texts: list[str], n: int) -> dict:
        pid = self.peer.create_project(f"io-bench import {n} {time.time():.0f}")
        cpu0 = tree_cpu_s(self.pid)
        with PeakSampler(self.pid) as memory:
            t0 = time.perf_counter()
            try:
                detail = self.peer.import_tasks(pid, texts, self.harness.Deadline(self.args.import_timeout))
                error = None
            except Exception as failure:  # noqa: BLE001 - timeouts and server errors are results too
                detail, error = {}, f"{type(failure).__name__}: {str(failure)[:300]}"
            wall = time.perf_counter() - t0
        cpu = tree_cpu_s(self.pid) - cpu0
        count = None if error else self.peer.task_count(pid)
        return {"n": n, "wall_s": round(wall, 2), "rows_per_s": round(n / wall, 1) if not error else None,
                "server_cpu_s": round(cpu, 2),
                "peak_rss_mib": round(memory.peak_kib / 1024, 1), "tasks_in_project": count,
                "error": error, "detail": detail}

    def export_labelled(self, labelled_file: Path, n: int) -> dict:
        """Import the annotated tasks (untimed), then time the harness's export of all of them."""
        pid = self.peer.create_project(f"io-bench export {n} {time.time():.0f}")
        r = self.peer.admin.post(
            f"{self.peer.base}/api/projects/{pid}/import", data=labelled_file.read_bytes(),
            headers={"Content-Type": "application/json"}, timeout=self.args.import_timeout,
        )
        r.raise_for_status()
        cpu0 = tree_cpu_s(self.pid)
        with PeakSampler(self.pid) as memory:
            t0 = time.perf_counter()
            try:
                detail = self.peer.export(pid, self.harness.Deadline(self.args.export_timeout))
                error = None
            except Exception as failure:  # noqa: BLE001 - as above
                detail, error = {}, f"{type(failure).__name__}: {str(failure)[:300]}"
            wall = time.perf_counter() - t0
        return {"n": n, "format": "json", "wall_s": round(wall, 2), "server_cpu_s": round(tree_cpu_s(self.pid) - cpu0, 2),
                "rows_per_s": round(detail.get("annotations", 0) / wall, 1) if not error else None,
                "peak_rss_mib": round(memory.peak_kib / 1024, 1), "error": error,
                "detail": {k: v for k, v in detail.items() if k != "result"}}


def json_dump(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1))
