"""This product as a third adapter of the shared peer harness (../shared/peers/bench_peers.py).

The harness is imported from its own folder, not copied: the same workload code drives Label
Studio, doccano and this app, so their figures compare directly.
"""

import io
import json
import os
import sys
import time
from importlib import metadata
from pathlib import Path

PEERS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "peers"
sys.path.insert(0, str(PEERS_DIR))

import bench_peers  # noqa: E402
from bench_peers import LABELS, SMALL_TIMEOUT, Peer  # noqa: E402


def _statistics_refresh() -> float | None:
    """ANALYZE the queue's tables, as PostgreSQL's autovacuum does after a bulk load; seconds taken.

    This machine's PostgreSQL runs with autovacuum off. Without fresh statistics the planner
    takes the new 100,000 rows for an empty project and reads all of them on every "next"
    (0.35 s); a production server's autovacuum analyses them within about a minute.
    """
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE annotation_item, annotation_annotation, annotation_itemlock")
    return round(time.perf_counter() - t0, 3)


class SensitiveAnnotator(Peer):
    name = "sensitive-annotator"
    cycle_steps = ("next", "submit")

    def __init__(self, base, args):
        super().__init__(base, args)
        tokens = json.loads(Path(args.tokens_file).read_text())
        self.admin = self.session(tokens["admin"]["token"])
        self.annotators = tokens["annotators"]

    def version(self):
        return metadata.version("sensitive-annotator")

    def create_project(self, title):
        labels = [{"name": label} for label in LABELS]
        r = self.admin.post(f"{self.base}/api/projects/", json={"name": title, "labels": labels}, timeout=SMALL_TIMEOUT)
        r.raise_for_status()
        project_id = r.json()["id"]
        for annotator in self.annotators:
            r = self.admin.post(
                f"{self.base}/api/projects/{project_id}/members/",
                json={"username": annotator["username"], "role": "annotator"},
                timeout=SMALL_TIMEOUT,
            )
            r.raise_for_status()
        return project_id

    def task_count(self, pid):
        r = self.admin.get(f"{self.base}/api/projects/{pid}/", timeout=SMALL_TIMEOUT)
        r.raise_for_status()
        return r.json()["progress"]["total"]

    def import_tasks(self, pid, texts, deadline):
        # The documented bulk way: one multipart upload of a JSONL file, streamed by the server.
        body = "".join(json.dumps({"text": text}) + "\n" for text in texts).encode()
        t0 = time.perf_counter()
        r = self.admin.post(
            f"{self.base}/api/projects/{pid}/import/",
            files={"file": ("tasks.jsonl", io.BytesIO(body), "application/x-ndjson")},
            timeout=max(5.0, deadline.left()),
        )
        r.raise_for_status()
        # The import is a background job (202): done when its url says so.
        job, polls = r.json(), 0
        while job["status"] in ("queued", "running") and deadline.left() > 0:
            time.sleep(0.1)
            polls += 1
            r = self.admin.get(f"{self.base}{job['url']}", timeout=SMALL_TIMEOUT)
            r.raise_for_status()
            job = r.json()
        wall = time.perf_counter() - t0
        return {
            "method": "POST /api/projects/{id}/import/, one JSONL file (multipart), then poll the job",
            "requests": 1 + polls,
            "payload_mb": round(len(body) / 2**20, 2),
            "wall_s": round(wall, 3),
            "result": {key: job[key] for key in ("status", "rows_read", "created", "skipped", "errors_count")},
            "analyze_s": _statistics_refresh(),
        }

    def annotator_sessions(self, pid, k):
        if len(self.annotators) < k:
            raise SystemExit(f"need {k} annotator tokens in the tokens file, have {len(self.annotators)}")
        return [self.session(a["token"]) for a in self.annotators[:k]]

    def annotate_one(self, s, pid, label_idx, timings):
        t0 = time.perf_counter()
        r = s.post(f"{self.base}/api/projects/{pid}/next/", timeout=SMALL_TIMEOUT)
        t1 = time.perf_counter()
        timings["next"] = t1 - t0
        r.raise_for_status()
        item_id = r.json()["item"]["id"]
        body = {"value": {"labels": [LABELS[label_idx % len(LABELS)]]}, "lead_time_ms": 1000}
        r = s.post(f"{self.base}/api/projects/{pid}/items/{item_id}/annotations/", json=body, timeout=SMALL_TIMEOUT)
        timings["submit"] = time.perf_counter() - t1
        r.raise_for_status()
        return item_id

    def export(self, pid, deadline):
        t0 = time.perf_counter()
        r = self.admin.get(f"{self.base}/api/projects/{pid}/export/?format=jsonl", timeout=max(5.0, deadline.left()))
        r.raise_for_status()
        body = r.content
        wall = time.perf_counter() - t0
        lines = [line for line in body.splitlines() if line.strip()]
        return {
            "method": "GET /api/projects/{id}/export/?format=jsonl (streamed)",
            "wall_s": round(wall, 3),
            "bytes": len(body),
            "records": len(lines),
            "annotations": sum(len(json.loads(line)["annotations"]) for line in lines),
        }


bench_peers.PEERS[SensitiveAnnotator.name] = SensitiveAnnotator

if __name__ == "__main__":
    sys.exit(bench_peers.main())
