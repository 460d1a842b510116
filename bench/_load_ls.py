"""Label Studio for the load benchmark: started by the shared harness with one account per annotator.

``remembering`` wraps a harness session so that the submit's answer (which names the stored
annotation) can be read afterwards; this app's sessions use it too.
"""

import datetime as dt
import json
import os
import secrets
import subprocess
from argparse import Namespace
from pathlib import Path

from bench import peer_adapter
from bench._load_probe import Probe
from bench.labelling_loop import PEERS_DIR, ROOT

bench_peers = peer_adapter.bench_peers  # the shared harness, imported from ../shared/peers
ANNOTATORS = 64


def remembering(session):
    """The session, remembering its last response: the submit's answer names the stored annotation."""
    request = session.request

    def remembered(*args, **kwargs):
        session.last_response = request(*args, **kwargs)
        return session.last_response

    session.request = remembered
    return session


class LabelStudio:
    """Label Studio started by the harness's ``ls_start.sh`` with one account per annotator."""

    def __init__(self, args):
        self.peers_dir = Path(args.peers_dir)
        kept = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
        # Label Studio is a Django app too: it must not see this app's settings or database.
        self.env = {**kept, "PEERS_DIR": str(self.peers_dir), "BENCH_ANNOTATORS": str(ANNOTATORS), "LS_PORT": str(args.ls_port)}
        if not (self.peers_dir / "ls-venv" / "bin" / "label-studio").exists():
            subprocess.check_call(["bash", str(PEERS_DIR / "install_peers.sh"), "ls"], env=self.env)
        tokens = self.peers_dir / "ls-tokens.json"
        if not tokens.exists():  # the layout ls_start.sh writes; its accounts made in one process
            doc = {
                "admin": {"email": "admin@bench.local", "token": secrets.token_hex(20)},
                "annotators": [
                    {"email": f"annotator{i}@bench.local", "token": secrets.token_hex(20)} for i in range(1, ANNOTATORS + 1)
                ],
            }
            tokens.write_text(json.dumps(doc, indent=1))
        if len(json.loads(tokens.read_text())["annotators"]) < ANNOTATORS:
            raise SystemExit(f"{tokens} has fewer than {ANNOTATORS} annotators: use a fresh --peers-dir")
        python = str(self.peers_dir / "ls-venv" / "bin" / "python")
        subprocess.check_call([python, str(ROOT / "bench" / "_ls_accounts.py")], env=self.env)
        if subprocess.call(["bash", str(PEERS_DIR / "ls_start.sh")], env=self.env) != 0:
            raise SystemExit("Label Studio did not start (ls_start.sh)")
        try:
            self._setup(args, tokens)
        except BaseException:
            self.stop()
            raise

    def _setup(self, args, tokens: Path) -> None:
        self.pid = self.pid_of_server = int((self.peers_dir / "run" / "ls.pid").read_text())
        self.peer = bench_peers.LabelStudio(
            f"http://127.0.0.1:{args.ls_port}",
            Namespace(tokens_file=str(tokens), token=None, annotator_tokens=None, keepalive=False, ls_import_batch=0),
        )
        self.version = self.peer.version()
        self.project_id = self.peer.create_project(f"load-bench-{dt.datetime.now():%H%M%S}")
        texts = bench_peers.make_texts(args.items)
        self.setup = self.peer.import_tasks(self.project_id, texts, bench_peers.Deadline(900))
        self.setup["tasks_in_project"] = self.peer.task_count(self.project_id)

    def sessions(self, k: int) -> list:
        return [remembering(s) for s in self.peer.annotator_sessions(self.project_id, k)]

    def probe(self) -> Probe:
        return Probe(None, None, {"label-studio": [self.pid]})

    def integrity(self, acked: list[tuple[int, int, int]]) -> dict:
        """From Label Studio's own export: the acknowledged annotations present, tasks answered twice."""
        try:
            r = self.peer.admin.get(
                f"{self.peer.base}/api/projects/{self.project_id}/export",
                params={"exportType": "JSON", "download_all_tasks": "false"}, timeout=900,
            )  # fmt: skip
            r.raise_for_status()
            tasks = r.json()
        except Exception as error:
            return {"export_error": f"{type(error).__name__}: {str(error)[:200]}"}
        stored = {a["id"] for t in tasks for a in t.get("annotations", [])}
        ids = {annotation for _, _, annotation in acked}
        return {
            "acknowledged": len(acked),
            "acknowledged_stored": len(ids & stored),
            "lost": len(ids - stored),
            "stored_not_acknowledged": len(stored - ids),
            "overlap": 1,
            "items_over_overlap": sum(1 for t in tasks if len(t.get("annotations", [])) > 1),
        }

    def stop(self) -> None:
        subprocess.call(["bash", str(PEERS_DIR / "stop_peers.sh"), "ls"], env=self.env)
