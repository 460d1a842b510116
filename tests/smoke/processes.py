"""Processes of the default configuration for the smoke tests: manage.py, the workers `make run`
starts, HTTP probes, and stopping a process tree."""

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

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def run_script_constant(name: str):
    """A constant of scripts/run.py (not a package), so the test starts what `make run` starts."""
    spec = importlib.util.spec_from_file_location("run_script", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


# Output prefix -> command: one worker for the default queue, one for the gpu queue.
WORKER_COMMANDS = run_script_constant("WORKER_COMMANDS")
_ENV_READERS = r'_(?:get|bool|int|list|required_in_production)\(\s*"([A-Z][A-Z0-9_]*)"'


def configuration_names() -> set[str]:
    """Every variable config/env.py reads, so that none of the CI's settings leak in."""
    return set(re.findall(_ENV_READERS, (ROOT / "config" / "env.py").read_text()))


def manage(env: dict, *args: str, timeout: float = 300) -> str:
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


def query(env: dict, code: str):
    """Run ``code`` in a Django shell of the subprocess configuration; it prints one JSON line."""
    output = manage(env, "shell", "--no-imports", "-v", "0", "-c", code)
    return json.loads(output.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    tail = log.read_text()[-4000:] if log and log.exists() else ""
    pytest.fail(f"Timed out after {timeout}s waiting for {what}.\n{tail}")


def http(url: str, *, data: dict | None = None, token: str | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body)
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def answers(url: str) -> bool:
    try:
        return http(url)[0] == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def stop(process: subprocess.Popen, signum: int = signal.SIGTERM, timeout: float = 60) -> int:
    if process.poll() is None:
        os.killpg(process.pid, signum)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        raise


def descendants(pid: int) -> set[int]:
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


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def workers_start(env: dict, logs: Path) -> list[tuple[subprocess.Popen, Path]]:
    """Start the workers `make run` starts, each logging to its own file, and wait until both are ready."""
    started = []
    try:
        for name, command in WORKER_COMMANDS.items():
            log_path = logs / f"{name}.log"
            with log_path.open("w") as log:
                process = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append((process, log_path))
        for name, (_, log_path) in zip(WORKER_COMMANDS, started, strict=True):
            wait_for(
                lambda log_path=log_path: " ready." in log_path.read_text(),
                180,
                f"the {name} worker to report ready",
                log_path,
            )
    except BaseException:
        workers_stop(started)
        raise
    return started


def workers_stop(workers: list[tuple[subprocess.Popen, Path]]) -> None:
    for process, _ in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process, _ in workers:
        stop(process)


def demo_project_id(env: dict) -> int:
    return query(
        env,
        "import json; from projects.models import Project; "
        f"print(json.dumps(Project.objects.get(name={DEMO_PROJECT_NAME!r}).pk))",
    )
