"""Label Studio's side of the item-browser benchmark: the same tasks, its Data Manager task list.

Label Studio is started and stopped by the shared harness's scripts (bench/_io_peer.py,
../shared/peers: imported, not copied). The project gets the same tasks, annotations (by the
same annotator e-mails, which are its accounts) and predictions through its documented import
(``POST /api/projects/{id}/import``, JSON lists), with ``maximum_annotations`` 2 like this app's
overlap. Each filter is a Data Manager tab (``POST /api/dm/views/``), and the timed request is the
one its Data Manager makes to show a tab's first page: ``GET /api/tasks/?view=…&project=…&page=1``
with the same page size as ours. Times are what the client saw over loopback HTTP, one new
connection per request as the shared harness does (kept-alive connections to its development
server were slower: ~80 ms against ~45 ms for ``/health``, delayed ACKs); the median round trip of
``/health`` (the exchange and its middleware, no data) is the floor the comparison subtracts.
"""

import json
import statistics
import time
from pathlib import Path

from bench import _browser_corpus as corpus
from bench._io_peer import LabelStudioRun

LABEL_CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    + "".join(f'<Choice value="{label}"/>' for label in corpus.LABELS)
    + "</Choices></View>"
)


def done_filter() -> dict:
    # The Data Manager's "Completed" column: set once a task has its maximum_annotations.
    return {
        "filter": "filter:tasks:completed_at",
        "operator": "empty",
        "type": "Datetime",
        "value": False,
    }


def annotator_filter(user_id: int) -> dict:
    return {
        "filter": "filter:tasks:annotators",
        "operator": "contains",
        "type": "List",
        "value": user_id,
    }


def text_filter(word: str) -> dict:
    # Its only search over task text: a "contains" filter on the data field (a substring match).
    return {
        "filter": "filter:tasks:data.text",
        "operator": "contains",
        "type": "String",
        "value": word,
    }


class LabelStudioPages:
    def __init__(self, run: LabelStudioRun, page_size: int):
        self.base = run.peer.base
        self.token = run.peer.admin.headers["Authorization"]
        self.session = run.harness.OneShotSession()
        self.session.trust_env = False  # loopback only, never through a proxy
        self.session.headers["Authorization"] = self.token
        self.page_size = page_size
        self.version = run.version()
        self.pid_server = run.pid

    def _json(self, method: str, path: str, **kwargs):
        r = self.session.request(
            method, f"{self.base}{path}", timeout=kwargs.pop("timeout", 120), **kwargs
        )
        r.raise_for_status()
        return r.json()

    def project(self, n: int, tasks: list[dict], batch: int, import_timeout: float) -> dict:
        """The N-task project, imported now or found from an earlier run (same title, N tasks)."""
        title = f"browser-bench N={n} seed={corpus.SEED}"
        found = self._json("GET", "/api/projects", params={"title": title, "page_size": 100})
        for project in found.get("results", found) if isinstance(found, dict) else found:
            if project.get("title") == title and project.get("task_number") == n:
                self.project_id = project["id"]
                return {"project_id": project["id"], "reused": True, **self._contents()}
        project = self._json(
            "POST",
            "/api/projects",
            json={"title": title, "label_config": LABEL_CONFIG, "maximum_annotations": 2},
        )
        self.project_id = project["id"]
        bodies = [json.dumps(tasks[i : i + batch]).encode() for i in range(0, len(tasks), batch)]
        t0 = time.perf_counter()
        for body in bodies:
            r = self.session.post(
                f"{self.base}/api/projects/{self.project_id}/import", data=body,
                headers={"Content-Type": "application/json"}, timeout=import_timeout,
            )  # fmt: skip
            r.raise_for_status()
        seconds = time.perf_counter() - t0
        return {
            "project_id": self.project_id, "reused": False, "import_s": round(seconds, 1),
            "import_rows_per_s": round(n / seconds, 1), "import_posts": len(bodies), **self._contents(),
        }  # fmt: skip

    def _contents(self) -> dict:
        project = self._json("GET", f"/api/projects/{self.project_id}")
        keys = (
            "task_number",
            "total_annotations_number",
            "total_predictions_number",
            "num_tasks_with_annotations",
        )
        return {key: project.get(key) for key in keys}

    def user_ids(self) -> dict[str, int]:
        users = self._json("GET", "/api/users")
        users = users.get("results", users) if isinstance(users, dict) else users
        return {user["email"]: user["id"] for user in users}

    def view(self, filters: list[dict]) -> int:
        """A Data Manager tab with these filters (AND), as the Data Manager saves one."""
        data = (
            {"filters": {"conjunction": "and", "items": filters}, "ordering": []} if filters else {}
        )
        return self._json(
            "POST", "/api/dm/views/", json={"project": self.project_id, "data": data}
        )["id"]

    def url(self, view_id: int) -> str:
        return (
            f"{self.base}/api/tasks/?page=1&page_size={self.page_size}&view={view_id}"
            f"&project={self.project_id}&interaction=filter"
        )

    def get(self, url: str) -> tuple[float, dict]:
        t0 = time.perf_counter()
        r = self.session.get(url, timeout=600)
        ms = (time.perf_counter() - t0) * 1000
        r.raise_for_status()
        return ms, r.json()

    def describe(self, url: str) -> dict:
        _, body = self.get(url)
        return {
            "rows": len(body.get("tasks", [])),
            "stated_count": {k: v for k, v in body.items() if k != "tasks"},
        }

    def http_floor_ms(self, repetitions: int = 20) -> float:
        """Median round trip of Label Studio's /health: the HTTP exchange and its middleware, no data."""
        times = []
        for _ in range(repetitions):
            t0 = time.perf_counter()
            self.session.get(f"{self.base}/health", timeout=30).raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
        return round(statistics.median(times), 2)


def label_studio_run(peers_dir: Path, import_timeout: float) -> LabelStudioRun:
    return LabelStudioRun(
        peers_dir, import_timeout=import_timeout, export_timeout=60, import_batch=0
    )
