"""The default configuration (SQLite and the embedded broker) works end to end in real processes."""

import json
import re
import signal
import subprocess
import urllib.request

import pytest

from annotation.management.commands.demo_load import DEMO_PROJECT_NAME
from tests.smoke.processes import (
    PYTHON,
    ROOT,
    WORKER_COMMANDS,
    alive,
    answers,
    demo_project_id,
    descendants,
    free_port,
    http,
    manage,
    query,
    stop,
    wait_for,
    workers_start,
    workers_stop,
)

pytestmark = [pytest.mark.smoke, pytest.mark.worker]


def test_demo_load_is_idempotent_and_keeps_the_password_private(default_env, data_dir):
    manage(default_env, "migrate", "--noinput")
    first = manage(default_env, "demo_load")
    second = manage(default_env, "demo_load")

    password_file = data_dir / "admin-password.txt"
    password = password_file.read_text().strip()
    assert password and password in first and password in second
    assert password_file.stat().st_mode & 0o077 == 0, (
        "the password file must be readable by its owner only"
    )
    counts = query(
        default_env,
        "import json; from projects.models import Project; "
        "from django.contrib.auth import get_user_model; "
        f"project = Project.objects.get(name={DEMO_PROJECT_NAME!r}); "
        "print(json.dumps([Project.objects.count(), project.items.count(), project.labels.count(), "
        "get_user_model().objects.filter(username='admin', is_superuser=True).count()]))",
    )
    projects, items, labels, admins = counts
    assert (projects, labels, admins) == (1, 3, 1)
    assert 30 <= items <= 60


def test_preannotates_the_demo_project_through_a_separate_worker(default_env, tmp_path):
    manage(default_env, "migrate", "--noinput")
    manage(default_env, "demo_load")
    project_id = demo_project_id(default_env)

    workers = workers_start(default_env, tmp_path)
    try:
        output = manage(
            default_env,
            "preannotate",
            "--project",
            str(project_id),
            "--wait",
            "--timeout",
            "300",
            timeout=420,
        )
    finally:
        workers_stop(workers)

    counts = query(
        default_env,
        "import json; from annotation.models import Item, Prediction; "
        f"print(json.dumps([Item.objects.filter(project_id={project_id}).count(), "
        f"Prediction.objects.filter(project_id={project_id}).values('item').distinct().count()]))",
    )
    items, predicted_items = counts
    assert predicted_items == items > 0, (
        f"{predicted_items} of {items} items got a prediction.\n{output}"
    )


# Before `make run` starts: a retention period of one day on the demo project, two of its items
# three days old. Beat's retention entry must delete them (and record a retention.batch event).
_RETENTION_DUE = """
import json
from datetime import timedelta
from django.utils import timezone
from annotation.models import Item
from annotation.services.retention import project_retention_set
from projects.models import Project
project = Project.objects.get(name=%r)
project_retention_set(actor=project.created_by, project=project, days=1)
aged = list(project.items.order_by("pk").values_list("pk", flat=True)[:2])
Item.objects.filter(pk__in=aged).update(created_at=timezone.now() - timedelta(days=3))
print(json.dumps(aged))
"""

# Once the workers are up (a starting worker may reap by itself): an import whose worker
# stopped sending heartbeats a day ago. Only beat's reaping entry can fail it after that.
_STALLED_IMPORT = """
import json
from datetime import timedelta
from django.utils import timezone
from annotation.models import ImportJob
from common.jobs.models import JobStatus
from projects.models import Project
project = Project.objects.get(name=%r)
long_ago = timezone.now() - timedelta(days=1)
job = ImportJob.objects.create(
    project=project, requested_by=project.created_by, filename="stalled.jsonl",
    status=JobStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago,
)
print(json.dumps(job.pk))
"""

_SCHEDULE_SEEN = """
import json
from annotation.models import ImportJob, Item
from governance.models import AuditEvent, ScheduleRun
print(json.dumps({
    "entries": sorted(ScheduleRun.objects.values_list("entry", flat=True)),
    "stalled": list(ImportJob.objects.filter(pk=%d).values_list("status", "error").first()),
    "aged_left": Item.objects.filter(pk__in=%r).count(),
    "retention_events": AuditEvent.objects.filter(action="retention.batch", actor_name="retention").count(),
}))
"""


METRICS_TOKEN = "smoke-test-metrics-token-of-32-characters"


