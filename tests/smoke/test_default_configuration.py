"""The default configuration (SQLite and the embedded broker) works end to end in real processes."""

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from annotation.management.commands.demo_load import DEMO_PROJECT_NAME

pytestmark = [pytest.mark.smoke, pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def _run_script_constant(name: str):
    """A constant of scripts/run.py (not a package), so the test starts what `make run` starts."""
    spec = importlib.util.spec_from_file_location("run_script", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


WORKER_COMMAND = _run_script_constant("WORKER_COMMAND")
_ENV_READERS = r'_(?:get|bool|int|list|required_in_production)\(\s*"([A-Z][A-Z0-9_]*)"'


def _configuration_names() -> set[str]:
    """Every variable config/env.py reads, so that none of the CI's settings leak in."""
    return set(re.findall(_ENV_READERS, (ROOT / "config" / "env.py").read_text()))


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def default_env(data_dir) -> dict:
    names = _configuration_names()
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "DATA_DIR"} <= names, (
        "config/env.py changed how it reads variables"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in names and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


def _manage(env: dict, *args: str, timeout: float = 300) -> str:
    completed = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, (
        f"manage.py {' '.join(args)} exited {completed.returncode}\n"
        f"--- stdout ---\n{completed.stdout[-4000:]}\n--- stderr ---\n{completed.stderr[-4000:]}"
    )
    return completed.stdout


def _query(env: dict, code: str):
    """Run ``code`` in a Django shell of the subprocess configuration; it prints one JSON line."""
    output = _manage(env, "shell", "--no-imports", "-v", "0", "-c", code)
    return json.loads(output.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    tail = log.read_text()[-4000:] if log and log.exists() else ""
    pytest.fail(f"Timed out after {timeout}s waiting for {what}.\n{tail}")


def _http(url: str, *, data: dict | None = None, token: str | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body)
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _answers(url: str) -> bool:
    try:
        return _http(url)[0] == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(process: subprocess.Popen, signum: int = signal.SIGTERM, timeout: float = 60) -> int:
    if process.poll() is None:
        os.killpg(process.pid, signum)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        raise


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _demo_project_id(env: dict) -> int:
    return _query(
        env,
        "import json; from projects.models import Project; "
        f"print(json.dumps(Project.objects.get(name={DEMO_PROJECT_NAME!r}).pk))",
    )


def test_demo_load_is_idempotent_and_keeps_the_password_private(default_env, data_dir):
    _manage(default_env, "migrate", "--noinput")
    first = _manage(default_env, "demo_load")
    second = _manage(default_env, "demo_load")

    password_file = data_dir / "admin-password.txt"
    password = password_file.read_text().strip()
    assert password and password in first and password in second
    assert password_file.stat().st_mode & 0o077 == 0, (
        "the password file must be readable by its owner only"
    )
    counts = _query(
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
    _manage(default_env, "migrate", "--noinput")
    _manage(default_env, "demo_load")
    project_id = _demo_project_id(default_env)

    worker_log = tmp_path / "worker.log"
    with worker_log.open("w") as log:
        worker = subprocess.Popen(
            WORKER_COMMAND,
            cwd=ROOT,
            env=default_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(
            lambda: " ready." in worker_log.read_text(),
            180,
            "the worker to report ready",
            worker_log,
        )
        output = _manage(
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
        _stop(worker)

    counts = _query(
        default_env,
        "import json; from annotation.models import Item, Prediction; "
        f"print(json.dumps([Item.objects.filter(project_id={project_id}).count(), "
        f"Prediction.objects.filter(project_id={project_id}).values('item').distinct().count()]))",
    )
    items, predicted_items = counts
    assert predicted_items == items > 0, (
        f"{predicted_items} of {items} items got a prediction.\n{output}"
    )


def test_make_run_serves_the_app_with_a_worker_and_stops_both_on_ctrl_c(
    default_env, data_dir, tmp_path
):
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    run_log = tmp_path / "run.log"
    with run_log.open("w") as log:
        supervisor = subprocess.Popen(
            [PYTHON, "scripts/run.py", "--port", str(port)],
            cwd=ROOT,
            env=default_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(
            lambda: f"Open {base_url}/" in run_log.read_text(), 240, "the start banner", run_log
        )
        _wait_for(
            lambda: " ready." in run_log.read_text(), 180, "the worker to report ready", run_log
        )
        assert "Login: admin / " in run_log.read_text()
        assert _http(f"{base_url}/accounts/login/")[0] == 200

        password = (data_dir / "admin-password.txt").read_text().strip()
        status, body = _http(
            f"{base_url}/api/auth/token/", data={"username": "admin", "password": password}
        )
        assert status == 200, body
        token = json.loads(body)["token"]
        status, schema = _http(f"{base_url}/api/schema/", token=token)
        assert status == 200 and "openapi" in schema

        children = _descendants(supervisor.pid)
        assert len(children) >= 2, "expected the web server and the worker as child processes"
    finally:
        # Ctrl-C in a terminal sends SIGINT to the foreground process group, i.e. to the supervisor.
        exit_code = _stop(supervisor, signal.SIGINT, timeout=90)

    assert exit_code == 0, run_log.read_text()[-4000:]
    log_text = run_log.read_text()
    assert "Warm shutdown" in log_text and "Web server and worker stopped." in log_text
    assert not [pid for pid in children if _alive(pid)], "a child process outlived the supervisor"
    assert not _answers(f"{base_url}/accounts/login/")


def test_gunicorn_serves_the_login_page_in_the_default_configuration(default_env, tmp_path):
    _manage(default_env, "migrate", "--noinput")
    port = _free_port()
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
        _wait_for(
            lambda: _answers(f"http://127.0.0.1:{port}/accounts/login/"), 60, "gunicorn", log_path
        )
    finally:
        assert _stop(web) == 0, log_path.read_text()[-4000:]
