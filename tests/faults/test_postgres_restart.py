"""PostgreSQL restarted while an annotator labels through a gunicorn server: every answer is 2xx or a
503 with Retry-After (JSON for the API, a page for browsers), never a 500; no acknowledged answer is
lost; the same server processes answer again once the database is back."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.faults.processes import REPO_ROOT, PrivatePostgres, free_port, wait_for

RETRY_AFTER = "3"


@pytest.fixture
def postgres(tmp_path):
    server = PrivatePostgres(Path(f"/tmp/hc-pg-{os.getpid()}"))  # a short path: the socket lives there
    server.init()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def site(postgres, tmp_path):
    """gunicorn (two workers) on a migrated and seeded database of the private cluster."""
    postgres.psql("postgres", "CREATE DATABASE labelling")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_TEST_NAME"}
    env.update(
        DATABASE_URL=postgres.url("labelling"),
        DATA_DIR=str(tmp_path / "data"),
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path}/broker.sqlite3",  # no worker: messages just wait
        DEBUG="0",
        DATABASE_RETRY_AFTER_SECONDS=RETRY_AFTER,
        DJANGO_SETTINGS_MODULE="config.settings",
    )

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"{' '.join(args)} exited with {done.returncode}:\n{done.stderr[-4000:]}")
        return done.stdout

    run("manage.py", "migrate", "--noinput")
    run("manage.py", "collectstatic", "--noinput")
    seeded = json.loads(run("-m", "tests.faults.labelling_site").strip().splitlines()[-1])
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--timeout", "60", "--preload"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(base + "/accounts/login/", timeout=30).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False

    wait_for(up, what="gunicorn to answer", every=0.3)
    yield {**seeded, "base": base, "gunicorn": server, "log": tmp_path / "gunicorn.log"}
    server.terminate()
    server.wait(timeout=30)


def _worker_pids(master: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return {int(pid) for pid in out.split()}


class Annotator(threading.Thread):
    """Labels item after item through the API, keeping every status it got and the answers acknowledged."""

    def __init__(self, site):
        super().__init__(daemon=True)
        self.base, self.project = site["base"], site["project"]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {site['token']}"
        self.acknowledged: list[int] = []
        self.statuses: list[tuple[str, int, str]] = []
        self.stopping = threading.Event()

    def _post(self, path: str, body: dict | None = None):
        reply = self.http.post(f"{self.base}/api/projects/{self.project}/{path}", json=body, timeout=30)
        self.statuses.append((path, reply.status_code, reply.text[:300]))
        if reply.status_code == 503:
            time.sleep(0.1)  # a client that honours Retry-After, hurried for the test
        return reply

    def run(self):
        while not self.stopping.is_set():
            reply = self._post("next/")
            if reply.status_code != 200:
                continue
            item = reply.json()["item"]["id"]
            answer = self._post(f"items/{item}/annotations/", {"value": {"labels": ["positive"]}})
            if answer.status_code == 201:
                self.acknowledged.append(item)

    def unavailable(self) -> int:
        return sum(1 for _, status, _ in self.statuses if status == 503)


def test_labelling_through_a_postgres_restart_gets_503s_then_recovers_without_losing_an_answer(site, postgres):
    master = site["gunicorn"].pid
    workers_before = _worker_pids(master)
    browser = requests.Session()
    browser.get(site["base"] + "/accounts/login/", timeout=10)
    signed_in = browser.post(site["base"] + "/accounts/login/", timeout=10, data={
        "username": site["username"], "password": site["password"],
        "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert signed_in.status_code == 200 and "/accounts/login/" not in signed_in.url
    page = f"{site['base']}/projects/{site['project']}/label/"
    assert browser.get(page, timeout=10).status_code == 200

    annotator = Annotator(site)
    annotator.start()
    wait_for(lambda: len(annotator.acknowledged) >= 5, what="answers before the restart")

    started = time.monotonic()
    postgres.stop()
    wait_for(lambda: annotator.unavailable() >= 3, what="the annotator to be answered 503")

    api = requests.post(f"{site['base']}/api/projects/{site['project']}/next/", timeout=10,
                        headers={"Authorization": f"Token {site['token']}"})
    assert api.status_code == 503
    assert api.headers["Retry-After"] == RETRY_AFTER
    assert api.headers["Content-Type"] == "application/json"
    assert "cannot be reached" in api.json()["detail"] and api.json()["retry_after"] == int(RETRY_AFTER)
    html = browser.get(page, timeout=10)
    assert html.status_code == 503
    assert html.headers["Retry-After"] == RETRY_AFTER
    assert 'id="database-unavailable"' in html.text and "try again in 3 seconds" in html.text

    before_restart = len(annotator.acknowledged)
    postgres.start()
    wait_for(lambda: len(annotator.acknowledged) >= before_restart + 5, what="answers after the restart")
    recovered = time.monotonic() - started
    annotator.stopping.set()
    annotator.join(timeout=60)

    unexpected = [entry for entry in annotator.statuses if entry[1] not in (200, 201, 204, 503)]
    assert unexpected == [], f"answers other than 2xx or 503: {unexpected[:5]}"
    stored = postgres.psql("labelling", "SELECT item_id FROM annotation_annotation WHERE status = 'submitted'")
    assert set(annotator.acknowledged) <= {int(row) for row in stored.split()}, "an acknowledged answer was lost"
    assert browser.get(page, timeout=10).status_code == 200
    assert _worker_pids(master) == workers_before, "gunicorn replaced a worker: the app did not recover by itself"
    print(f"\n{len(annotator.acknowledged)} answers acknowledged, {annotator.unavailable()} answered 503; "
          f"stop to answering again {recovered:.1f} s")
