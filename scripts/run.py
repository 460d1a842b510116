"""Prepare the database, then run the web app, two Celery workers and beat together until Ctrl-C."""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STOP_GRACE_SECONDS = 30
WEB_START_TIMEOUT_SECONDS = 120

def _worker(queue: str) -> list[str]:
    return [
        PYTHON, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-n", f"{queue}@%h",
        "--pool=solo", "--concurrency=1", "--loglevel=INFO",
    ]


# One worker per queue, each one task at a time: a training job (gpu) that runs for minutes
# leaves imports, embeddings, active-learning refreshes and exports (default) a worker of their
# own. Output prefix -> command; the smoke tests start these too.
WORKER_COMMANDS = {"worker": _worker("default"), "gpu": _worker("gpu")}
# The scheduler: it sends CELERY_BEAT_SCHEDULE's tasks (retention, reaping jobs whose worker died)
# to the workers. One per installation; its schedule file is CELERY_BEAT_SCHEDULE_FILENAME (under
# DATA_DIR), so a restart keeps the rhythm instead of running everything again at once.
BEAT_COMMAND = [PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"]


def metrics_folder_prepare(environ: dict) -> Path | None:
    """With METRICS_TOKEN set, give every process started here one PROMETHEUS_MULTIPROC_DIR.

    The web server, both workers and beat then write their metrics to files in one folder and a
    scrape of /metrics adds them all up (docs/metrics.md); without it a scrape showed the web
    process alone and no job metrics at all. The folder is emptied before any process starts,
    never while they run. A folder the operator set is used as given, and emptied the same way.
    """
    if not environ.get("METRICS_TOKEN"):
        return None
    folder = environ.get("PROMETHEUS_MULTIPROC_DIR") or str(
        Path(environ.get("DATA_DIR") or ROOT / "var") / "metrics"
    )
    path = Path(folder).resolve()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path


def manage(*args: str) -> str:
    """Run one manage.py command in the foreground, echo its output, stop here if it fails."""
    completed = subprocess.run(
        [PYTHON, "manage.py", *args], check=False, cwd=ROOT, text=True, stdout=subprocess.PIPE
    )
    sys.stdout.write(completed.stdout)
    sys.stdout.flush()
    if completed.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed with exit code {completed.returncode}.")
    return completed.stdout


class Child:
    """A long-running process in its own process group, its output prefixed with its name."""

    def __init__(self, name: str, command: list[str]):
        self.name = name
        # Own session: Ctrl-C reaches only this supervisor, which stops each child exactly once
        # (a second SIGINT would turn Celery's warm shutdown into a cold one).
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        for line in self.process.stdout:
            sys.stdout.write(f"{self.name:>6} | {line}")
            sys.stdout.flush()

    def running(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        # The group, not just the pid: runserver's autoreloader runs the server in a child process.
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> int | None:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._pump.join(timeout=2)
        return code


class StopRequested(Exception):
    pass


def _raise_stop(signum, frame):
    raise StopRequested(signal.Signals(signum).name)


def wait_for_http(url: str, child: Child, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.running():
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    return False


def stop_all(children: list[Child]) -> None:
    for child in children:
        if child.running():
            print(f"Stopping {child.name} (pid {child.process.pid}) ...", flush=True)
            child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        if child.wait(max(0.1, deadline - time.monotonic())) is None:
            print(
                f"{child.name} did not stop within {STOP_GRACE_SECONDS}s; killing it.", flush=True
            )
            child.signal_group(signal.SIGKILL)
            child.wait(5)
    print("Web server, workers and beat stopped.", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--no-demo", action="store_true", help="Skip creating the admin user and demo project."
    )
    args = parser.parse_args()

    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    children: list[Child] = []
    try:
        metrics = metrics_folder_prepare(os.environ)
        if metrics is not None:
            print(f"Metrics of every process go to {metrics} (PROMETHEUS_MULTIPROC_DIR).", flush=True)
        manage("migrate", "--noinput")
        demo_output = "" if args.no_demo else manage("demo_load")
        children.extend(Child(name, command) for name, command in WORKER_COMMANDS.items())
        children.append(Child("beat", BEAT_COMMAND))
        web = Child("web", [PYTHON, "manage.py", "runserver", f"{args.host}:{args.port}"])
        children.append(web)

        url = f"http://{args.host}:{args.port}/"
        if wait_for_http(url + "accounts/login/", web, WEB_START_TIMEOUT_SECONDS):
            logins = [line for line in demo_output.splitlines() if line.startswith("Login:")]
            stop_hint = "Press Ctrl-C to stop the web server, the workers and beat."
            banner = [f"Open {url}", *logins, stop_hint]
            width = max(len(line) for line in banner)
            print(
                "\n" + "=" * width + "\n" + "\n".join(banner) + "\n" + "=" * width + "\n",
                flush=True,
            )
        else:
            print(f"The web server did not answer on {url} (see its output above).", flush=True)

        while all(child.running() for child in children):
            time.sleep(0.5)
        gone = next(child for child in children if not child.running())
        print(
            f"{gone.name} exited with code {gone.process.returncode}; stopping the rest.",
            flush=True,
        )
        return gone.process.returncode or 1
    except StopRequested as stop:
        print(f"\n{stop} received.", flush=True)
        return 0
    finally:
        # Further Ctrl-C while stopping must not abandon the children half-way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(children)


if __name__ == "__main__":
    sys.exit(main())