def metrics_scrape(url: str) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


def test_make_run_serves_the_app_with_workers_and_beat_and_stops_them_all_on_ctrl_c(
    default_env, data_dir, tmp_path
):
    from common.jobs.lifecycle import WORKER_LOST

    manage(default_env, "migrate", "--noinput")
    manage(default_env, "demo_load")
    aged = query(default_env, _RETENTION_DUE % DEMO_PROJECT_NAME)
    # Short intervals, set as an operator would: beat sends each entry every few seconds.
    # With a metrics token set, make run gives all its processes one metrics folder.
    run_env = {
        **default_env,
        "JOBS_REAP_INTERVAL_SECONDS": "2",
        "RETENTION_INTERVAL_SECONDS": "3",
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    run_log = tmp_path / "run.log"
    with run_log.open("w") as log:
        supervisor = subprocess.Popen(
            [PYTHON, "scripts/run.py", "--port", str(port)],
            cwd=ROOT,
            env=run_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: f"Open {base_url}/" in run_log.read_text(), 240, "the start banner", run_log
        )
        wait_for(
            lambda: run_log.read_text().count(" ready.") >= len(WORKER_COMMANDS),
            180,
            "both workers to report ready",
            run_log,
        )
        log_text = run_log.read_text()
        assert re.search(r"(?m)^worker \| .*default@\S+ ready\.", log_text), log_text[-4000:]
        assert re.search(r"(?m)^   gpu \| .*gpu@\S+ ready\.", log_text), log_text[-4000:]
        assert "Login: admin / " in run_log.read_text()
        assert http(f"{base_url}/accounts/login/")[0] == 200

        password = (data_dir / "admin-password.txt").read_text().strip()
        status, body = http(
            f"{base_url}/api/auth/token/", data={"username": "admin", "password": password}
        )
        assert status == 200, body
        token = json.loads(body)["token"]
        status, schema = http(f"{base_url}/api/schema/", token=token)
        assert status == 200 and "openapi" in schema

        assert re.search(r"(?m)^  beat \| .*beat: Starting\.\.\.", log_text), log_text[-4000:]
        stalled = query(default_env, _STALLED_IMPORT % DEMO_PROJECT_NAME)
        seen = {}

        def schedule_ran() -> bool:
            seen.update(query(default_env, _SCHEDULE_SEEN % (stalled, aged)))
            return (
                seen["entries"] == ["jobs-reap", "retention-daily"]
                and seen["stalled"] == ["failed", WORKER_LOST]
                and seen["aged_left"] == 0
                and seen["retention_events"] >= 1
            )

        wait_for(schedule_ran, 180, "beat's reaping and retention to run", run_log)
        # The stalled import was failed by the reaper in a worker process; the web server's
        # /metrics counts it only because both write to the folder make run gave them.
        metrics = metrics_scrape(f"{base_url}/metrics")
        assert re.search(r'(?m)^annotator_jobs_finished_total\{kind="import",outcome="failed"\} [1-9]', metrics), metrics
        assert (data_dir / "metrics").is_dir() and list((data_dir / "metrics").glob("*.db"))

        children = descendants(supervisor.pid)
        assert len(children) >= 4, "expected the web server, two workers and beat as child processes"
    finally:
        # Ctrl-C in a terminal sends SIGINT to the foreground process group, i.e. to the supervisor.
        exit_code = stop(supervisor, signal.SIGINT, timeout=90)

    assert exit_code == 0, run_log.read_text()[-4000:]
    log_text = run_log.read_text()
    assert log_text.count("Warm shutdown") >= len(WORKER_COMMANDS), log_text[-4000:]
    assert "Web server, workers and beat stopped." in log_text
    assert "did not stop within" not in log_text, "a child had to be killed"
    assert list(data_dir.glob("celerybeat-schedule*")), "beat keeps its schedule file under DATA_DIR"
    assert not [pid for pid in children if alive(pid)], "a child process outlived the supervisor"
    assert not answers(f"{base_url}/accounts/login/")


def test_gunicorn_serves_the_login_page_in_the_default_configuration(default_env, tmp_path):
    manage(default_env, "migrate", "--noinput")
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        web = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            cwd=ROOT,
            env=default_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: answers(f"http://127.0.0.1:{port}/accounts/login/"), 60, "gunicorn", log_path
        )
    finally:
        assert stop(web) == 0, log_path.read_text()[-4000:]
